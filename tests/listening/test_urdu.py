"""Urdu: the demo offers it, its pages run right to left in Urdu words, and its catalog is whole."""
from __future__ import annotations

import re

import pytest

from babel.messages.pofile import read_po

from listening.consent import default_consent, paragraphs
from listening.demo import CONTACT, CONTACTS, TITLE, demo_languages, ensure_demo
from listening.i18n import TRANSLATIONS_DIR
from tests.conftest import PASSWORD, migrated_app, page, text_of
from tests.factories import make_session

CATALOG = TRANSLATIONS_DIR / "ur" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}|<[^>]+>")
URDU_LETTERS = re.compile(r"[\u0600-\u06FF]")

LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate and its end


def urdu_catalog():
    """Read the Urdu catalog as Babel sees it."""
    with CATALOG.open("rb") as handle:
        return read_po(handle)


def urdu(msgid: str) -> str:
    """Return the Urdu catalog's translation of an interface string."""
    return urdu_catalog().get(msgid).string


def test_the_demo_offers_urdu_when_the_app_does(app, tmp_path):
    """The demo session is made in Urdu too, unless the app is configured without it."""
    with app.app_context():
        assert "ur" in demo_languages()
    without = migrated_app(tmp_path / "no-urdu.db", LANGUAGES=["en", "es", "ar"])
    with without.app_context():
        assert demo_languages() == ["en", "es", "ar"]


def test_demo_join_page_in_urdu_runs_right_to_left_in_urdu_words(app, client, db):
    """?lang=ur on the demo's join page gives <html lang=ur dir=rtl>, the Urdu title and Urdu buttons, not English."""
    with app.app_context():
        demo = ensure_demo(db, password=PASSWORD)
    response = client.get(f"/j/{demo.code}?lang=ur")
    soup, text = page(response), text_of(response)
    assert (soup.html["lang"], soup.html["dir"]) == ("ur", "rtl")
    assert soup.find("h1").get_text(strip=True) == TITLE["ur"]
    for msgid in ("Skip to content", "Take back my answers", "Start"):
        assert urdu(msgid) in text and urdu(msgid) != msgid
        assert msgid not in text
    switcher = {a["lang"]: a for a in soup.select("nav.languages a")}
    assert switcher["ur"]["dir"] == "rtl" and switcher["ur"]["aria-current"] == "true"


def test_urdu_consent_statement_is_shown_in_urdu_with_the_contact(app, client, db):
    """The demo's Urdu consent page shows the default Urdu statement, paragraph by paragraph, and whom to ask."""
    with app.app_context():
        demo = ensure_demo(db, password=PASSWORD)
        english = paragraphs(default_consent("en", minutes=10, contact=CONTACT))
        statement = paragraphs(default_consent("ur", minutes=10, contact=CONTACTS["ur"]))
    assert len(statement) == len(english) == 6
    for urdu_paragraph, english_paragraph in zip(statement, english):
        assert urdu_paragraph != english_paragraph and URDU_LETTERS.search(urdu_paragraph)
    shown = " ".join(page(client.get(f"/s/{demo.code}/consent?lang=ur")).find(id="statement-text").get_text(" ").split())
    shown = shown.replace(f"{LRI}(336) 555-0142{PDI}", "(336) 555-0142")  # the phone number's isolate marks are invisible
    for paragraph in statement:
        assert " ".join(paragraph.split()) in shown
    assert CONTACTS["ur"] in shown and CONTACT not in shown and "10" in statement[0]


def test_question_and_minute_counts_use_urdu_singular_and_plural(client, db):
    """One question reads 'سوال ہے', several 'سوال ہیں'; one minute 'منٹ لگتا ہے', several 'منٹ لگتے ہیں'."""
    one = make_session(db, languages=("en", "ur"), minutes=1, prompts=[{"kind": "open", "text": "What helps you?"}])
    assert "اس میں 1 سوال ہے۔ اس میں تقریباً 1 منٹ لگتا ہے۔" in text_of(client.get(f"/j/{one['code']}?lang=ur"))
    many = make_session(db, languages=("en", "ur"), minutes=20)
    assert "اس میں 5 سوال ہیں۔ اس میں تقریباً 20 منٹ لگتے ہیں۔" in text_of(client.get(f"/j/{many['code']}?lang=ur"))


def test_urdu_catalog_is_a_complete_draft_that_keeps_every_placeholder():
    """Every entry is translated, none is fuzzy, each keeps its msgid's placeholders, and the header says draft."""
    catalog = urdu_catalog()
    assert catalog.num_plurals == 2
    assert '"X-Chorus-Review: draft\\n"' in CATALOG.read_text(encoding="utf-8")
    problems = []
    for message in (m for m in catalog if m.id):
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(("untranslated", sources[0]))
            continue
        wanted = sorted(PLACEHOLDER.findall(sources[-1]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != wanted:
                problems.append(("placeholders", sources[0], string))
    assert problems == []


@pytest.mark.parametrize("lang", ["ar", "ur", "es"])
def test_the_demo_names_its_team_in_the_residents_language(app, client, db, lang):
    """The demo's consent summary and statement give the team's name in Arabic, Urdu or Spanish, not in English."""
    with app.app_context():
        demo = ensure_demo(db, password=PASSWORD)
    soup = page(client.get(f"/s/{demo.code}/consent?lang={lang}"))
    summary, statement = soup.select_one("#consent-summary li").get_text(), soup.find(id="statement-text").get_text()
    assert CONTACTS[lang] in summary.replace(f"{LRI}(336) 555-0142{PDI}", "(336) 555-0142")
    assert "Guilford listening team" not in soup.find(id="statement").get_text()
    # In right-to-left text the phone number sits in a left-to-right isolate, else it shows as "0142-555 (336)".
    isolated = f"{LRI}(336) 555-0142{PDI}"
    assert (isolated in summary and isolated in statement) is (lang != "es")
