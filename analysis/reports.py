"""Synthesis reports and data exports, rendered from plain data without a request.

Owns the report data types (:class:`Report` and its parts), formula neutralisation for
spreadsheets, the charts, and one writer per format: HTML (prints cleanly to PDF), DOCX, Markdown for the synthesis report; CSV, XLSX and
JSON for the planning team's own data (marked internal); CSV for the codebook. Fixed text is
translated with the ``translations`` object passed in (``gettext``/``ngettext``), so a report
renders in any language from the command line as well as the web.

No Flask and no SQLite here: the loader in ``analysis.review.queries`` builds a :class:`Report`.
Which counts a report may show is decided before it gets here, by :mod:`analysis.disclosure`:
a count this module receives as ``None`` is hidden, and it prints :data:`MARK` for it, draws no
bar for it and derives nothing from it.
"""
from __future__ import annotations

import base64
import csv
import dataclasses
import gettext as gettext_module
import io
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Sequence

from analysis import numbers
from analysis.disclosure import MARK

TEMPLATES = Path(__file__).resolve().parent / "templates"
# OWASP's CSV injection list: a cell starting with one of these may run as a formula. Tab and
# carriage return count only as the very first character; the others also after leading
# whitespace or invisible characters, and in their full-width and small forms (＝＋－＠ ﹦﹢﹣﹫),
# which NFKC folds to these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_TRIGGERS = frozenset("=+-@")
# Characters XML 1.0 cannot hold (so Word and Excel files cannot either): C0 controls other than
# tab, line feed and carriage return, lone surrogates, and U+FFFE/U+FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# TRANSLATORS: marks a data file that must not be shared outside the planning team.
INTERNAL_MARK = "internal — not for publication"
REPORT_FORMATS = ("html", "docx", "md")
DATA_FORMATS = ("csv", "xlsx", "json", "codebook", "votes")
FORMATS = REPORT_FORMATS + DATA_FORMATS


# --- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A small table of already formatted cells, with a title and an optional note."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Quote:
    """A quote from someone who allowed quoting, already redacted and cut to its point, in its original language.

    ``source`` says where it comes from ("— Question 2 · Spanish"); ``translation`` is a staff member's
    translation into the session's main language (redacted and cut the same way), printed beneath
    the original after "Translation:", and only ever with a quote that may be shown.
    """

    text: str
    language: str
    source: str = ""
    translation: str = ""
    translation_language: str = ""


@dataclass(frozen=True)
class ClaimView:
    """A short statement several people made, in the redacted words of someone who allowed quoting.

    ``count`` is how many made it, or None when that is fewer than the session's threshold (no number shown).
    ``questions`` are the numbers of the questions its people answered, given when the theme spans several
    questions (as a quote's ``source`` names its question); ``source`` says so in the report's language
    ("— Question 2").
    """

    text: str
    count: int | None = None
    questions: tuple[int, ...] = ()
    source: str = ""
    shown_count: str = ""  # the count as the report's language writes it ("1.234" in Spanish); plain digits if empty

    @property
    def line(self) -> str:
        """Return the claim as a report prints it: "Staff were kind ×12 — Question 2", or the words alone."""
        said = self.text if self.count is None else f"{self.text} ×{self.shown_count or self.count}"
        return f"{said} {self.source}" if self.source else said

    @property
    def plain_line(self) -> str:
        """Return the claim as a data export writes it: its count in plain digits ("×1234"), whatever the report's language."""
        return dataclasses.replace(self, shown_count="").line


@dataclass(frozen=True)
class ThemeView:
    """One theme as a report shows it."""

    id: str
    label: str
    definition: str
    size: int | None  # None: hidden
    reviewed: bool
    top_terms: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()
    insights: tuple[str, ...] = ()
    hmw: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    claims: tuple[ClaimView, ...] = ()
    subthemes: tuple[tuple[str, int | None], ...] = ()  # (label, size or None when hidden), largest first


@dataclass(frozen=True)
class Bar:
    """One bar of a comparison chart: a group, its share among participants, its reference share."""

    label: str
    value: float | None
    reference: float | None = None


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as the planning team's data export carries it."""

    id: int
    prompt_number: int
    prompt: str
    language: str
    source: str
    text: str
    theme_id: str
    theme: str
    status: str
    reviewed: bool
    quote_ok: bool
    created_at: str
    segments: tuple[tuple[str, str], ...] = ()
    # The person's words given with a self-described choice ("about_race_ethnicity_own_words", words): internal only.
    described: tuple[tuple[str, str], ...] = ()
    # A staff member's translation of ``text`` into the session's main language: kept and dropped with the text.
    translation: str = ""
    table: str = ""  # the table (small group) whose notetaker typed the answer in, "" if none


@dataclass(frozen=True)
class VoteRecord:
    """One vote on a design session's statement, as the planning team's data export carries it (pseudonymous)."""

    participant: str  # "P1", "P2"... numbered in this export only: never the database id
    prompt_number: int
    statement: str  # "S<id>"
    statement_text: str
    statement_language: str
    vote: str  # "agree", "disagree" or "pass"
    group: str  # the participant's opinion group on this question ("" when not placed)
    language: str
    segments: tuple[tuple[str, str], ...] = ()
    table: str = ""  # an idea's table (the small group whose notetaker typed it in), "" if none
    source: str = "phone"  # where the vote came from: a phone, or staff entry (paper, interpreter...)
    vote_table: str = ""  # the table whose notetaker typed this vote in, "" if none


@dataclass(frozen=True)
class IdeaRecord:
    """One idea of an ideas question with its reactions and table, as the planning team's data export carries it."""

    idea: str  # "S<id>", as in the votes
    prompt_number: int
    text: str
    language: str
    table: str  # "" when sent from a phone
    author: str  # "P<n>" numbered as in the votes, or "team" for staff-written ideas
    status: str  # approved, pending, declined or merged
    agree: int
    disagree: int
    passes: int


@dataclass(frozen=True)
class Report:
    """Everything a synthesis report or data export says, in one language."""

    code: str
    title: str
    purpose: str
    language: str
    direction: str
    generated_at: str
    questions: tuple[str, ...]
    participants: int | None  # None: fewer than the threshold
    answers: int | None  # None: fewer than the threshold, or withheld with the number of people (answers_covered)
    threshold: int
    themes: tuple[ThemeView, ...] = ()
    other: ThemeView | None = None
    contentless: int | None = 0  # None: hidden
    off_topic: int | None = 0  # None: hidden
    participation: tuple[Table, ...] = ()
    choice_results: tuple[Table, ...] = ()  # one per choice or scale question, counts disclosure-controlled
    design_results: tuple[Table, ...] = ()  # design sessions: opinion groups, consensus, priorities (disclosure-controlled)
    overview: Table | None = None  # the themes, their published sizes and status
    representation: tuple[Table, ...] = ()
    representation_bars: tuple[tuple[str, tuple[Bar, ...]], ...] = ()
    theme_by_group: tuple[Table, ...] = ()
    priority: Table | None = None
    insights: tuple[str, ...] = ()
    hmw: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    method: tuple[str, ...] = ()
    records: tuple[AnswerRecord, ...] = ()
    segment_names: tuple[str, ...] = field(default=())
    described_names: tuple[str, ...] = field(default=())  # own-words columns of the internal export
    withheld: tuple[str, ...] = ()  # titles of tables not shown: every way of showing them would reveal a small group
    votes: tuple[VoteRecord, ...] = ()  # design sessions' votes, internal exports only
    answers_covered: bool = False  # the number of answers is withheld: it would narrow "fewer than 10 people"
    ideas: tuple[IdeaRecord, ...] = ()  # ideas questions' ideas with their reactions and table, internal exports only


# --- protecting people ---------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Return a cell value a spreadsheet will not run as a formula (a leading ' added when needed)."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def looks_like_formula(text: str) -> bool:
    """Tell whether a spreadsheet could read a text cell as a formula (OWASP's list, see FORMULA_STARTS)."""
    if text.startswith(FORMULA_STARTS):
        return True
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            continue  # spreadsheets skip leading spaces, and invisible characters hide what follows
        return unicodedata.normalize("NFKC", char)[:1] in FORMULA_TRIGGERS
    return False


def clean_text(text: str) -> str:
    """Return stored text without the characters Word, Excel and XML cannot hold (lone surrogates become U+FFFD)."""
    if not NOT_XML.search(text):
        return text
    return NOT_XML.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)


def cleaned(value: Any) -> Any:
    """Return a copy of a report (or any part of one) with every string passed through :func:`clean_text`."""
    return _map_strings(value, clean_text)


def _map_strings(value: Any, func) -> Any:
    """Apply `func` to every string inside frozen dataclasses, tuples, lists and dicts."""
    if isinstance(value, str):
        return func(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _map_strings(getattr(value, f.name), func) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_map_strings(v, func) for v in value)
    if isinstance(value, list):
        return [_map_strings(v, func) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, func) for k, v in value.items()}
    return value


# Markdown that could make a link, an image, raw HTML or change emphasis or a table.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
# What starts a heading, quote or list when it opens a line.
_MD_BLOCK_START = re.compile(r"^(?:([#>+-])|(\d+)([.)]))")
_MD_LINE_BREAKS = re.compile(r"\s*[\r\n\x0b\x0c\x85\u2028\u2029]+\s*")
_MD_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def markdown_text(text: str) -> str:
    """Return text that Markdown renderers show as written: no raw HTML, no links or images, one line.

    ``<`` becomes ``&lt;`` (so no tag, comment or autolink can start; a ``javascript:`` URL stays
    plain text), ``&`` that would start an entity becomes ``&amp;``, link and emphasis
    characters and table pipes get a backslash, a leading heading, quote or list marker is
    escaped, and line breaks become spaces so text cannot open a block of its own.
    """
    text = _MD_LINE_BREAKS.sub(" ", str(text)).strip()
    text = _MD_ENTITY_LIKE.sub("&amp;", text).replace("<", "&lt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_BLOCK_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text)


def markdown_plain(escaped: str) -> str:
    """Undo :func:`markdown_text` (for a renderer of our own Markdown), giving back the text to show."""
    text = re.sub(r"\\([\\`*_\[\]|#>+.)-])", r"\1", escaped)
    return re.sub(r"&(lt|amp);", lambda m: "<" if m.group(1) == "lt" else "&", text)


# --- translation ----------------------------------------------------------------------------


def _funcs(translations: gettext_module.NullTranslations | None):
    """Return gettext and ngettext from a translations object (English when None)."""
    translations = translations or gettext_module.NullTranslations()
    return translations.gettext, translations.ngettext


# --- charts ---------------------------------------------------------------------------------


def _figure(height: float):
    """Return a new Agg figure and axes of the report's width."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.hashsalt"] = "chorus"
    matplotlib.rcParams["svg.fonttype"] = "none"
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, height), dpi=100)
    return figure, figure.add_subplot(1, 1, 1)


_RIGHT_TO_LEFT_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def _drawn(text: str, fmt: str) -> str:
    """Return chart text ready to draw: Arabic and Urdu shaped and in visual order for PNG.

    SVG keeps text as text, and the browser shapes and orders it; matplotlib's raster drawing
    (the PNG in Word reports) does neither, and would show Arabic letters unjoined and
    backwards. arabic-reshaper joins the letters and python-bidi puts them in display order.
    """
    if fmt == "svg" or not _RIGHT_TO_LEFT_LETTERS.search(text):
        return text
    import arabic_reshaper  # noqa: PLC0415 - only for right-to-left text in raster charts
    from bidi import get_display  # noqa: PLC0415

    return get_display(arabic_reshaper.reshape(text))


def _save(figure, fmt: str) -> bytes:
    """Render a figure to SVG or PNG bytes, leaving out dates so the output is deterministic."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    figure.tight_layout()
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def theme_chart(report: Report, translations=None, fmt: str = "svg") -> bytes | None:
    """Draw published theme sizes as horizontal bars (largest at the top), or None if no size is published.

    A hidden size gets no bar (its length would tell the number), only the mark beside its label.
    """
    if not any(t.size is not None for t in report.themes):
        return None
    _, ngettext = _funcs(translations)
    themes = list(report.themes)[::-1]
    figure, axes = _figure(max(1.6, 0.45 * len(themes) + 0.8))
    labels = [_drawn(t.label[:48], fmt) + ("" if t.size is not None else f" {MARK}") for t in themes]
    bars = axes.barh(labels, [t.size or 0 for t in themes], color="#2f5d8a")
    axes.bar_label(bars, labels=["" if t.size is None else numbers.count(t.size, report.language) for t in themes], padding=3)
    _number_ticks(axes, lambda value: numbers.decimal(value, report.language))
    axes.set_xlabel(_drawn(ngettext("answer", "answers", 2), fmt))
    axes.spines[["top", "right"]].set_visible(False)
    return _save(figure, fmt)


def _number_ticks(axes, write) -> None:
    """Label the value axis's ticks the report language's way (``write`` turns a tick's value into its label)."""
    from matplotlib.ticker import FuncFormatter

    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: write(value)))


def representation_chart(title: str, bars: Sequence[Bar], translations=None, fmt: str = "svg", language: str = "en") -> bytes:
    """Draw each group's share of participants next to its reference share (hidden shares are left out).

    The axis's ticks are percentages as ``language`` writes them ("20%", "20 %").
    """
    gettext, _ = _funcs(translations)
    rows = list(bars)[::-1]
    figure, axes = _figure(max(1.8, 0.55 * len(rows) + 1.0))
    positions = list(range(len(rows)))
    # A hidden share draws no bar at all (its length would tell the number).
    shown = [(p, b.value) for p, b in zip(positions, rows) if b.value is not None]
    reference = [b.reference if b.reference is not None else 0 for b in rows]
    axes.barh([p + 0.2 for p, _v in shown], [v for _p, v in shown], height=0.4, color="#2f5d8a",
              label=_drawn(gettext("Took part"), fmt))
    axes.barh([p - 0.2 for p in positions], reference, height=0.4, color="#c9a227", label=_drawn(gettext("Reference population"), fmt))
    axes.set_yticks(positions, [_drawn(b.label[:40] + ("" if b.value is not None else f" {MARK}"), fmt) for b in rows])
    _number_ticks(axes, lambda value: numbers.percent(value, language))
    axes.set_title(_drawn(title[:80], fmt), fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(figure, fmt)


def _data_uri(data: bytes, mime: str) -> str:
    """Return bytes as a data: URI for a self-contained HTML file."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --- the synthesis report ---------------------------------------------------------------------


def _environment(translations=None):
    """Return a Jinja environment for report templates with the given translations installed."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations or gettext_module.NullTranslations(), newstyle=True)
    return env


def render_html(report: Report, translations=None) -> str:
    """Render the synthesis report as one self-contained HTML page that prints cleanly."""
    charts = {}
    theme_svg = theme_chart(report, translations)
    if theme_svg:
        charts["themes"] = _data_uri(theme_svg, "image/svg+xml")
    charts["representation"] = [
        (title, _data_uri(representation_chart(title, bars, translations, language=report.language), "image/svg+xml"))
        for title, bars in report.representation_bars
    ]
    template = _environment(translations).get_template("review/report.html")
    sentences = {"people": people_sentence(report, translations), "answers": answers_sentence(report, translations)}
    return template.render(r=report, charts=charts, hmw=all_hmw(report), sentences=sentences,
                           size=lambda theme: theme_size(theme, translations, report.language))


def all_hmw(report: Report) -> list[str]:
    """Return every "how might we" statement: those of each theme, then the general ones."""
    return [h for t in report.themes for h in t.hmw] + list(report.hmw)


def write_html(report: Report, file: IO[bytes], translations=None) -> None:
    """Write the HTML report to a binary file."""
    file.write(render_html(report, translations).encode("utf-8"))


def _sections(report: Report, translations=None) -> dict[str, str]:
    """Return the report's fixed headings and sentences in its language."""
    _, ngettext = _funcs(translations)
    _ = _funcs(translations)[0]
    return {
        "asked": _("What we asked"),
        "who": _("Who took part"),
        "themes": _("What we heard: themes"),
        "chosen": _("What people chose"),
        "design": _("What people decided together"),
        "equity": _("Themes by group"),
        "priority": _("Themes ranked by what priority groups said"),
        "hmw": _("How might we…"),
        "insights": _("Insights"),
        "method": _("How these themes were made, and their limits"),
        "draft": _("Draft: not yet reviewed by a person"),
        "reviewed": _("Reviewed by the planning team"),
        "quotes": _("In their words"),
        "claims": _("What people said"),
        # TRANSLATORS: printed before a staff member's translation of a quoted answer.
        "translation": _("Translation:"),
        "no_quotes": _("No quotes: nobody in this theme who allowed quoting said it in a way we can share."),
        "other": _("Other or unclear answers"),
        "took_part": people_sentence(report, translations),
        "answer_count": answers_sentence(report, translations),
    }


def people_sentence(report: Report, translations=None) -> str:
    """Return "40 people took part.", or "Fewer than 10 people took part." when the number is hidden."""
    gettext, ngettext = _funcs(translations)
    if report.participants is None:
        return gettext("Fewer than %(threshold)s people took part.") % {"threshold": numbers.count(report.threshold, report.language)}
    return ngettext("%(num)s person took part.", "%(num)s people took part.", report.participants) % {
        "num": numbers.count(report.participants, report.language)}


def answers_sentence(report: Report, translations=None) -> str:
    """Return "120 answers to open questions.", or "Fewer than 10 ..." when the number is hidden.

    Nothing when the number is withheld to protect "fewer than 10 people" (answers capped per
    person would narrow it): the number of answers is then not stated at all.
    """
    gettext, ngettext = _funcs(translations)
    if report.answers_covered:
        return ""
    if report.answers is None:
        return gettext("Fewer than %(threshold)s answers to open questions.") % {"threshold": numbers.count(report.threshold, report.language)}
    return ngettext("%(num)s answer to open questions.", "%(num)s answers to open questions.", report.answers) % {
        "num": numbers.count(report.answers, report.language)}


def theme_size(theme: ThemeView, translations=None, language: str = "en") -> str:
    """Return "12 answers" in the report's language (its number written that language's way), or that the number is hidden."""
    gettext, ngettext = _funcs(translations)
    if theme.size is None:
        # TRANSLATORS: %(mark)s is the mark of a hidden count, "*".
        return gettext("Number of answers hidden (%(mark)s) to protect people") % {"mark": MARK}
    return ngettext("%(num)s answer", "%(num)s answers", theme.size) % {"num": numbers.count(theme.size, language)}


def write_markdown(report: Report, file: IO[bytes], translations=None) -> None:
    """Write the synthesis report as Markdown, every text from the report escaped (see :func:`markdown_text`)."""
    language = report.language  # before escaping: "zh_Hant" is a tag, not text
    report = dataclasses.replace(_map_strings(report, markdown_text), language=language)
    s = _sections(report, translations)
    out: list[str] = [f"# {report.title}", "", report.purpose, ""]

    def table(t: Table) -> None:
        """Append a Markdown table."""
        out.extend([f"**{t.title}**", "", "| " + " | ".join(_md(c) for c in t.columns) + " |",
                    "|" + "---|" * len(t.columns)])
        out.extend("| " + " | ".join(_md(c) for c in row) + " |" for row in t.rows)
        if t.note:
            out.extend(["", f"_{_md(t.note)}_"])
        out.append("")

    out += [f"## {s['asked']}", ""] + [f"{i}. {q}" for i, q in enumerate(report.questions, 1)] + [""]
    out += [f"## {s['who']}", "", s["took_part"] + " " + s["answer_count"], ""]
    out += [f"- {c}" for c in report.caveats] + [""]
    for t in (*report.participation, *report.representation):
        table(t)
    if report.choice_results:
        out += [f"## {s['chosen']}", ""]
        for t in report.choice_results:
            table(t)
    if report.design_results:
        out += [f"## {s['design']}", ""]
        for t in report.design_results:
            table(t)
    out += [f"## {s['themes']}", ""]
    if report.overview is not None:
        table(report.overview)
    for theme in report.themes:
        status = s["reviewed"] if theme.reviewed else s["draft"]
        out += [f"### {_md(theme.label)}", "", f"{markdown_text(theme_size(theme, translations, report.language))} · {status}", ""]
        if theme.definition:
            out += [theme.definition, ""]
        if theme.claims:
            out += [f"**{s['claims']}**", ""] + [f"- {_md(c.line)}" for c in theme.claims] + [""]
        if theme.quotes:
            out += [f"**{s['quotes']}**", ""]
            for q in theme.quotes:
                out += [f"> {_md(q.text)}"] + ([">", f"> {_md(q.source)}"] if q.source else [])
                out += [">", f"> *{s['translation']}* {_md(q.translation)}"] if q.translation else []
                out.append("")
        for line in theme.insights:
            out.append(f"- {s['insights']}: {line}")
        for line in theme.hmw:
            out.append(f"- {line}")
        out.append("")
    if report.other is not None and report.other.size != 0:
        out += [f"### {s['other']}", "", markdown_text(theme_size(report.other, translations, report.language)), ""]
    if report.theme_by_group:
        out += [f"## {s['equity']}", ""]
        for t in report.theme_by_group:
            table(t)
    if report.priority is not None:
        out += [f"## {s['priority']}", ""]
        table(report.priority)
    if report.insights:
        out += [f"## {s['insights']}", ""] + [f"- {line}" for line in report.insights] + [""]
    if all_hmw(report):
        out += [f"## {s['hmw']}", ""] + [f"- {line}" for line in all_hmw(report)] + [""]
    out += [f"## {s['method']}", ""] + [f"{p}\n" for p in report.method]
    file.write("\n".join(out).encode("utf-8"))


def _md(text: str) -> str:
    """Return report text for a Markdown line; write_markdown has already escaped it with markdown_text."""
    return str(text)


def write_docx(report: Report, file: IO[bytes], translations=None) -> None:
    """Write the synthesis report as an editable Word document."""
    from docx import Document
    from docx.shared import Inches

    s = _sections(report, translations)
    document = Document()
    props = document.core_properties
    props.title = report.title
    props.language = report.language
    props.subject = s["themes"]
    document.add_heading(report.title, 0)
    document.add_paragraph(report.purpose)

    def table(t: Table) -> None:
        """Add a titled table."""
        document.add_paragraph(t.title).runs[0].bold = True
        grid = document.add_table(rows=1, cols=len(t.columns))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, t.columns):
            cell.text = text
        for row in t.rows:
            cells = grid.add_row().cells
            for cell, text in zip(cells, row):
                cell.text = text
        if t.note:
            document.add_paragraph().add_run(t.note).italic = True

    document.add_heading(s["asked"], 1)
    for question in report.questions:
        document.add_paragraph(question, style="List Number")
    document.add_heading(s["who"], 1)
    document.add_paragraph(s["took_part"] + " " + s["answer_count"])
    for caveat in report.caveats:
        document.add_paragraph(caveat, style="List Bullet")
    for t in (*report.participation, *report.representation):
        table(t)
    for title, bars in report.representation_bars:
        document.add_picture(io.BytesIO(representation_chart(title, bars, translations, "png", report.language)), width=Inches(6))
    if report.choice_results:
        document.add_heading(s["chosen"], 1)
        for t in report.choice_results:
            table(t)
    if report.design_results:
        document.add_heading(s["design"], 1)
        for t in report.design_results:
            table(t)
    document.add_heading(s["themes"], 1)
    chart = theme_chart(report, translations, "png")
    if chart:
        document.add_picture(io.BytesIO(chart), width=Inches(6))
    if report.overview is not None:
        table(report.overview)
    for theme in report.themes:
        document.add_heading(theme.label, 2)
        status = s["reviewed"] if theme.reviewed else s["draft"]
        document.add_paragraph(f"{theme_size(theme, translations, report.language)} · {status}")
        if theme.definition:
            document.add_paragraph(theme.definition)
        if theme.claims:
            document.add_paragraph(s["claims"]).runs[0].bold = True
            claims = [document.add_paragraph(c.line, style="List Bullet") for c in theme.claims]
            _paragraphs_right_to_left([p for p in claims if _RIGHT_TO_LEFT_LETTERS.search(p.text)])
        for quote in theme.quotes:
            _docx_quote(document, quote, s["translation"])
        for line in theme.insights:
            document.add_paragraph(f"{s['insights']}: {line}", style="List Bullet")
        for line in theme.hmw:
            document.add_paragraph(line, style="List Bullet")
    if report.other is not None and report.other.size != 0:
        document.add_heading(s["other"], 2)
        document.add_paragraph(theme_size(report.other, translations, report.language))
    if report.theme_by_group:
        document.add_heading(s["equity"], 1)
        for t in report.theme_by_group:
            table(t)
    if report.priority is not None:
        document.add_heading(s["priority"], 1)
        table(report.priority)
    if report.insights:
        document.add_heading(s["insights"], 1)
        for line in report.insights:
            document.add_paragraph(line, style="List Bullet")
    if all_hmw(report):
        document.add_heading(s["hmw"], 1)
        for line in all_hmw(report):
            document.add_paragraph(line, style="List Bullet")
    document.add_heading(s["method"], 1)
    for paragraph in report.method:
        document.add_paragraph(paragraph)
    if report.direction == "rtl":
        _right_to_left(document)
    document.save(file)


def _right_to_left(document) -> None:
    """Mark every paragraph and table of a Word document as right-to-left, for Arabic and Urdu reports."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraphs = list(document.paragraphs)
    paragraphs += [p for table in document.tables for row in table.rows for cell in row.cells for p in cell.paragraphs]
    _paragraphs_right_to_left(paragraphs)
    for table in document.tables:
        table_properties = table._tbl.tblPr
        if table_properties.find(qn("w:bidiVisual")) is None:
            table_properties.append(OxmlElement("w:bidiVisual"))


def _docx_quote(document, quote: Quote, translation_mark: str) -> None:
    """Add a quote to a Word report: the original (right-to-left when it is), where it comes from, and any translation."""
    paragraph = document.add_paragraph(quote.text, style="Quote")
    if _RIGHT_TO_LEFT_LETTERS.search(quote.text):
        _paragraphs_right_to_left([paragraph])
    if quote.source:
        document.add_paragraph(quote.source)
    if quote.translation:
        translated = document.add_paragraph()
        translated.add_run(translation_mark + " ").italic = True
        translated.add_run(quote.translation)
        if _RIGHT_TO_LEFT_LETTERS.search(quote.translation):
            _paragraphs_right_to_left([translated])


def _paragraphs_right_to_left(paragraphs) -> None:
    """Mark Word paragraphs and their runs right-to-left (a whole Arabic report, or one Arabic or Urdu quote in another)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for paragraph in paragraphs:
        properties = paragraph._p.get_or_add_pPr()
        if properties.find(qn("w:bidi")) is None:
            properties.append(OxmlElement("w:bidi"))
        for run in paragraph.runs:
            run_properties = run._r.get_or_add_rPr()
            if run_properties.find(qn("w:rtl")) is None:
                run_properties.append(OxmlElement("w:rtl"))


# --- data exports (internal) ------------------------------------------------------------------


def answer_columns(report: Report, translations=None) -> list[str]:
    """Return the column names of the answers export."""
    return ["classification", "answer_id", "question_number", "question", "language", "source", "table", "text", "translation",
            "theme_id", "theme", "theme_status", "theme_reviewed", "quote_ok", "created_at",
            *report.segment_names, *report.described_names]


def answer_rows(report: Report, records: Iterable[AnswerRecord] | None = None) -> Iterator[list[Any]]:
    """Yield the answers export's rows (of `records`, else the report's own), in the order of :func:`answer_columns`."""
    for a in report.records if records is None else records:
        segments, described = dict(a.segments), dict(a.described)
        yield [INTERNAL_MARK, a.id, a.prompt_number, a.prompt, a.language, a.source, a.table, a.text, a.translation, a.theme_id,
               a.theme, a.status, int(a.reviewed), int(a.quote_ok), a.created_at,
               *(segments.get(name, "") for name in report.segment_names),
               *(described.get(name, "") for name in report.described_names)]


def codebook_columns() -> list[str]:
    """Return the column names of the codebook."""
    return ["theme_id", "label", "definition", "status", "answers", "top_terms", "insights", "how_might_we", "claims"]


def codebook_rows(report: Report, hidden: Any = MARK) -> list[list[Any]]:
    """Return one codebook row per theme (and the other group); a hidden size shows as ``hidden``."""
    themes = list(report.themes) + ([report.other] if report.other is not None else [])
    return [[t.id, t.label, t.definition, "reviewed" if t.reviewed else "draft", hidden if t.size is None else t.size,
             "; ".join(t.top_terms), " | ".join(t.insights), " | ".join(t.hmw), " | ".join(c.plain_line for c in t.claims)]
            for t in themes]


def csv_chunks(header: Sequence[str], body: Iterable[Sequence[Any]], rows_per_chunk: int = 500) -> Iterator[bytes]:
    """Yield a UTF-8 CSV (with a byte-order mark so spreadsheets read it right) a few hundred rows at a time, formulas neutralised."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    text.write("\ufeff")
    writer.writerow([neutralise(h) for h in header])
    for count, row in enumerate(body, start=1):
        writer.writerow([neutralise(v) for v in row])
        if count % rows_per_chunk == 0:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8")


def _csv(file: IO[bytes], header: Sequence[str], body: Iterable[Sequence[Any]]) -> None:
    """Write a UTF-8 CSV (with a byte-order mark), formulas neutralised, row by row."""
    for chunk in csv_chunks(header, body):
        file.write(chunk)


def write_answers_csv(report: Report, file: IO[bytes], translations=None, records: Iterable[AnswerRecord] | None = None) -> None:
    """Write every visible answer with its theme, question, language, source and segments (internal)."""
    _csv(file, answer_columns(report, translations), answer_rows(report, records))


def write_votes_csv(report: Report, file: IO[bytes], translations=None) -> None:
    """Write a design session's votes (internal): one row per vote, participants numbered within this file, with segments."""
    _csv(file, [*VOTE_COLUMNS, *report.segment_names],
         ([*vote_row(v), *(dict(v.segments).get(name, "") for name in report.segment_names)] for v in report.votes))


def write_codebook_csv(report: Report, file: IO[bytes], translations=None) -> None:
    """Write the codebook: themes, their definitions, status, size and insights."""
    _csv(file, codebook_columns(), codebook_rows(report))


def write_xlsx(report: Report, file: IO[bytes], translations=None, records: Iterable[AnswerRecord] | None = None) -> None:
    """Write answers and codebook as a workbook marked internal, formulas neutralised, in openpyxl's write-only mode.

    Write-only mode streams each row to a temporary file instead of keeping every cell object in
    memory, so a workbook of 800,000 answers costs about as much memory as one of 800.
    """
    from openpyxl import Workbook

    gettext, _ = _funcs(translations)
    book = Workbook(write_only=True)
    about = book.create_sheet("About")
    about.append([INTERNAL_MARK.upper()])
    about.append([neutralise(gettext("For the planning team's own analysis. Do not publish or share: it holds answers from people who did not allow quoting."))])
    about.append([neutralise(report.title)])
    about.append([report.code, report.generated_at])
    answers = book.create_sheet("Answers")
    answers.freeze_panes = "A2"
    answers.append([neutralise(c) for c in answer_columns(report, translations)])
    for row in answer_rows(report, records):
        answers.append([neutralise(v) for v in row])
    if report.votes:
        votes = book.create_sheet("Votes")
        votes.freeze_panes = "A2"
        votes.append(list(VOTE_COLUMNS) + list(report.segment_names))
        for record in report.votes:
            row = vote_row(record)
            segments = dict(record.segments)
            votes.append([neutralise(v) for v in row] + [neutralise(segments.get(name, "")) for name in report.segment_names])
    if report.ideas:
        ideas = book.create_sheet("Ideas")
        ideas.freeze_panes = "A2"
        ideas.append(list(IDEA_COLUMNS))
        for idea in report.ideas:
            ideas.append([neutralise(v) for v in idea_row(idea)])
    codebook = book.create_sheet("Codebook")
    codebook.append(codebook_columns())
    for row in codebook_rows(report):
        codebook.append([neutralise(v) for v in row])
    book.properties.title = report.title[:250]
    book.properties.subject = INTERNAL_MARK
    book.properties.keywords = INTERNAL_MARK
    book.properties.description = INTERNAL_MARK
    book.properties.creator = "Chorus"
    book.save(file)


VOTE_COLUMNS = ("participant", "question", "statement", "statement_text", "statement_language", "vote", "group", "language",
                "table", "source", "vote_table")
IDEA_COLUMNS = ("idea", "question", "text", "language", "table", "author", "status", "agree", "disagree", "pass")


def vote_row(record: VoteRecord) -> list[Any]:
    """Return one vote as a row under VOTE_COLUMNS."""
    return [record.participant, record.prompt_number, record.statement, record.statement_text, record.statement_language,
            record.vote, record.group, record.language, record.table, record.source, record.vote_table]


def idea_row(record: IdeaRecord) -> list[Any]:
    """Return one idea as a row under IDEA_COLUMNS."""
    return [record.idea, record.prompt_number, record.text, record.language, record.table, record.author, record.status,
            record.agree, record.disagree, record.passes]


def json_chunks(report: Report, records: Iterable[AnswerRecord] | None = None) -> Iterator[bytes]:
    """Yield the JSON export (answers, a design session's votes and codebook, marked internal) piece by piece, one answer at a time."""
    head = {
        "classification": INTERNAL_MARK,
        "session": {"code": report.code, "title": report.title, "generated_at": report.generated_at,
                    "questions": list(report.questions), "participants": report.participants},
        # null stands for a count hidden to protect people (below the threshold, or one that would reveal such a count)
        "hidden_below": report.threshold,
        "codebook": [dict(zip(codebook_columns(), row)) for row in codebook_rows(report, hidden=None)],
        "votes": [{**{k: v for k, v in asdict(v).items() if k != "segments"}, "segments": dict(v.segments)}
                  for v in report.votes],
        "ideas": [dict(zip(IDEA_COLUMNS, idea_row(i))) for i in report.ideas],
    }
    opening = json.dumps(head, ensure_ascii=False, indent=2)
    yield (opening[:-2] + ',\n  "answers": [').encode("utf-8")
    separator = "\n    "
    for a in report.records if records is None else records:
        item = {**{k: v for k, v in asdict(a).items() if k not in ("segments", "described")},
                "segments": dict(a.segments), "own_words": dict(a.described)}
        yield (separator + json.dumps(item, ensure_ascii=False)).encode("utf-8")
        separator = ",\n    "
    yield ("\n  ]\n}" if separator != "\n    " else "]\n}").encode("utf-8")


def write_json(report: Report, file: IO[bytes], translations=None, records: Iterable[AnswerRecord] | None = None) -> None:
    """Write answers and codebook as JSON, marked internal, one answer at a time."""
    for chunk in json_chunks(report, records):
        file.write(chunk)


WRITERS = {
    "html": write_html,
    "docx": write_docx,
    "md": write_markdown,
    "csv": write_answers_csv,
    "xlsx": write_xlsx,
    "json": write_json,
    "codebook": write_codebook_csv,
    "votes": write_votes_csv,
}
# Flask adds "; charset=utf-8" to every text/ type itself: naming it here as well sent it twice.
MIMETYPES = {
    "html": "text/html",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "codebook": "text/csv",
    "votes": "text/csv",
}


def filename(code: str, fmt: str, language: str) -> str:
    """Return the download name: reports carry their language; data exports say they are internal."""
    if fmt in REPORT_FORMATS:
        return f"chorus-{code}-synthesis-{language}.{fmt}"
    if fmt == "codebook":
        return f"chorus-{code}-codebook.csv"
    if fmt == "votes":
        return f"chorus-{code}-votes-internal.csv"
    return f"chorus-{code}-answers-internal.{fmt}"


def write(report: Report, fmt: str, file: IO[bytes], translations=None) -> None:
    """Write a report or export in one of :data:`FORMATS`; any stored text works (see :func:`clean_text`)."""
    if fmt not in WRITERS:
        raise ValueError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    WRITERS[fmt](cleaned(report), file, translations)


STREAMED = ("csv", "xlsx", "json")


def write_streamed(report: Report, fmt: str, records: Iterable[AnswerRecord], file: IO[bytes], translations=None) -> None:
    """Write a data export whose answers come one at a time (not held in the report); text cleaned as :func:`write` does."""
    if fmt not in STREAMED:
        raise ValueError(f"{fmt!r} is not a data export that streams; choose one of {', '.join(STREAMED)}")
    WRITERS[fmt](cleaned(report), file, translations, records=(clean_record(r) for r in records))


def clean_record(record: AnswerRecord) -> AnswerRecord:
    """Return an answer record with its text cleaned as :func:`cleaned` would, copying it only when something changes.

    Checking each string once is about ten times cheaper than walking the dataclass generically,
    which matters at hundreds of thousands of answers.
    """
    changes: dict[str, Any] = {}
    for name in ("prompt", "language", "source", "text", "theme_id", "theme", "status", "created_at"):
        value = getattr(record, name)
        if isinstance(value, str) and NOT_XML.search(value):
            changes[name] = clean_text(value)
    if any(NOT_XML.search(key) or NOT_XML.search(value) for key, value in record.segments):
        changes["segments"] = tuple((clean_text(key), clean_text(value)) for key, value in record.segments)
    return dataclasses.replace(record, **changes) if changes else record
