"""Command line: ``chorus themes INPUT.csv ...`` (also ``python -m analysis ...``).

Owns reading a CSV exported from any survey tool, running :func:`analysis.themes.find_themes`,
writing the input rows back in their order with ``theme_id`` and ``theme_label`` columns, the
short printed summary, and the optional Markdown or HTML report. Needs no Flask app: the web
app registers :data:`themes_command` with ``cli.add_command(themes_command, "themes")``.

Usage::

    chorus themes INPUT.csv --text-column C [--language-column L | --language L] [--translation-column T]
        [--segment-column S ...] [--quote-consent-column Q] [--themes K] [--min-themes N] [--max-themes N] [--seed N]
        [--names-file FILE] [--threshold 10] [--priority-group VALUE ...]
        --output OUT.csv [--report OUT.md|OUT.html]
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from analysis import disclosure, equity, messages
from analysis.reports import clean_text, markdown_plain, markdown_text, neutralise
from analysis.themes import CONTENTLESS_ID, Answer, Theme, ThemeSet, find_themes

__all__ = ["themes_command", "read_csv", "main"]

# What a consent column says when a person allowed quoting; anything else (blank included) is no.
_YES = frozenset("yes y true t 1 x agree agreed allowed ok si sí oui ja da có co نعم ہاں".split())
THEME_ID_COLUMN = "theme_id"
THEME_LABEL_COLUMN = "theme_label"
# Survey exports can hold long free-text cells; the csv module's default limit is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV (UTF-8, with or without BOM, delimiter sniffed) into header and rows."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports on Windows are often cp1252; try it rather than refuse.
        try:
            content = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise click.ClickException(f"{path} is not UTF-8 text; save it as CSV UTF-8 and try again") from None
    if not content.strip():
        raise click.ClickException(f"{path} is empty: it needs a header row and at least one answer")
    if "\x00" in content:
        raise click.ClickException(f"{path} does not look like a CSV file (it contains binary data)")
    # Comma-separated unless the header has no comma: sniffing whole rows of free text
    # guesses wrong too easily (answers are full of semicolons and tabs).
    first_line = content.split("\n", 1)[0]
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    if "," not in first_line:
        try:
            dialect = csv.Sniffer().sniff(first_line, delimiters=";\t|")
        except csv.Error:
            dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(content, newline=""), dialect, strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise click.ClickException(f"{path} is not a well-formed CSV file (line {reader.line_num}): {exc}") from None
    # Blank lines are not rows; a row of empty cells is an empty answer and keeps its place
    # (the output has the input's rows in order), except a spreadsheet's trailing empty rows.
    rows = [r for r in rows if r]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise click.ClickException(f"{path} is empty: it needs a header row and at least one answer")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise click.ClickException(f"{path} has repeated column names: {', '.join(dupes)}")
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise click.ClickException(
                f"{path}, row {number}: {len(row)} fields but the header has {len(header)}; "
                "check quoting of commas and line breaks"
            )
        row = row + [""] * (len(header) - len(row))
        records.append(dict(zip(header, row)))
    return header, records


def _require_columns(header: Sequence[str], wanted: dict[str, str | None]) -> None:
    """Raise a usage error naming any requested column the CSV does not have."""
    for option, column in wanted.items():
        if column is not None and column not in header:
            available = ", ".join(header)
            raise click.UsageError(f"{option} '{column}' is not a column of the input; columns are: {available}")


def _open_private(path: Path, newline: str | None = None):
    """Open a text file for writing that only its owner can read: outputs hold what people said."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode on open
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)


def _cell(value: str) -> str:
    """Return a cell for the output CSV: characters spreadsheets cannot hold dropped, formulas defused (OWASP)."""
    return neutralise(clean_text(value))


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[dict[str, str]], theme_set: ThemeSet) -> None:
    """Write the input rows in their order with the theme id and label columns added, every cell made safe to open."""
    out_header = list(header)
    id_col, label_col = THEME_ID_COLUMN, THEME_LABEL_COLUMN
    while id_col in out_header or label_col in out_header:  # never overwrite the user's data
        id_col, label_col = "chorus_" + id_col, "chorus_" + label_col
    out_header += [id_col, label_col]
    try:
        with _open_private(path, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([_cell(h) for h in out_header])
            for index, row in enumerate(rows):
                theme_id = theme_set.assignment[index]
                cells = [row.get(h, "") for h in header] + [theme_id, theme_set.label_of(theme_id)]
                writer.writerow([_cell(c) for c in cells])
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


def _summary(theme_set: ThemeSet, total: int) -> str:
    """Return the short printed summary: number of themes, sizes and labels."""
    lines = [f"{theme_set.k_chosen} themes from {total} answers ({len(theme_set.contentless)} without content, {theme_set.other.size} other / unclear)"]
    for theme in theme_set.themes:
        note = f"  [{theme.language_note}]" if theme.single_language else ""
        lines.append(f"  {theme.id:>4}  {theme.size:>6}  {theme.label}{note}")
    lines.append(f"  {messages.OTHER_ID:>4}  {theme_set.other.size:>6}  {messages.OTHER_LABEL}")
    return "\n".join(lines)


def _count(value: int | None) -> str:
    """Show a published count, or the mark when it is hidden."""
    return messages.SUPPRESSED_MARK if value is None else str(value)



def _share(part: int | None, whole: int | None) -> str:
    """Show a share of published counts as a percentage ("" when either is hidden)."""
    value = disclosure.share(part, whole)
    return "" if value is None else f"{value:.0%}"


def _report_markdown(theme_set: ThemeSet, release: equity.Release, segment_columns: Sequence[str],
                     priority_groups: Sequence[str], quotable: set | None = None) -> str:
    """Return a readable Markdown summary with representative quotes and the group tables.

    Every count comes from ``release`` (one disclosure-controlled whole): hidden counts show as
    the mark, and shares, tests and ranks use published counts only. Themes are listed by
    published size (hidden sizes last, by label) and named by label, not by the engine's ids,
    which are numbered by size. ``quotable`` holds the answer ids whose authors allowed quoting
    (``None``: the file did not say, and the report says so above the themes). Every text from
    the input (answers, labels, column names, segment values) and the mark are escaped with
    :func:`analysis.reports.markdown_text`.
    """
    m = markdown_text
    t = release.threshold
    total = release.answers
    answers = f"{total} answers" if total is not None else f"Fewer than {t} answers"
    out = ["# Draft themes", "", f"{answers}, {theme_set.k_chosen} draft themes, "
           f"{m(_count(release.size(messages.OTHER_ID)))} other / unclear, {m(_count(release.size(CONTENTLESS_ID)))} without content.", "",
           f"*Method.* {m(theme_set.method)}", "", f"*Privacy.* {m(messages.SUPPRESSED_NOTE.format(threshold=t))}", ""]
    if quotable is None:
        out += ["*Quotes.* This file did not say who allowed quoting, so quotes are taken from every answer. "
                "Check consent before sharing this report beyond the team, or run again with --quote-consent-column.", ""]
    else:
        out += ["*Quotes.* Only answers from people who allowed quoting are quoted.", ""]
    by_id = {theme.id: theme for theme in (*theme_set.themes, theme_set.other)}
    order = equity.published_order([th.id for th in theme_set.themes], release.sizes, label_of=theme_set.label_of)
    for theme_id in [*order, messages.OTHER_ID]:
        theme = by_id[theme_id]
        if theme.size == 0:
            continue
        size = release.size(theme_id)
        counted = f"{size} answers ({_share(size, total)})" if size is not None else f"{m(messages.SUPPRESSED_MARK)} answers"
        # A theme's language note is a statement about a group: only where its size is shown.
        note = f" {m(theme.language_note)}" if size is not None else ""
        out += [f"## {m(theme.label)}", "", f"{counted}.{note}", ""]
        if theme.top_terms:
            out += [f"Key terms: {m(', '.join(theme.top_terms))}", ""]
        out += [f"> {m(q)}" + "\n" for q in _quotes(theme_set, theme, quotable)]
    for column in segment_columns:
        out += _group_table(theme_set, release, column)
    if release.priority is not None:
        out += [f"## Themes ranked by what priority groups said ({m(', '.join(priority_groups))})", ""]
        if release.priority.withheld:
            out += [f"Not shown: every way of showing it would reveal a group smaller than {t}.", ""]
        else:
            for r in release.ranks:
                rank = "\\-" if r.priority_rank is None else f"{r.priority_rank}\\."
                out.append(f"{rank} {m(theme_set.label_of(r.theme))}: {m(_count(r.priority_count))} answers from "
                           f"priority groups ({_share(r.priority_count, release.priority.column_total(equity.PRIORITY))} "
                           f"of theirs), rank {r.overall_rank} overall")
            out += ["", "Themes with a hidden count have no rank and follow in their overall order.", ""]
    return "\n".join(out)


def _group_table(theme_set: ThemeSet, release: equity.Release, column: str) -> list[str]:
    """Return one segment column's table of themes by group, and the themes a group raised more often."""
    m = markdown_text
    t = release.threshold
    out = [f"## Themes by {m(column)}", "", m(messages.SUPPRESSED_NOTE.format(threshold=t)), ""]
    grid = release.grids.get(column)
    if grid is None or grid.withheld:
        return out + [f"Not shown: every way of showing it would reveal a group smaller than {t}.", ""]
    out.append("| theme | " + " | ".join(m(c) for c in grid.columns) + " | total |")
    out.append("|---" * (len(grid.columns) + 2) + "|")
    for row, total, cells in zip(grid.rows, grid.row_totals, grid.cells):
        shown = [m(_count(n)) if not n or grid.column_share(row, c) is None else f"{n} ({_share(n, grid.column_total(c))})"
                 for c, n in zip(grid.columns, cells)]
        out.append(f"| {m(theme_set.label_of(row))} | " + " | ".join(shown) + f" | {total} |")
    out.append("| total | " + " | ".join(m(_count(n)) for n in grid.column_totals) + f" | {grid.total} |")
    out.append("")
    flagged = [o for o in release.raised.get(column, ()) if o.significant]
    if flagged:
        out += ["Over-represented (counts shown above only; Fisher's exact test, Benjamini-Hochberg adjusted):", ""]
        for o in flagged[:10]:
            out.append(f"- {m(theme_set.label_of(o.theme))} in {m(o.segment)}: {o.share_in_segment:.0%} vs {o.share_elsewhere:.0%} elsewhere "
                       f"(risk ratio {o.risk_ratio:.2f}, difference {o.risk_difference * 100:+.1f} points, p = {o.p_adjusted:.3g})")
        out.append("")
    return out


def _quotes(theme_set: ThemeSet, theme: Theme, quotable: set | None) -> list[str]:
    """Return a theme's quotes: the engine's picks, or, when consent is known, consented answers only.

    Consented picks come first; the rest are filled from the theme's most typical consented
    answers, never repeating a text, up to as many quotes as the engine picked.
    """
    if quotable is None:
        return list(theme.quote_texts)
    wanted = max(len(theme.quotes), 3)
    out: list[str] = []
    seen: set[str] = set()
    for aid in (*theme.quotes, *theme.answer_ids):
        text = theme_set.texts[aid].strip()
        if aid in quotable and text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
            if len(out) >= wanted:
                break
    return out


def _consents(rows: Sequence[Mapping[str, str]], column: str) -> set[int]:
    """Return the row numbers whose consent cell says yes (yes, y, true, 1, sí, oui, ...)."""
    return {i for i, row in enumerate(rows) if (row.get(column) or "").strip().casefold() in _YES}


def _markdown_to_html(markdown: str) -> str:
    """Return a minimal, escaped HTML rendering of the report's Markdown subset.

    Answers, labels and table cells may be in any language: each block takes its direction from
    its own text (``dir="auto"``), so an Arabic or Urdu quote reads right to left in the report.
    """
    body: list[str] = []
    in_table = False

    def text(part: str) -> str:
        """Turn escaped Markdown text back into what it says, then escape that for HTML."""
        return html.escape(markdown_plain(part))

    for line in markdown.splitlines():
        esc = text(line[2:] if line.startswith("> ") else line)
        if line.startswith("|"):
            if line.startswith("|---"):
                continue
            # Cells are joined with " | "; a pipe inside a cell was escaped as "\|".
            cells = [text(c.strip()) for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            if not in_table:
                body.append("<table>")
                in_table = True
                body.append("<tr>" + "".join(f"<th dir=\"auto\">{c}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td dir=\"auto\">{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("## "):
            body.append(f"<h2 dir=\"auto\">{text(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{text(line[2:])}</h1>")
        elif line.startswith("> "):
            body.append(f"<blockquote dir=\"auto\">{esc}</blockquote>")
        elif line.startswith("- "):
            body.append(f"<p dir=\"auto\">• {text(line[2:])}</p>")
        elif line.strip():
            body.append(f"<p dir=\"auto\">{esc}</p>")
    if in_table:
        body.append("</table>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Draft themes</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:auto;line-height:1.5}"
            "blockquote{border-inline-start:4px solid #888;margin:0.5em 0;padding-inline-start:1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:0.2em 0.5em}</style>"
            "</head><body>\n" + "\n".join(body) + "\n</body></html>\n")


@click.command("themes")
@click.argument("input_csv", metavar="INPUT.csv", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--text-column", required=True, help="Column holding the answers.")
@click.option("--language-column", default=None, help="Column holding each answer's language, as a code (es, es-MX) or a name (Spanish, Español); empty cells are detected from the text.")
@click.option("--language", "language", default=None, help="Language of every answer, as a code or a name, e.g. es or Spanish (default: detected from the text).")
@click.option("--translation-column", default=None, help="Column holding a translation to analyse; the original is quoted.")
@click.option("--segment-column", "segment_columns", multiple=True, help="Column to break themes down by (repeatable).")
@click.option("--quote-consent-column", default=None, help="Column saying whether each person allowed quoting (yes/no); the report then quotes only those who did.")
@click.option("--themes", "k", type=click.IntRange(1, 100), default=None, help="Number of themes (default: chosen automatically).")
@click.option("--min-themes", "k_min", type=click.IntRange(1, 100), default=2, show_default=True, help="Fewest themes when choosing automatically.")
@click.option("--max-themes", "k_max", type=click.IntRange(1, 100), default=20, show_default=True, help="Most themes when choosing automatically.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed and input give the same themes.")
@click.option("--names-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="File of names to redact, one per line.")
@click.option("--threshold", type=click.IntRange(disclosure.MIN_THRESHOLD, disclosure.MAX_THRESHOLD), default=disclosure.DEFAULT_THRESHOLD, show_default=True, help="Hide counts below this in the report (10 at least).")
@click.option("--priority-group", "priority_groups", multiple=True, help="Segment value whose voice ranks themes first (repeatable; a value of any segment column).")
@click.option("--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False), help="CSV to write: the input rows plus theme_id and theme_label.")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Readable summary to write, .md or .html.")
def themes_command(
    input_csv: Path,
    text_column: str,
    language_column: str | None,
    language: str | None,
    translation_column: str | None,
    segment_columns: tuple[str, ...],
    quote_consent_column: str | None,
    k: int | None,
    k_min: int,
    k_max: int,
    seed: int,
    names_file: Path | None,
    threshold: int,
    priority_groups: tuple[str, ...],
    output: Path,
    report: Path | None,
) -> None:
    """Find draft themes in the answers of a CSV file and write them next to each row."""
    if k_min > k_max:
        raise click.UsageError(f"--min-themes ({k_min}) must not exceed --max-themes ({k_max})")
    if report is not None and report.suffix.lower() not in {".md", ".markdown", ".html", ".htm"}:
        raise click.UsageError("--report must end in .md or .html")
    if language is not None and language_column is not None:
        raise click.UsageError("give --language or --language-column, not both")
    if language is not None:
        from analysis.languages import language_code  # noqa: PLC0415 - only when asked

        code = language_code(language)
        if code is None:
            raise click.UsageError(f"--language must be a language such as en, es, ar or Spanish (got {language!r})")
        language = code
    if not input_csv.exists():
        raise click.UsageError(f"input file {input_csv} does not exist")
    header, rows = read_csv(input_csv)
    _require_columns(header, {"--text-column": text_column, "--language-column": language_column, "--translation-column": translation_column,
                              "--quote-consent-column": quote_consent_column}
                     | {f"--segment-column #{i + 1}": c for i, c in enumerate(segment_columns)})
    if not rows:
        raise click.ClickException(f"{input_csv} has a header but no answers")
    names: list[str] = []
    if names_file is not None:
        names = [line.strip() for line in names_file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    languages = _languages(rows, text_column, language_column, language)
    answers = [
        Answer(
            id=index,
            text=row.get(text_column, ""),
            language=languages[index],
            translation=(row.get(translation_column) or None) if translation_column else None,
            segments={c: row.get(c, "") for c in segment_columns},
        )
        for index, row in enumerate(rows)
    ]
    try:
        theme_set = find_themes(answers, k=k, k_min=k_min, k_max=k_max, seed=seed, names=names)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _write_csv(output, header, rows, theme_set)
    click.echo(_summary(theme_set, len(rows)))
    if not theme_set.themes:
        click.echo("No themes: every answer was empty or without content.", err=True)
    click.echo(f"Wrote {output}")
    if report is not None:
        snapshot = _snapshot(theme_set, answers, segment_columns, priority_groups)
        release = equity.release(snapshot, threshold=threshold)
        quotable = _consents(rows, quote_consent_column) if quote_consent_column else None
        text = _report_markdown(theme_set, release, segment_columns, priority_groups, quotable)
        if report.suffix.lower() in {".html", ".htm"}:
            text = _markdown_to_html(text)
        try:
            with _open_private(report) as handle:
                handle.write(text)
        except OSError as exc:
            raise click.ClickException(f"cannot write {report}: {exc.strerror or exc}") from None
        click.echo(f"Wrote {report}")


def _snapshot(theme_set: ThemeSet, answers: Sequence[Answer], segment_columns: Sequence[str],
              priority_groups: Sequence[str]) -> equity.Snapshot:
    """Describe the answers to the disclosure engine: each one's theme and its segment values.

    The people behind the rows are unknown, so tables are protected as counts of answers.
    Priority groups are the given values of any segment column.
    """
    replies = tuple(equity.Reply(a.id, theme_set.assignment[a.id], None,
                                 tuple((c, a.segments.get(c)) for c in segment_columns)) for a in answers)
    themes = tuple(th.id for th in theme_set.themes)
    wanted = set(priority_groups)
    priority = tuple((c, tuple(sorted({a.segments.get(c) for a in answers} & wanted))) for c in segment_columns)
    return equity.Snapshot(
        answers=replies, groups=themes + (messages.OTHER_ID, CONTENTLESS_ID), themes=themes,
        answer_lenses=tuple(equity.Lens(c) for c in segment_columns),
        priority=tuple((c, values) for c, values in priority if values),
    )


def _languages(rows: Sequence[Mapping[str, str]], text_column: str, language_column: str | None, language: str | None) -> list[str]:
    """Return each row's language: given for all, read from a column, or detected from the text.

    Rows whose language cell is empty are detected too; when any language was detected, a
    line on stderr says which languages were found, so a wrong guess can be overridden.
    """
    from analysis.languages import detect_languages, language_code  # noqa: PLC0415 - only when needed

    if language is not None:
        return [language] * len(rows)
    # A language column may hold codes ("es-MX") or names ("Spanish", "Español"); a cell that is
    # neither, or empty, is detected from the text.
    given = [language_code(row.get(language_column)) or "" for row in rows] if language_column else [""] * len(rows)
    missing = [i for i, code in enumerate(given) if not code]
    if not missing:
        return given

    guessed = detect_languages([rows[i].get(text_column) or "" for i in missing])
    out = list(given)
    for i, code in zip(missing, guessed):
        out[i] = code
    found = Counter(guessed)
    summary = ", ".join(f"{messages.language_name(code)} {n:,}" for code, n in found.most_common())
    noun = "answer" if len(missing) == 1 else "answers"
    click.echo(f"Languages detected for {len(missing):,} {noun}: {summary} (set them with --language or --language-column)", err=True)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Run the themes command as a program (``python -m analysis``)."""
    themes_command.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="python -m analysis")
