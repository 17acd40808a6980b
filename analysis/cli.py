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
import gettext as gettext_module
import importlib.util
import io
import os
import sys
import threading
import types
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from analysis import disclosure, forking, messages
from analysis.reports import clean_text, neutralise

if TYPE_CHECKING:
    from analysis.assemble import SessionData
    from analysis.text import Redaction
    from analysis.themes import Answer, ThemeSet

__all__ = ["themes_command", "read_csv", "main"]

# What a consent column says when a person allowed quoting; anything else (blank included) is no.
_YES = frozenset("yes y true t 1 x agree agreed allowed ok si sí oui ja da có co نعم ہاں".split())
# Files this large (about 2,000 answers) have their languages detected in a forked child while the engine's imports load.
_DETECT_BESIDE_BYTES = 200_000
THEME_ID_COLUMN = "theme_id"
THEME_LABEL_COLUMN = "theme_label"
# Survey exports can hold long free-text cells; the csv module's default limit is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


# Modules that load as scikit-learn and NLTK load but that the themes command does not use; each
# loads on first use instead (0.9 s of the command's 1.6 s of imports, in CPU). scipy.stats:
# sklearn.utils.fixes imports it, sklearn.metrics and NLTK's package read it. sklearn.metrics,
# sklearn.cluster and sklearn.decomposition: their ``__init__`` import every method they hold (the
# engine imports KMeans and TruncatedSVD from their own modules). nltk, nltk.stem and nltk.corpus:
# NLTK's ``__init__`` imports all of NLTK (parsers, classifiers, scipy.stats and scikit-learn's
# model selection) and the engine needs its Snowball and ISRI stemmers only. The names after each
# are what ``from MODULE import NAME`` may bind before the module loads (the Snowball module's
# stop word lists, read only with ``ignore_stopwords``, which the engine never sets). requests: WordLlama
# imports it to download a model it lacks. scipy.interpolate (with scipy.optimize, which it loads) and
# scipy.spatial: scikit-learn's preprocessing binds BSpline (its spline features) and its pairwise
# metrics bind ``distance`` (SciPy's metrics) as they load; k-means, LSA and TF-IDF use neither (0.35 s).
_DEFERRED_MODULES: dict[str, tuple[str, ...]] = {
    "scipy.stats": (),
    "scipy.interpolate": ("BSpline",),
    "scipy.spatial": ("distance",),
    "sklearn.metrics": (),
    "sklearn.cluster": (),
    "sklearn.decomposition": (),
    "nltk": (),
    "nltk.stem": (),
    "nltk.corpus": ("stopwords",),
    "requests": (),  # WordLlama imports it to download models; Chorus ships its model
}


class _Deferred(types.ModuleType):
    """A stand-in for a module not loaded yet: the first read of what the real one holds loads it.

    ``import scipy.stats`` then binds this stand-in; ``scipy.stats.fisher_exact`` (a report's test)
    or ``from scipy.stats import x`` load the real module, which takes its place in ``sys.modules``
    and as its package's attribute; a package's submodules (``sklearn.cluster._kmeans``,
    ``nltk.stem.snowball``) import without running the package's ``__init__``. Results are the same;
    only the time of loading moves. (``importlib.util.LazyLoader`` cannot do this on Python 3.11:
    a second ``import`` of a lazy module reads its ``__spec__``, which loads it.)
    """

    def __getattr__(self, attribute: str) -> object:
        """Return a submodule, imported, or else load the real module (once) and return its attribute."""
        name = self.__dict__["__name__"]
        if attribute.startswith("__") and attribute != "__all__":
            raise AttributeError(attribute)  # dunders a module may lack (__wrapped__...) never load it
        if "__path__" in self.__dict__ and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        return getattr(_load_deferred(name), attribute)


class _DeferredName:
    """A name bound by ``from MODULE import NAME`` while MODULE is deferred: using it loads MODULE."""

    def __init__(self, module: str, name: str) -> None:
        """Remember which module's name this stands for."""
        self._module, self._name = module, name

    def __getattr__(self, attribute: str) -> object:
        """Load the module and read the attribute from the real object."""
        return getattr(getattr(_load_deferred(self._module), self._name), attribute)

    def __call__(self, *args: object, **kwargs: object) -> object:
        """Load the module and call the real object."""
        return getattr(_load_deferred(self._module), self._name)(*args, **kwargs)


def _load_deferred(name: str) -> types.ModuleType:
    """Load the real module ``name`` (and its deferred packages, outermost first) in place of the stand-ins; return it.

    Stand-ins under the outermost deferred package are dropped first, so that the real packages
    import their subpackages as they always do; submodules already loaded are kept.
    """
    parts = name.split(".")
    outer = next((".".join(parts[:i]) for i in range(1, len(parts) + 1)
                  if isinstance(sys.modules.get(".".join(parts[:i])), _Deferred)), None)
    if outer is not None:
        for module in [m for m, v in sys.modules.items() if isinstance(v, _Deferred) and (m == outer or m.startswith(outer + "."))]:
            del sys.modules[module]
    real = importlib.import_module(name)
    for i in range(len(parts) - 1, 0, -1):
        parent, child = ".".join(parts[:i]), parts[i]
        if parent in sys.modules:
            setattr(sys.modules[parent], child, importlib.import_module(".".join(parts[: i + 1])))
    return real


def defer_unused_imports() -> list[str]:
    """Put a stand-in that loads on first use for each module of ``_DEFERRED_MODULES`` not loaded yet; return their names.

    Only for this short command, single-threaded in Python: the web app imports as it always has.
    """
    deferred = []
    for name, names in _DEFERRED_MODULES.items():
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        stand_in = _Deferred(name)
        stand_in.__spec__ = spec
        stand_in.__loader__ = spec.loader
        stand_in.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            stand_in.__path__ = list(spec.submodule_search_locations)
            stand_in.__package__ = name
        else:
            stand_in.__package__ = name.rpartition(".")[0]
        for attribute in names:
            setattr(stand_in, attribute, _DeferredName(name, attribute))
        sys.modules[name] = stand_in
        deferred.append(name)
    return deferred


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


def _open_private(path: Path, newline: str | None = None, mode: str = "w"):
    """Open a file for writing (text, or bytes with ``mode="wb"``) that only its owner can read: outputs hold what people said."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode on open
    if "b" in mode:
        return os.fdopen(descriptor, mode)
    return os.fdopen(descriptor, mode, encoding="utf-8", newline=newline)


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


def _consents(rows: Sequence[Mapping[str, str]], column: str) -> set[int]:
    """Return the row numbers whose consent cell says yes (yes, y, true, 1, sí, oui, ...)."""
    return {i for i, row in enumerate(rows) if (row.get(column) or "").strip().casefold() in _YES}


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
    # A second process for `chorus themes`: languages detected while this one imports the engine, then the
    # character block and half the themes' descriptions (analysis.forking; CHORUS_THEMES_PROCESSES=1: none).
    context = click.get_current_context()
    forks = context.with_resource(forking.enable())
    beside = forks and language is None and input_csv.stat().st_size >= _DETECT_BESIDE_BYTES
    detecting = forking.beside(_detected_languages, input_csv, text_column, language_column) if beside else None
    if detecting is not None:
        context.with_resource(detecting)  # stopped if the command ends first (a missing column, say)
    defer_unused_imports()
    warming = _warm_up(detect=language is None and detecting is None)
    header, rows = read_csv(input_csv)
    _require_columns(header, {"--text-column": text_column, "--language-column": language_column, "--translation-column": translation_column,
                              "--quote-consent-column": quote_consent_column}
                     | {f"--segment-column #{i + 1}": c for i, c in enumerate(segment_columns)})
    if not rows:
        raise click.ClickException(f"{input_csv} has a header but no answers")
    names: list[str] = []
    if names_file is not None:
        names = [line.strip() for line in names_file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    redaction = _redaction_ahead(rows, text_column, names, detecting) if detecting is not None else None
    languages = _languages(rows, text_column, language_column, language, detecting)
    from analysis.themes import Answer, find_themes  # noqa: PLC0415 - the engine (scipy.sparse, its text tools) loads when it runs, not for `chorus --help`
    # With a consent column, theme names, claims and quotes come only from people who allowed quoting.
    consenting = _consents(rows, quote_consent_column) if quote_consent_column else None
    answers = [
        Answer(
            id=index,
            text=row.get(text_column, ""),
            language=languages[index],
            translation=(row.get(translation_column) or None) if translation_column else None,
            segments={c: row.get(c, "") for c in segment_columns},
            quotable=consenting is None or index in consenting,
        )
        for index, row in enumerate(rows)
    ]
    warming.join()  # no other thread runs when the engine forks
    try:
        theme_set = find_themes(answers, k=k, k_min=k_min, k_max=k_max, seed=seed, names=names, redaction=redaction)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _write_csv(output, header, rows, theme_set)
    click.echo(_summary(theme_set, len(rows)))
    if not theme_set.themes:
        click.echo("No themes: every answer was empty or without content.", err=True)
    click.echo(f"Wrote {output}")
    if report is not None:
        from analysis.assemble import assemble_report  # noqa: PLC0415 - only with --report: keeps the CLI's start fast
        from analysis.reports import write  # noqa: PLC0415

        data = session_data(theme_set, answers, rows, SessionShape(input_csv.name, text_column, tuple(segment_columns),
                                                                   tuple(priority_groups), threshold, tuple(names)), consenting)
        built = assemble_report(data, "en", gettext_module.NullTranslations(),
                                generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
        try:
            with _open_private(report, mode="wb") as handle:
                write(built, "html" if report.suffix.lower() in {".html", ".htm"} else "md", handle)
        except OSError as exc:
            raise click.ClickException(f"cannot write {report}: {exc.strerror or exc}") from None
        click.echo(f"Wrote {report}")


@dataclass(frozen=True)
class SessionShape:
    """What a CSV run says about its session: the file, the answer and segment columns, priority groups, threshold, names."""

    source: str
    text_column: str
    segment_columns: tuple[str, ...] = ()
    priority_groups: tuple[str, ...] = ()
    threshold: int = disclosure.DEFAULT_THRESHOLD
    names: tuple[str, ...] = ()


def session_data(theme_set: ThemeSet, answers: Sequence[Answer], rows: Sequence[Mapping[str, str]],
                 shape: SessionShape, quotable: set | None) -> SessionData:
    """Describe a CSV run as a session, so the report is assembled and written as the app's reports are.

    Each row is one person who answered one open question (the text column); each segment column
    becomes an "about you" question whose choices are the values found in it, so the same
    disclosure control protects every count. ``quotable`` holds the rows whose authors allowed
    quoting (``None``: the file did not say, so every answer may be quoted and the report says so).
    """
    from analysis.assemble import SessionData  # noqa: PLC0415 - only when a report is asked for

    main = theme_set.main_language or "en"
    texts: dict = {("session", 0, "title"): {"en": "Draft themes"},
                   ("session", 0, "purpose"): {"en": f"Themes drafted by a computer program from the answers in {shape.source} "
                                                     f"(column {shape.text_column}); not yet reviewed by a person."},
                   ("prompt", 1, "text"): {"en": shape.text_column}}
    prompts: list[dict] = [{"id": 1, "number": 1, "kind": "open", "demographic": None, "options": []}]
    option_ids: dict[tuple[int, str], int] = {}
    for number, column in enumerate(shape.segment_columns, 2):
        values = sorted({(row.get(column) or "").strip() for row in rows} - {""})
        options = []
        for value in values:
            option_ids[(number, value)] = len(option_ids) + 1
            options.append({"id": option_ids[(number, value)], "prefer_not": 0})
            texts[("option", option_ids[(number, value)], "label")] = {"en": value}
        texts[("prompt", number, "text")] = {"en": column}
        prompts.append({"id": number, "number": number, "kind": "about", "demographic": None, "options": options})
    theme_ids = {theme.id: number for number, theme in enumerate(theme_set.themes, 1)}
    theme_ids[theme_set.other.id] = len(theme_ids) + 1
    placed = {}
    for theme in (*theme_set.themes, theme_set.other):
        for rank, aid in enumerate(theme.answer_ids):
            placed[aid] = {"response_id": aid, "theme_id": theme_ids[theme.id], "status": "theme", "rank": rank,
                           "quote": theme.quotes.index(aid) if aid in theme.quotes else None, "pinned": 0, "chosen": 0}
    for aid in theme_set.contentless:
        placed[aid] = {"response_id": aid, "theme_id": None, "status": "contentless", "rank": 0, "quote": None,
                       "pinned": 0, "chosen": 0}
    allowed = {a.id for a in answers} if quotable is None else quotable
    people = [{"id": a.id, "language": a.language, "source": "", "quote_ok": int(a.id in allowed)} for a in answers]
    return SessionData(
        session={"id": 0, "code": Path(shape.source).stem, "default_language": "en",
                 "languages": sorted({a.language for a in answers} | {main})},
        texts=texts, prompts=prompts, scope=[1],
        answers=[{"id": a.id, "prompt_id": 1, "participant_id": a.id, "language": a.language, "source": "",
                  "text": a.text or "", "translation": a.translation or "", "created_at": "", "quote_ok": int(a.id in allowed)} for a in answers],
        assignments=placed,
        themes=[{"id": theme_ids[t.id], "kind": "other" if t is theme_set.other else "theme", "label": t.label,
                 "definition": "", "reviewed": False, "top_terms": list(t.top_terms),
                 "claims": [{"text": c.text, "count": c.count, "answer_ids": list(c.answer_ids)} for c in t.claims],
                 "subthemes": [{"label": sub.label, "size": sub.size, "terms": list(sub.top_terms), "answer_ids": list(sub.answer_ids)}
                               for sub in theme_set.subthemes if sub.parent == t.id]}
                for t in (*theme_set.themes, theme_set.other)],
        insights=[], participants=people,
        segments={a.id: {number: option_ids[(number, (rows[a.id].get(column) or "").strip())]
                         for number, column in enumerate(shape.segment_columns, 2)
                         if (rows[a.id].get(column) or "").strip()} for a in answers},
        reference={}, priority={oid for (_n, value), oid in option_ids.items() if value in set(shape.priority_groups)},
        settings={"threshold": shape.threshold, "name_list": list(shape.names), "published": False},
        run={"method": theme_set.method, "seed": theme_set.seed, "k_chosen": theme_set.k_chosen, "answer_count": len(answers)},
        public={},
        method=("Themes were drafted by a computer program (chorus themes) and have not been reviewed by a person: "
                "read every theme and quote before sharing this report.",
                "Before a quote is shown, Chorus replaces emails, web addresses, phone numbers, street addresses, the names "
                "given with --names-file, and names written after a title or an introduction with [email], [url], [phone], "
                "[address] and [name]. It does not find every name or detail that could point to a person.",
                "Themes are not a vote and do not speak for everyone: they show what the people in this file said."),
        notes=(("This file did not say who allowed quoting, so quotes are taken from every answer. Check consent before "
                "sharing this report beyond the team, or run again with --quote-consent-column.",) if quotable is None else
               ("Only answers from people who allowed quoting are quoted.",)),
    )


def _warm_up(*, detect: bool) -> threading.Thread:
    """Load the models the run needs in a second thread while this one reads the CSV and imports the engine.

    py3langid's model (0.4-0.7 s of CPU, most of it LZMA decompression, which runs without the
    GIL) when languages may be detected, then WordLlama's; on two cores their loading overlaps
    the command's own imports. Both loaders are locked, so the engine waits for a load in
    progress rather than starting another; a failure here is left for the engine to meet (and
    report) when it asks. The results are the same; only the time of loading moves.
    """

    def load() -> None:
        """Load the models, quietly: the engine loads them again (and reports) if this fails."""
        try:
            if detect:
                from analysis.languages import _model  # noqa: PLC0415

                _model()
            from analysis.themes import _embedder  # noqa: PLC0415

            _embedder()
        except Exception:  # noqa: BLE001, S110 - the engine's own call meets the same error and reports it
            pass

    thread = threading.Thread(target=load, name="chorus-models", daemon=True)
    thread.start()
    # Meanwhile this thread imports what the engine uses (scikit-learn's estimators and vectorizer).
    from analysis import themes  # noqa: PLC0415 - the engine, only when the command runs

    themes._kmeans_class()
    themes._truncated_svd_class()
    themes._vectorizer_class()
    return thread


def _languages(rows: Sequence[Mapping[str, str]], text_column: str, language_column: str | None, language: str | None,
               detecting: forking.Pending | None = None) -> list[str]:
    """Return each row's language: given for all, read from a column, or detected from the text.

    Rows whose language cell is empty are detected too; when any language was detected, a
    line on stderr says which languages were found, so a wrong guess can be overridden.
    ``detecting`` is :func:`_detected_languages` of the same file, started in a forked child.
    """
    if language is not None:
        return [language] * len(rows)
    found = detecting.result(instead=lambda: None) if detecting is not None else None
    if found is None or len(found[0]) != len(rows):  # no child, or it read a file since changed
        found = _detect(rows, text_column, language_column)
    languages, note = found
    if note:
        click.echo(note, err=True)
    return languages


def _redaction_ahead(rows: Sequence[Mapping[str, str]], text_column: str, names: Sequence[str], detecting: forking.Pending) -> Redaction:
    """Return the engine's redaction (:class:`analysis.text.Redaction`) having read the answers while a child detects their languages.

    Redaction does not depend on the language, and the engine then finds each answer read so far already
    redacted (the same text); with time to spare, the character block's n-grams of their words are made
    too (:func:`analysis.themes.grams_ahead`). It stops as soon as the languages are ready, so it never delays them.
    """
    from analysis.text import REDACTION_MEMO, Redaction  # noqa: PLC0415 - the engine's own, loaded with it

    redaction = Redaction(tuple(names), frozenset())
    for start in range(0, min(len(rows), REDACTION_MEMO - 1), 200):  # it forgets all it read at REDACTION_MEMO texts
        if detecting.ready():
            return redaction
        for row in rows[start : min(start + 200, REDACTION_MEMO - 1)]:
            redaction(row.get(text_column, ""))
    # Still waiting: the character block's n-grams of the answers' words, made ahead too (the same n-grams).
    from analysis.themes import grams_ahead  # noqa: PLC0415 - the engine, loaded by now

    grams_ahead((redaction(row.get(text_column, "")) for row in rows[: REDACTION_MEMO - 1]), detecting.ready)
    return redaction


def _detected_languages(path: Path, text_column: str, language_column: str | None) -> tuple[list[str], str | None] | None:
    """Return :func:`_detect` of the CSV at ``path`` (read here), or ``None`` when it cannot be read or lacks a column."""
    try:
        header, rows = read_csv(path)
    except click.ClickException:
        return None
    if text_column not in header or (language_column is not None and language_column not in header):
        return None
    return _detect(rows, text_column, language_column)


def _detect(rows: Sequence[Mapping[str, str]], text_column: str, language_column: str | None) -> tuple[list[str], str | None]:
    """Return each row's language, read from the column or detected from the text, and the line that says what was detected."""
    from analysis.languages import detect_languages, language_code  # noqa: PLC0415 - only when needed

    # A language column may hold codes ("es-MX") or names ("Spanish", "Español"); a cell that is
    # neither, or empty, is detected from the text.
    given = [language_code(row.get(language_column)) or "" for row in rows] if language_column else [""] * len(rows)
    missing = [i for i, code in enumerate(given) if not code]
    if not missing:
        return given, None

    guessed = detect_languages([rows[i].get(text_column) or "" for i in missing])
    out = list(given)
    for i, code in zip(missing, guessed):
        out[i] = code
    found = Counter(guessed)
    summary = ", ".join(f"{messages.language_name(code)} {n:,}" for code, n in found.most_common())
    noun = "answer" if len(missing) == 1 else "answers"
    return out, f"Languages detected for {len(missing):,} {noun}: {summary} (set them with --language or --language-column)"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the themes command as a program (``python -m analysis``)."""
    themes_command.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="python -m analysis")
