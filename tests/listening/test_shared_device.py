"""A shared phone or library computer: the receipt is not readable in the cookie, and the browser forgets the resident."""
import base64
import json
import zlib

import pytest

from listening import views
from tests.conftest import page, submit, text_of
from tests.factories import count, make_session


def cookie_payload(client) -> str:
    """Return the readable part of the Flask session cookie, as anyone holding the browser could decode it."""
    cookie = client.get_cookie("chorus")
    if cookie is None:
        return ""
    value = cookie.value
    compressed = value.startswith(".")
    data = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode("utf-8")


class Clock:
    """A stand-in for time.time() in the residents' views that tests can move forward."""

    def __init__(self, start: float = 1_900_000_000.0):
        """Start the clock at a fixed moment."""
        self.now = start

    def __call__(self) -> float:
        """Return the clock's current time, as time.time() would."""
        return self.now

    def advance(self, minutes: float) -> None:
        """Move the clock forward."""
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch):
    """A clock the residents' views read instead of the real one."""
    fake = Clock()
    monkeypatch.setattr(views.time, "time", fake)
    return fake


def finish(client, session, *, agree: bool = True) -> str:
    """Agree (unless done already), answer every question, reach the thank-you page and return the receipt it shows."""
    if agree:
        submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    submit(client, f"/s/{session['code']}/q/1", {"answer": "My aunt helps"})
    for number in range(2, 6):
        submit(client, f"/s/{session['code']}/q/{number}", {"action": "skip"})
    thanks = client.get(f"/s/{session['code']}/thanks")
    assert thanks.status_code == 200
    return page(thanks).select_one(".receipt .code").get_text(strip=True)


def test_the_cookie_never_holds_the_receipt_in_readable_form(client, db):
    """Decoding the signed cookie shows no receipt code, before or after finishing; it is not a 30-day cookie."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    shown = page(client.get(f"/s/{session['code']}/q/1")).select_one(".receipt-note .code").get_text(strip=True)
    assert shown and shown not in cookie_payload(client) and shown.replace("-", "") not in cookie_payload(client)
    receipt = finish(client, session, agree=False)
    assert receipt == shown
    assert receipt not in cookie_payload(client) and receipt.replace("-", "") not in cookie_payload(client)
    assert "r" in json.loads(cookie_payload(client))  # it is there, sealed
    assert client.get_cookie("chorus").expires is None  # gone when the browser closes


def test_forget_me_on_the_thank_you_page_ends_the_session_without_javascript(client, db):
    """The thank-you page's plain form forgets the browser: no receipt, no answers shown; the answers stay saved."""
    session = make_session(db)
    receipt = finish(client, session)
    form = page(client.get(f"/s/{session['code']}/thanks")).select_one("section.forget form")
    assert form["method"] == "post" and form["action"] == "/forget"
    assert form.find("button", type="submit") is not None
    data = {field["name"]: field["value"] for field in form.find_all("input", type="hidden")}
    response = client.post("/forget", data=data)
    assert response.status_code == 200
    assert page(response).find("h1").get_text(strip=True) == "This device has forgotten you"
    assert client.get_cookie("chorus") is None
    assert client.get(f"/s/{session['code']}/thanks").headers["Location"].endswith(f"/j/{session['code']}")
    review = client.get(f"/s/{session['code']}/q/1")
    assert review.headers["Location"].endswith("/consent")
    assert count(db, "responses") == 5
    assert submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"}).status_code == 200


def test_forget_me_stays_in_the_residents_language(client, db):
    """The confirmation after forgetting is in the language the resident chose, right to left for Arabic."""
    session = make_session(db, languages=("en", "ar"))
    client.get(f"/j/{session['code']}?lang=ar")
    finish(client, session)
    data = {f["name"]: f["value"] for f in page(client.get(f"/s/{session['code']}/thanks")).select("section.forget input")}
    assert data
    response = client.post("/forget", data=data)
    assert response.status_code == 200
    shown = page(response)
    assert (shown.html["lang"], shown.html["dir"]) == ("ar", "rtl")
    assert shown.find("h1").get_text(strip=True) == "نسيك هذا الجهاز"


def test_a_stale_forget_form_changes_nothing(client, db):
    """Without a valid form token the browser is not forgotten and is asked to press again."""
    session = make_session(db)
    finish(client, session)
    response = client.post("/forget", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get(f"/s/{session['code']}/thanks").status_code == 200


def test_the_receipt_shows_on_the_thank_you_page_right_after_finishing(client, db, clock):
    """Right after finishing (and on a reload) the receipt is there; ten idle minutes later the browser has forgotten."""
    session = make_session(db)
    receipt = finish(client, session)
    clock.advance(5)
    again = client.get(f"/s/{session['code']}/thanks")
    assert page(again).select_one(".receipt .code").get_text(strip=True) == receipt
    clock.advance(11)
    assert client.get(f"/s/{session['code']}/thanks").status_code == 302
    assert client.get(f"/s/{session['code']}/q/1").headers["Location"].endswith("/consent")


def test_an_idle_browser_forgets_the_resident_and_says_why(client, db, clock):
    """After 30 minutes without a page load the next visitor sees neither answers nor receipt, and is told why."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    submit(client, f"/s/{session['code']}/q/1", {"answer": "Private words"})
    clock.advance(29)
    assert "Private words" in page(client.get(f"/s/{session['code']}/q/1")).find("textarea").get_text()
    clock.advance(31)
    response = client.get(f"/s/{session['code']}/q/1")
    assert response.headers["Location"].endswith("/consent")
    consent = client.get(response.headers["Location"])
    assert "forgot you after 30 minutes without activity" in text_of(consent)
    assert "Private words" not in consent.get_data(as_text=True)
    assert count(db, "responses") == 1
    # ...and tells offline.js to drop what this browser still keeps to send for the session (shared device).
    assert page(consent).find(id="offline-status")["data-forget"] == session["code"]


def test_a_phone_in_an_open_live_session_stays_joined_while_people_wait(client, db, clock):
    """Between live questions a phone may wait a long time; it stays the same person until the session ends."""
    session = make_session(db, mode="live")
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    clock.advance(90)
    response = client.get(f"/s/{session['code']}/live")
    assert response.status_code == 200
    assert count(db, "participants") == 1
    from listening import queries

    queries.set_status(db, session["id"], "closed")
    clock.advance(31)
    client.get("/withdraw")
    assert "p" not in json.loads(cookie_payload(client) or "{}")


def test_a_live_phone_can_be_forgotten_between_questions(client, db):
    """A shared tablet in the room: the waiting page also offers "forget me"."""
    session = make_session(db, mode="live")
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    form = page(client.get(f"/s/{session['code']}/live")).select_one("section.forget form")
    assert form is not None and form["action"] == "/forget"
