"""People typed in by staff get a receipt code too: shown after saving, and printed on a slip in their language."""
import base64
import zlib

import pytest

from listening import queries
from tests.conftest import page, submit, text_of
from tests.factories import count, make_session


@pytest.fixture
def session(db):
    """An open bilingual live session with a contact for the slip."""
    return make_session(db, mode="live", contact="Ana at (336) 555-0142")


def enter(client, session, fields, **args):
    """Load the entry page with settings and save one answer; return the page shown after the save."""
    query = "&".join(f"{k}={v}" for k, v in args.items())
    url = f"/staff/sessions/{session['id']}/entry"
    saved = submit(client, url, fields, get_url=url + (f"?{query}" if query else ""))
    assert saved.status_code == 303
    return client.get(saved.headers["Location"])


def shown_receipt(response) -> str:
    """Return the receipt code the entry page shows, or ''."""
    found = page(response).select_one(".entry-receipt .code")
    return found.get_text(strip=True) if found else ""


def test_a_new_person_typed_in_gets_a_receipt_that_withdraws_them(as_facilitator, client, db, session):
    """After the save the page shows a receipt code; typed at /withdraw, it deletes that person's answer."""
    shown = enter(as_facilitator, session, {"answer": "Necesito transporte", "consent_read": "y"},
                  prompt=1, source="paper", language="es")
    receipt = shown_receipt(shown)
    assert len(queries.normalize_code(receipt)) == 12
    assert queries.participant_by_receipt(db, receipt)["source"] == "paper"
    resident = client.application.test_client()
    assert submit(resident, "/withdraw", {"receipt": receipt, "confirm": "y"}).status_code == 200
    assert count(db, "responses") == 0


def test_the_same_card_keeps_its_receipt_and_the_next_person_gets_a_new_one(as_facilitator, db, session):
    """More answers from the same card keep the code; a new card gets its own; the code is not readable in the cookie."""
    first = shown_receipt(enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y"}, prompt=1))
    same = shown_receipt(enter(as_facilitator, session, {"answer": "1", "consent_read": "y", "same_person": "y"}, prompt=2))
    other = shown_receipt(enter(as_facilitator, session, {"answer": "Food", "consent_read": "y"}, prompt=1))
    assert first == same and other and other != first
    value = as_facilitator.get_cookie("chorus").value
    data = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    readable = (zlib.decompress(raw) if value.startswith(".") else raw).decode()
    assert other not in readable and queries.normalize_code(other) not in readable


def test_the_slip_prints_the_code_in_the_persons_language(as_facilitator, session):
    """The slip is one small page in Spanish for a Spanish card: code, how to withdraw, contact, no staff menu."""
    shown = enter(as_facilitator, session, {"answer": "Comida", "consent_read": "y"}, prompt=1, language="es")
    link = page(shown).select_one(".entry-receipt a")
    assert "Español" in link.get_text()
    slip = as_facilitator.get(link["href"])
    soup = page(slip)
    assert slip.status_code == 200
    assert (soup.html["lang"], soup.html["dir"]) == ("es", "ltr")
    card = soup.select_one("section.slip")
    assert card.select_one(".code").get_text(strip=True) == shown_receipt(shown)
    assert card.find("h1").get_text(strip=True) == "Su código de recibo"
    assert "/withdraw" in card.get_text() and "Ana at (336) 555-0142" in card.get_text()
    assert soup.select_one("nav") is None and soup.find("form") is None  # nothing to press: prints as it is
    assert soup.select_one(".no-print") is not None
    assert [link["href"] for link in soup.find_all("link", rel="stylesheet")] == ["/static/slip.css"]


def test_the_slip_is_right_to_left_for_an_arabic_card(as_facilitator, db):
    """A card typed in Arabic prints an Arabic slip, right to left, the code kept left to right."""
    session = make_session(db, languages=("en", "ar"), mode="live")
    enter(as_facilitator, session, {"answer": "مواصلات", "consent_read": "y"}, prompt=1, language="ar")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/entry/slip"))
    assert (soup.html["lang"], soup.html["dir"]) == ("ar", "rtl")
    assert soup.select_one(".slip .code")["dir"] == "ltr"


def test_without_a_new_person_there_is_no_slip(as_facilitator, session):
    """Before any entry the slip page says there is nothing to print."""
    response = as_facilitator.get(f"/staff/sessions/{session['id']}/entry/slip")
    assert response.status_code == 200
    assert page(response).select_one(".slip") is None
    assert "no receipt code to print" in text_of(response)


def test_a_withdrawn_card_no_longer_shows_its_receipt(as_facilitator, db, session):
    """Once the person has withdrawn, the entry page and the slip stop showing their code."""
    receipt = shown_receipt(enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y"}, prompt=1))
    assert receipt and page(as_facilitator.get(f"/staff/sessions/{session['id']}/entry/slip")).select_one(".slip")
    assert queries.withdraw(db, receipt).outcome == "withdrawn"
    assert shown_receipt(as_facilitator.get(f"/staff/sessions/{session['id']}/entry")) == ""
    assert page(as_facilitator.get(f"/staff/sessions/{session['id']}/entry/slip")).select_one(".slip") is None
