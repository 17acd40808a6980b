"""Tests of the ``themes`` command line: output file, summary, report and clear errors."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from analysis.cli import themes_command


@pytest.fixture()
def runner() -> CliRunner:
    """Return a click test runner."""
    return CliRunner()


def test_writes_rows_in_order_with_theme_columns(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """The output CSV keeps every input row in order and adds theme id and label columns."""
    out = tmp_path / "out.csv"
    result = runner.invoke(themes_command, [str(fixtures_dir / "multilingual.csv"), "--text-column", "answer", "--language-column", "language", "--translation-column", "translation", "--themes", "3", "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (fixtures_dir / "multilingual.csv").open(encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [r["id"] for r in source]
    assert all(r["theme_id"] and r["theme_label"] for r in rows)
    assert "3 themes" in result.output and "t1" in result.output


def test_report_markdown_and_html(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """--report writes a readable summary with quotes and the segment table, in .md or .html."""
    for name in ("r.md", "r.html"):
        report = tmp_path / name
        args = [str(fixtures_dir / "nhs_sample.csv"), "--text-column", "feedback", "--segment-column", "organization", "--themes", "5", "--seed", "2", "--output", str(tmp_path / "o.csv"), "--report", str(report)]
        result = runner.invoke(themes_command, args)
        assert result.exit_code == 0, result.output
        text = report.read_text(encoding="utf-8")
        assert "Draft themes" in text and "organization — answers in each theme" in text
        if name.endswith(".html"):
            assert BeautifulSoup(text, "html.parser").select("section.theme blockquote[dir=auto]")
        else:
            assert "\n> " in text


def test_same_seed_same_output(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """Two runs with the same seed write identical files."""
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}.csv"
        runner.invoke(themes_command, [str(fixtures_dir / "polis_bowling_green_sample.csv"), "--text-column", "comment-body", "--seed", "5", "--output", str(out)])
        outs.append(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("answer\n", "no answers"),
        ('answer,other\n"unclosed,1\n', "well-formed"),
        ("answer\nfine\nx,y,z\n", "fields"),
        ("a,a\n1,2\n", "repeated column"),
    ],
)
def test_bad_csv_gives_clear_error(runner: CliRunner, tmp_path: Path, content: str, message: str) -> None:
    """Malformed or empty CSV files give a clear error, not a traceback."""
    path = tmp_path / "in.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(themes_command, [str(path), "--text-column", "answer", "--output", str(tmp_path / "o.csv")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, ValueError, TypeError))


def test_missing_column_is_named(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """A missing column is named in a usage error with the available columns."""
    result = runner.invoke(themes_command, [str(fixtures_dir / "nhs_sample.csv"), "--text-column", "comment", "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "'comment' is not a column" in result.output and "feedback" in result.output


def test_missing_file_and_bad_options(runner: CliRunner, tmp_path: Path) -> None:
    """A missing input file or impossible options give usage errors."""
    result = runner.invoke(themes_command, [str(tmp_path / "nope.csv"), "--text-column", "a", "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
    path = tmp_path / "in.csv"
    path.write_text("a\nhello there\n", encoding="utf-8")
    result = runner.invoke(themes_command, [str(path), "--text-column", "a", "--output", str(tmp_path / "o.csv"), "--report", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2 and ".md or .html" in result.output
    result = runner.invoke(themes_command, [str(path), "--text-column", "a", "--output", str(tmp_path / "o.csv"), "--threshold", "3"])
    assert result.exit_code == 2


def test_only_contentless_answers(runner: CliRunner, tmp_path: Path) -> None:
    """A file of contentless answers still writes the output and says there are no themes."""
    path = tmp_path / "in.csv"
    path.write_text("a\nn/a\nidk\n😀\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    result = runner.invoke(themes_command, [str(path), "--text-column", "a", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "No themes" in result.output
    assert out.read_text(encoding="utf-8").count("contentless") == 3


def test_languages_are_detected_when_no_column_says(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """Without --language-column, each answer's language is detected and the finding printed."""
    out = tmp_path / "o.csv"
    result = runner.invoke(themes_command, [str(fixtures_dir / "multilingual.csv"), "--text-column", "answer", "--themes", "3", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "Languages detected for 22 answers: English 12, Spanish 10" in result.output


def test_language_option_sets_every_answer(runner: CliRunner, tmp_path: Path) -> None:
    """--language sets one language for all; with --language-column, or malformed, it is refused."""
    path = tmp_path / "in.csv"
    path.write_text("a,lang\nEl autobús llega tarde,es\nLa clínica está lejos,es\nNo hay intérpretes,es\n", encoding="utf-8")
    args = [str(path), "--text-column", "a", "--output", str(tmp_path / "o.csv")]
    result = runner.invoke(themes_command, [*args, "--language", "es"])
    assert result.exit_code == 0, result.output
    assert "detected" not in result.output
    result = runner.invoke(themes_command, [*args, "--language", "es", "--language-column", "lang"])
    assert result.exit_code == 2 and "not both" in result.output
    result = runner.invoke(themes_command, [*args, "--language", "spanish please"])
    assert result.exit_code == 2 and "must be a language" in result.output
    result = runner.invoke(themes_command, [*args, "--language", "Spanish"])
    assert result.exit_code == 0, result.output


def test_language_column_may_hold_names(runner: CliRunner, tmp_path: Path) -> None:
    """A language column with names ("Spanish", "Español") is read; a cell that says nothing is detected."""
    path = tmp_path / "in.csv"
    rows = ["a,idioma"] + [f"El autobús número {i} llega tarde,{'Spanish' if i % 2 else 'Español'}" for i in range(6)]
    rows += [f"The bus number {i} is late again,English" for i in range(6)] + ["El autobús de la clínica llega muy tarde,??"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(themes_command, [str(path), "--text-column", "a", "--language-column", "idioma", "--themes", "2",
                                            "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert "Languages detected for 1 answer: Spanish 1" in result.output
    assert "Only Spanish answers in this theme." in result.output and "Only English answers in this theme." in result.output


def test_report_quotes_only_people_who_allowed_it(runner: CliRunner, tmp_path: Path) -> None:
    """With --quote-consent-column the report quotes only "yes" rows; without it, it warns that consent is unknown."""
    path = tmp_path / "in.csv"
    topics = ["The bus to the clinic is always late", "Nobody at the clinic speaks Spanish", "We need childcare during visits"]
    lines = ["answer,may_quote"] + [f"{topics[i % 3]}, visit {i},{'yes' if i % 2 else 'no'}" for i in range(30)]
    path.write_text("\n".join(f'"{line.rsplit(",", 1)[0]}",{line.rsplit(",", 1)[1]}' if i else line for i, line in enumerate(lines)) + "\n", encoding="utf-8")
    report = tmp_path / "r.md"
    args = [str(path), "--text-column", "answer", "--themes", "3", "--output", str(tmp_path / "o.csv"), "--report", str(report)]
    result = runner.invoke(themes_command, [*args, "--quote-consent-column", "may_quote"])
    assert result.exit_code == 0, result.output
    lines = report.read_text(encoding="utf-8").splitlines()
    quoted = [line[2:] for line in lines if line.startswith("> ") and not line.startswith("> — ")]
    assert quoted and all(int(q.rsplit(" ", 1)[1]) % 2 == 1 for q in quoted)
    # Each quote says which question it answered (a CSV is one question) and its language.
    assert [line for line in lines if line.startswith("> — ")] == ["> — Question 1 · English"] * len(quoted)
    assert "Only answers from people who allowed quoting are quoted." in report.read_text(encoding="utf-8")
    result = runner.invoke(themes_command, args)
    assert "This file did not say who allowed quoting" in report.read_text(encoding="utf-8")


def test_empty_answers_keep_their_rows(runner: CliRunner, tmp_path: Path) -> None:
    """A row whose answer is empty stays in the output, in place, as contentless."""
    path = tmp_path / "in.csv"
    path.write_text('a\nThe bus is late\n""\nThe clinic is far away\nThe bus never comes\n\n', encoding="utf-8")
    out = tmp_path / "o.csv"
    result = runner.invoke(themes_command, [str(path), "--text-column", "a", "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["a"] for r in rows] == ["The bus is late", "", "The clinic is far away", "The bus never comes"]
    assert rows[1]["theme_id"] == "contentless"


def test_python_dash_m_runs_the_command(fixtures_dir: Path, tmp_path: Path) -> None:
    """``python -m analysis`` runs the themes command without a Flask app."""
    shutil.copy(fixtures_dir / "multilingual.csv", tmp_path / "in.csv")
    result = subprocess.run([sys.executable, "-m", "analysis", "in.csv", "--text-column", "answer", "--themes", "2", "--output", "o.csv"], cwd=tmp_path, capture_output=True, text=True, env=None)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o.csv").exists()


def test_output_csv_and_reports_are_safe_to_open(runner: CliRunner, tmp_path: Path) -> None:
    """Formula-like cells are defused in the output CSV (OWASP's list), and the Markdown and HTML reports show HTML and links as text."""
    from bs4 import BeautifulSoup
    from markdown_it import MarkdownIt

    from analysis.reports import looks_like_formula

    source = tmp_path / "in.csv"
    hostile = ['<script>alert(1)</script> bus late', '[x](javascript:alert(2)) bus late', ' =1+1 bus late',
               '＝HYPERLINK("http://evil.example") bus late', '@SUM(A1) bus late\x1b']
    # Each hostile answer given twice: a lone odd answer may rightly go to "Other / unclear", whose
    # small count would then hide the group table this test reads.
    rows = [["answer", "group"]] + [[text, "=cmd|' /C calc'!A0"] for text in hostile * 2]
    # Groups big enough that the group table can be shown (counts below 10 are hidden, and the threshold cannot go lower).
    rows += [[f"The clinic is far away {n}", "<b>group</b>"] for n in range(30)]
    rows += [[f"The waiting room is always full {n}", "plain"] for n in range(30)]
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out, md, html = tmp_path / "out.csv", tmp_path / "r.md", tmp_path / "r.html"
    for report in (md, html):
        result = runner.invoke(themes_command, [str(source), "--text-column", "answer", "--segment-column", "group",
                                                "--language", "en", "--themes", "2", "--threshold", "10",
                                                "--output", str(out), "--report", str(report)])
        assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if looks_like_formula(c)]
    assert "' =1+1 bus late" in cells and "\x1b" not in "".join(cells)
    for soup in (BeautifulSoup(MarkdownIt("commonmark").render(md.read_text(encoding="utf-8")), "html.parser"),
                 BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")):
        assert soup.find("script") is None and soup.find("a") is None and soup.find("b") is None
        assert "[x](javascript:alert(2))" in soup.get_text() or "javascript:alert(2)" not in str(soup)
    shown = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").get_text()
    assert "<b>group</b>" in shown  # the segment value, shown as written


def test_cli_html_report_is_the_writers_report(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """The CLI's HTML report is exactly what the shared writer renders for the same Report, with no Markdown asterisks left as text."""
    import gettext

    from analysis.assemble import assemble_report
    from analysis.cli import SessionShape, read_csv, session_data
    from analysis.reports import render_html
    from analysis.themes import Answer, find_themes

    report = tmp_path / "r.html"
    result = runner.invoke(themes_command, [str(fixtures_dir / "nhs_sample.csv"), "--text-column", "feedback", "--language", "en",
                                            "--segment-column", "organization", "--themes", "5", "--seed", "2",
                                            "--output", str(tmp_path / "o.csv"), "--report", str(report)])
    assert result.exit_code == 0, result.output
    written = report.read_text(encoding="utf-8")
    shown = BeautifulSoup(written, "html.parser")
    assert not re.search(r"\*\w|\w\*", shown.get_text(" "))  # no "*Method.*": a lone "*" only marks a hidden count
    assert [s.get("id") for s in shown.select("main > section")][:3] == ["asked", "who", "themes"]
    _header, rows = read_csv(fixtures_dir / "nhs_sample.csv")
    answers = [Answer(id=i, text=row["feedback"], language="en", segments={"organization": row["organization"]}) for i, row in enumerate(rows)]
    theme_set = find_themes(answers, k=5, seed=2)
    data = session_data(theme_set, answers, rows, SessionShape("nhs_sample.csv", "feedback", ("organization",)), None)
    stamp = shown.select_one("header p.note").get_text().rsplit(" · ", 1)[1]
    assert written == render_html(assemble_report(data, "en", gettext.NullTranslations(), generated_at=stamp))


def test_theme_names_follow_the_quote_consent_column(runner: CliRunner, tmp_path: Path) -> None:
    """With --quote-consent-column, a theme only "no" rows raised is named in key terms, in the CSV and the report."""
    path = tmp_path / "in.csv"
    rows = [("Zorblax clinic waits are endless, week %d" % i, "no") for i in range(10)]
    rows += [("The doula program helped me after the birth, week %d" % i, "yes") for i in range(10)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("answer", "may_quote"), *rows])
    out, report = tmp_path / "o.csv", tmp_path / "r.md"
    result = runner.invoke(themes_command, [str(path), "--text-column", "answer", "--themes", "2", "--output", str(out),
                                            "--report", str(report), "--quote-consent-column", "may_quote"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    label_columns = [c for c in written[0] if c not in ("answer", "may_quote")]
    labels = {row[c] for row in written for c in label_columns}
    assert not [v for v in labels if "waits are endless" in v.casefold()]
    assert "waits are endless" not in report.read_text(encoding="utf-8").casefold()
    assert "waits are endless" not in result.output.casefold()


def test_report_prints_a_given_translation_beneath_its_quote(runner: CliRunner, tmp_path: Path) -> None:
    """A --translation-column translation is analysed and printed after "Translation:" under the original it belongs to."""
    path = tmp_path / "in.csv"
    rows = [["answer", "lang", "english", "may_quote"]]
    rows += [[f"The bus to the clinic is always late, week {i}", "en", "", "no"] for i in range(12)]
    rows += [[f"We need childcare during visits, week {i}", "en", "", "no"] for i in range(12)]
    rows += [[f"El autobús a la clínica siempre llega tarde, semana {i}", "es", f"The bus to the clinic is always late, week {i}",
              "yes"] for i in range(6)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    report = tmp_path / "r.md"
    result = runner.invoke(themes_command, [str(path), "--text-column", "answer", "--language-column", "lang",
                                            "--translation-column", "english", "--quote-consent-column", "may_quote",
                                            "--themes", "2", "--output", str(tmp_path / "o.csv"), "--report", str(report)])
    assert result.exit_code == 0, result.output
    text = report.read_text(encoding="utf-8")
    found = re.findall(r"> El autobús a la clínica siempre llega tarde, semana (\d)\n>\n> — Question 1 · Spanish\n>\n"
                       r"> \*Translation:\* The bus to the clinic is always late, week (\d)\n", text)
    assert found and all(original == translated for original, translated in found)


def test_deferred_modules_load_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deferred package's submodules import without its __init__; reading what the package holds loads it, and a name imported early works."""
    from analysis import cli as analysis_cli

    package = tmp_path / "chorus_deferred_probe"
    package.mkdir()
    (package / "__init__.py").write_text("from chorus_deferred_probe.part import twice\nLOADED = True\nlater = {'answer': 42}\n", encoding="utf-8")
    (package / "part.py").write_text("def twice(x):\n    return 2 * x\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(analysis_cli, "_DEFERRED_MODULES", {"chorus_deferred_probe": ("later",)})
    try:
        assert analysis_cli.defer_unused_imports() == ["chorus_deferred_probe"]
        from chorus_deferred_probe import later  # bound before the package loads
        from chorus_deferred_probe.part import twice

        assert twice(2) == 4 and isinstance(sys.modules["chorus_deferred_probe"], analysis_cli._Deferred)
        assert later.get("answer") == 42  # using the early name loads the package
        assert not isinstance(sys.modules["chorus_deferred_probe"], analysis_cli._Deferred)
        assert sys.modules["chorus_deferred_probe"].LOADED and sys.modules["chorus_deferred_probe"].twice is twice
        assert analysis_cli.defer_unused_imports() == []  # a loaded module is never replaced
    finally:
        for name in [m for m in sys.modules if m.startswith("chorus_deferred_probe")]:
            del sys.modules[name]


def test_the_engine_runs_without_loading_the_deferred_modules() -> None:
    """What `chorus themes` imports (stemmers, k-means, LSA, linkage, WordLlama) leaves scipy.stats, NLTK's package and the rest unloaded."""
    script = (
        "import sys\n"
        "from analysis import cli\n"
        "assert set(cli.defer_unused_imports()) == set(cli._DEFERRED_MODULES)\n"
        "from analysis import text, themes\n"
        "from scipy.cluster import hierarchy\n"
        "themes._kmeans_class(); themes._truncated_svd_class(); themes._vectorizer_class(); themes._wordllama()\n"
        "stems = [text.stem('running', 'en'), text.stem('Städte', 'de'), text.stem('المدرسة', 'ar')]\n"
        "print(stems, sorted(m for m in cli._DEFERRED_MODULES if not isinstance(sys.modules[m], cli._Deferred)))\n"
        "import scipy.stats\n"
        "print(scipy.stats.rankdata([3, 1, 2]).tolist())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['run', 'stadt', 'درس'] []", "[3.0, 1.0, 2.0]"]
