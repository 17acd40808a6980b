"""The README documents every setting and every command; docs/interchange.md every export column."""
import csv
import io
import json
import re
from pathlib import Path

import click
import openpyxl

from listening.cli import cli
from listening.settings import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
INTERCHANGE = (Path(__file__).resolve().parents[1] / "docs" / "interchange.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "chorus") -> list[str]:
    """List every command of a click group as it is typed, e.g. 'chorus user add'."""
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_every_setting_is_documented():
    """Each setting's environment variable appears in the README."""
    assert [s.env for s in SETTINGS if f"`{s.env}`" not in README] == []


def test_every_command_is_documented():
    """Each `chorus` command appears in the README."""
    assert [path for path in command_paths(cli) if f"`{path}" not in README] == []


def test_readme_opens_with_the_two_commands():
    """The README's first two code blocks install-and-demo and install-and-test."""
    blocks = README.split("```bash\n")[1:3]
    first, second = (block.split("\n```")[0].strip() for block in blocks)
    assert first.endswith("chorus demo") and "pip install -e ." in first
    assert second.endswith("pytest") and '".[test]"' in second


def exported_names() -> dict[str, set[str]]:
    """Write each data export of a small report (an answer, a vote, an idea) and return its column names and JSON keys."""
    from analysis import reports

    segments = (("about_age", "20 to 29"),)
    report = reports.Report(
        code="ABC123", title="T", purpose="P", language="en", direction="ltr", generated_at="2026-01-01T00:00:00",
        questions=("Q",), participants=None, answers=None, threshold=10,
        records=(reports.AnswerRecord(1, 1, "Q", "en", "phone", "words", "T1", "theme", "theme", True, True,
                                      "2026-01-01T00:00:00", segments, (("about_race_ethnicity_own_words", "mine"),)),),
        segment_names=("about_age",), described_names=("about_race_ethnicity_own_words",),
        votes=(reports.VoteRecord("P1", 2, "S1", "words", "en", "agree", "A", "en", segments),),
        ideas=(reports.IdeaRecord("S2", 3, "idea", "en", "", "P1", "approved", 1, 0, 0),),
    )

    def header(fmt: str) -> set[str]:
        """Return the header row of one CSV export."""
        out = io.BytesIO()
        reports.write(report, fmt, out)
        return set(next(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")))))

    out = io.BytesIO()
    reports.write(report, "json", out)
    data = json.loads(out.getvalue())
    book = openpyxl.load_workbook(_written(report, "xlsx"), read_only=True)
    sheets = {name: {c for c in next(book[name].iter_rows(values_only=True)) if c} for name in ("Answers", "Votes", "Ideas", "Codebook")}
    return {
        "answers": header("csv") | sheets["Answers"] | set(data["answers"][0]),
        "codebook": header("codebook") | sheets["Codebook"],
        "votes": header("votes") | sheets["Votes"] | set(data["votes"][0]) | set(data["ideas"][0]) | sheets["Ideas"],
        "json": set(data) | set(data["session"]) | {*book.sheetnames},
    }


def _written(report, fmt: str) -> io.BytesIO:
    """Return a report written in `fmt`, rewound."""
    from analysis import reports

    out = io.BytesIO()
    reports.write(report, fmt, out)
    out.seek(0)
    return out


def test_every_data_export_column_is_documented():
    """Each column, sheet and JSON key of the CSV, Excel and JSON exports is named in docs/interchange.md, and no other."""
    section = INTERCHANGE.split("## The data exports' columns")[1].split("\n## ")[0]
    documented = set(re.findall(r"`([A-Za-z_<>]+)`", section)) | set(re.findall(r"\*([A-Z][a-z]+)\*", section))
    general = {name: re.sub(r"^about_[a-z_]+?(_own_words)?$", lambda m: "about_<topic>" + (m.group(1) or ""), name)
               for names in exported_names().values() for name in names}
    assert sorted(name for name, pattern in general.items() if pattern not in documented) == []
    first_column = set(re.findall(r"^\| `([a-z_<>]+)`", section, flags=re.MULTILINE))
    assert sorted(first_column - set(general.values())) == []
