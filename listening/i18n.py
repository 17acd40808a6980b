"""Languages: which are offered, how one is chosen for a request, and which way text runs.

The locale is chosen in a fixed order: `?lang=`, the visitor's earlier choice (kept in their
cookie), their browser's Accept-Language, then the session's (or the app's) default. Inside a
listening session only the session's own languages are candidates.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request, session
from flask_babel import Babel
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

log = logging.getLogger(__name__)

# A checkout (or editable install) reads the catalogs translators edit, in `translations/`, and
# compiles them when they change; a built package carries them compiled inside `listening/` (setup.py).
SOURCE_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
PACKAGED_TRANSLATIONS = Path(__file__).resolve().parent / "translations"
TRANSLATIONS_DIR = (PACKAGED_TRANSLATIONS if any(PACKAGED_TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))
                    else SOURCE_TRANSLATIONS)
SOURCE_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa", "he", "ps", "ckb", "yi"})


def catalog_languages(directory: Path = TRANSLATIONS_DIR) -> list[str]:
    """Return the source language plus every language with a .po catalog on disk."""
    found = sorted(p.parent.parent.name for p in directory.glob("*/LC_MESSAGES/messages.po"))
    return [SOURCE_LANGUAGE] + [code for code in found if code != SOURCE_LANGUAGE]


def compile_catalogs(directory: Path = TRANSLATIONS_DIR, *, force: bool = False) -> list[str]:
    """Compile each .po catalog whose .mo is missing or older, and return the languages compiled.

    An installed package's catalogs were compiled when it was built, and its folder may be
    read-only, so they are left alone.
    """
    if directory == PACKAGED_TRANSLATIONS:
        return []
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)  # fuzzy entries are left out, as pybabel does
        compiled.append(po_path.parent.parent.name)
    return compiled


def text_direction(language: str) -> str:
    """Return 'rtl' for right-to-left languages and 'ltr' for the rest."""
    return "rtl" if base_language(language) in RIGHT_TO_LEFT else "ltr"


# A run of digits with spaces, brackets, dots or dashes between: a phone number, most often.
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d ().\-\u00a0]*\d")
_SEPARATORS = re.compile(r"[ ().\-\u00a0]")


def isolate_numbers(text: str) -> str:
    """Keep phone numbers left to right inside right-to-left text: LRI ... PDI around each run of 7 or more digits.

    The Unicode bidirectional algorithm shows "(336) 555-0142" in Arabic or Urdu text as
    "0142-555 (336)": the space and brackets between the digit groups take the paragraph's
    direction. For display only: the marks are invisible and never stored.
    """

    def wrap(found: re.Match) -> str:
        """Wrap one run of digits in a left-to-right isolate, unless it is short, one group, or isolated already."""
        run = found.group(0)
        if (sum(c.isdigit() for c in run) < 7 or not _SEPARATORS.search(run)
                or (found.start() and text[found.start() - 1] == "\u2066")):
            return run
        return f"\u2066{run}\u2069"

    return _DIGIT_RUN.sub(wrap, text) if text else text


def phone_order(text: str | None, language: str | None = None) -> str | None:
    """Return a text a team wrote (a results page's "what we will do", a commitment) for display in `language` (the
    page's, if not given): in a right-to-left language its phone numbers keep their order (`isolate_numbers`)."""
    if not text or text_direction(language or current_language()) != "rtl":
        return text
    if isinstance(text, Markup):  # a text marked with the language it is shown in: the marks go between its digits only
        return Markup(isolate_numbers(str(text)))
    return isolate_numbers(text)


def base_language(language: str) -> str:
    """Return the language part of a tag, lower-cased: "ar_EG", "ar-EG" and "AR" are all "ar"."""
    return language.replace("-", "_").split("_")[0].lower()


def local_percent(percent: float) -> str:
    """Return a percentage (42 for 42%, 12.5 kept as written) as the reader's language writes one ("42 %", "12,5 %"
    in Spanish)."""
    return format_percent(percent / 100, locale=current_language(), decimal_quantization=False)


def local_number(number) -> str:
    """Return a count or decimal as the reader's language writes it ("12.345" in Spanish); anything that is not a
    number (a missing value) is printed as it was before numbers were formatted."""
    try:
        return format_decimal(number, locale=current_language())
    except (TypeError, ValueError, ArithmeticError):
        return str(number)


class Written(int):
    """A count for ngettext: it chooses the message's plural as a number and prints as the reader's language writes it
    ("1,234"; "1.234" in Spanish), where a bare int would print "1234" in every language."""

    def __str__(self) -> str:
        """Return the count with the reader's grouping."""
        return local_number(int(self))


def local_share(share: float) -> str:
    """Return a share (0.42) as a whole percentage the way the reader's language writes one ("42 %" in Spanish)."""
    return format_percent(share, locale=current_language())


def language_name(language: str) -> str:
    """Return a language's name written in that language, for the language switcher."""
    try:
        name = Locale.parse(language).get_display_name(language) or language
    except (ValueError, LookupError):
        return language
    return name[:1].upper() + name[1:]


def source_labels(gettext=None) -> dict[str, str]:
    """Name the sources answers come from, in the one wording staff pages, review pages and reports use.

    Pages pass nothing (the request's language); reports pass the gettext of their own language.
    """
    from flask_babel import gettext as request_gettext

    _ = gettext or request_gettext
    return {
        # TRANSLATORS: how an answer reached Chorus: the resident typed it on their own phone.
        "phone": _("Own phone"),
        "paper": _("Paper card"),
        "sticky": _("Sticky note"),
        "phone_call": _("Phone call"),
        # TRANSLATORS: how an answer reached Chorus: a staff member entered it through an interpreter.
        "interpreter": _("Through an interpreter"),
        # TRANSLATORS: how an answer reached Chorus: brought in from another survey tool's export file.
        "import": _("Imported from a file"),
    }


def app_languages() -> list[str]:
    """Return the languages this app offers, in the configured order."""
    return list(current_app.config["LANGUAGES"])


def offered_languages() -> list[str]:
    """Return the languages a visitor may choose on this page: the session's, or the app's."""
    return list(g.get("session_languages") or app_languages())


def remember_language_choice() -> None:
    """Keep a valid `?lang=` choice in the visitor's cookie so later pages use it too."""
    chosen = request.args.get("lang", "")
    if chosen in app_languages():
        session["lang"] = chosen


def choose_language() -> str:
    """Choose this request's language: ?lang=, earlier choice, Accept-Language, default."""
    candidates = offered_languages()
    chosen = request.args.get("lang", "")
    if chosen in candidates:
        return chosen
    earlier = session.get("lang", "")
    if earlier in candidates:
        return earlier
    best = best_accepted(request.headers.get("Accept-Language", ""), tuple(candidates))
    if best:
        return best
    default = g.get("session_languages", [None])[0] or current_app.config["DEFAULT_LANGUAGE"]
    return default if default in candidates else candidates[0]


def select_locale() -> Locale:
    """Flask-Babel's locale selector: the chosen language, as a Locale parsed once per worker (parsing took 20 µs a request)."""
    return parsed_locale(choose_language())


@functools.lru_cache(maxsize=64)
def parsed_locale(code: str) -> Locale:
    """Return the babel Locale of a language code (only offered codes reach it)."""
    return Locale.parse(code)


def best_accepted(header: str, candidates: tuple[str, ...]) -> str | None:
    """Return the candidate a browser's Accept-Language prefers, as werkzeug's `accept_languages.best_match` does.

    A phone sends the same header with every request, so the answer for a short header is remembered per worker.
    """
    if len(header) > MAX_REMEMBERED_HEADER:
        return parse_accept_header(header, LanguageAccept).best_match(candidates)
    return _best_accepted(header, candidates)


MAX_REMEMBERED_HEADER = 200


@functools.lru_cache(maxsize=1024)
def _best_accepted(header: str, candidates: tuple[str, ...]) -> str | None:
    """Parse an Accept-Language header and pick among the candidates (for best_accepted, which remembers it)."""
    return parse_accept_header(header, LanguageAccept).best_match(candidates)


def current_language() -> str:
    """Return the language this request is being answered in."""
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale is not None else current_app.config["DEFAULT_LANGUAGE"]


def local_time(stamp: str | None, timezone_name: str, fmt: str = "medium") -> str:
    """Show a stored UTC time in a session's time zone, formatted for the current language."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp)
    try:
        zone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        zone = ZoneInfo("UTC")
    return format_datetime(moment, fmt, tzinfo=zone, locale=current_language())


def local_date(day: str | None, fmt: str = "long") -> str:
    """Show a stored calendar day (YYYY-MM-DD) in the current language ("1 de junio de 2027"), or it as stored if it is not one."""
    if not day:
        return ""
    try:
        return format_date(date.fromisoformat(day), fmt, locale=current_language())
    except ValueError:
        return day


def template_context() -> dict:
    """Give every template `lang`, `dir` and the language switcher's choices."""
    lang = current_language()
    return {
        "lang": lang,
        "dir": text_direction(lang),
        "language_choices": [(code, language_name(code)) for code in offered_languages()],
        "language_name": language_name,
        "text_direction": text_direction,
    }


def init_app(app: Flask) -> None:
    """Set up Flask-Babel with an absolute translations path and check the configured languages."""
    available = catalog_languages()
    configured = app.config.get("LANGUAGES") or available
    missing = [code for code in configured if code not in available]
    if missing:
        raise RuntimeError(
            f"CHORUS_LANGUAGES names languages with no catalog in {TRANSLATIONS_DIR}: {missing}"
        )
    app.config["LANGUAGES"] = configured
    if app.config["DEFAULT_LANGUAGE"] not in configured:
        raise RuntimeError(f"CHORUS_DEFAULT_LANGUAGE {app.config['DEFAULT_LANGUAGE']!r} is not offered")
    try:
        compile_catalogs()
    except OSError as exc:  # a read-only install: `chorus init` or pybabel must compile them
        log.warning("Could not compile translation catalogs: %s", exc)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LANGUAGE"]
    Babel(app, locale_selector=select_locale)
    app.before_request(remember_language_choice)
    app.context_processor(template_context)
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["localdate"] = local_date
    app.jinja_env.filters["format_number"] = local_number
    app.jinja_env.filters["phone_order"] = phone_order
    app.jinja_env.filters["format_percent"] = local_percent
    app.jinja_env.filters["format_share"] = local_share
