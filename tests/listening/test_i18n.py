"""Languages: the order a locale is chosen in, text direction, and complete Spanish."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from listening.app import create_app
from listening.i18n import TRANSLATIONS_DIR
from tests.conftest import page
from tests.factories import make_session

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3), "lazy_ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def source_messages() -> set[str]:
    """Extract every translatable string from the code and templates, as pybabel would."""
    found = set()
    for package in ("listening", "facilitation", "analysis"):
        if not (ROOT / package).exists():
            continue
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_user_facing_string_has_a_spanish_translation():
    """Each string marked for translation has a non-empty, non-fuzzy Spanish translation."""
    with (TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = []
    for msgid in sorted(source_messages()):
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
    assert missing == []


def test_query_parameter_beats_earlier_choice_and_browser(client, db):
    """?lang= wins over the cookie and Accept-Language, and is remembered for later pages."""
    session = make_session(db)
    url = f"/j/{session['code']}"
    assert page(client.get(url, headers={"Accept-Language": "es"})).html["lang"] == "es"
    assert page(client.get(url + "?lang=en", headers={"Accept-Language": "es"})).html["lang"] == "en"
    assert page(client.get(url, headers={"Accept-Language": "es"})).html["lang"] == "en"


def test_a_language_the_session_does_not_offer_falls_back_to_its_default(client, db):
    """Asking for Arabic in an English-and-Spanish session shows the session's default."""
    session = make_session(db, languages=("es", "en"))
    assert page(client.get(f"/j/{session['code']}?lang=ar")).html["lang"] == "es"


def test_arabic_pages_run_right_to_left(client):
    """Pages in Arabic say lang=ar and dir=rtl."""
    html = page(client.get("/withdraw?lang=ar")).html
    assert (html["lang"], html["dir"]) == ("ar", "rtl")


def test_configured_language_without_a_catalog_is_refused(tmp_path):
    """Configuring a language that has no catalog fails loudly at start-up."""
    with pytest.raises(RuntimeError, match="no catalog"):
        create_app({"TESTING": True, "DATABASE": tmp_path / "x.db", "LANGUAGES": ["en", "xx"]})


def test_error_pages_are_translated(client):
    """A missing page answers in the visitor's language, without a stack trace."""
    response = client.get("/no/such/page", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    assert page(response).html["lang"] == "es"
    assert "Traceback" not in response.get_data(as_text=True)


def test_direction_reads_tags_written_either_way():
    """"ar-EG", "ar_EG" and "UR" run right to left; "es-MX" left to right."""
    from listening.i18n import text_direction

    assert [text_direction(t) for t in ("ar-EG", "ar_EG", "UR", "es-MX")] == ["rtl", "rtl", "rtl", "ltr"]


def test_the_remembered_accept_language_choice_is_werkzeugs(app):
    """The browser's language, remembered per worker for short headers, is what werkzeug's best_match picks, long headers too."""
    from flask import request

    from listening.i18n import best_accepted, parsed_locale, select_locale

    candidates = ("en", "es", "ar")
    for header in ("", "es", "es-MX,es;q=0.9,en;q=0.8", "fr-FR, ar;q=0.5, en;q=0.1", "*", "xx", "es;q=0", "en;q=0.9, " * 40):
        with app.test_request_context("/", headers={"Accept-Language": header} if header else {}):
            assert best_accepted(request.headers.get("Accept-Language", ""), candidates) == \
                request.accept_languages.best_match(candidates), header
    with app.test_request_context("/?lang=es"):
        assert select_locale() is parsed_locale("es") and str(select_locale()) == "es"


@pytest.mark.parametrize("language, written", [("en", "42%"), ("es", "42\xa0%"), ("fr", "42\xa0%"), ("ar", "42%")])
def test_percentages_are_written_as_the_readers_language_writes_them(app, language, written):
    """Results pages, the projector, the opinions page, a job's progress and the campaign pages write shares with these
    filters (a planner's reference percentage keeps its decimals)."""
    with app.test_request_context(f"/?lang={language}"):
        app.preprocess_request()
        assert app.jinja_env.filters["format_percent"](42) == written
        assert app.jinja_env.filters["format_share"](0.42) == written
        assert app.jinja_env.filters["format_percent"](12.5) == written.replace("42", "12.5" if language in ("en", "ar") else "12,5")


@pytest.mark.parametrize("zone", ["America", "x" * 300, "Mars/Olympus"])
def test_a_time_in_a_zone_that_is_not_a_place_is_shown_in_utc(app, zone):
    """A stored or configured time zone that names a region or nothing (CHORUS_TIMEZONE=America) shows times in UTC, never a 500."""
    from listening.i18n import local_time

    with app.test_request_context("/?lang=en"):
        assert local_time("2026-06-01T10:15:00+00:00", zone, "short") == local_time("2026-06-01T10:15:00+00:00", "UTC", "short")


def test_phone_numbers_in_right_to_left_text_are_isolated_left_to_right_and_nothing_else():
    """Runs of 7 or more digits with separators get LRI ... PDI; short numbers, dates' neighbours and marked runs stay as they are."""
    from listening.i18n import isolate_numbers

    lri, pdi = "\u2066", "\u2069"
    assert isolate_numbers("فريق، (336) 555-0142.") == f"فريق، {lri}(336) 555-0142{pdi}."
    assert isolate_numbers("+1 336 555 0142") == f"{lri}+1 336 555 0142{pdi}"
    assert isolate_numbers("٣٣٦-٥٥٥-٠١٤٢") == f"{lri}٣٣٦-٥٥٥-٠١٤٢{pdi}"
    for kept in ("من 1 إلى 5", "نحو 10 دقائق", "2,000", "12345678", f"{lri}(336) 555-0142{pdi}", ""):
        assert isolate_numbers(kept) == kept
