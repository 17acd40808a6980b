"""The console's wall queue in a real browser: A and H decide without a reload, buttons work without JavaScript."""
from __future__ import annotations

import secrets
import time

import pytest

from facilitation import live_queries
from listening import queries
from listening.db import connect
from tests.factories import make_participant, make_session, user_id

from .pages import axe_violations, click_and_wait

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def waiting(live_server):
    """A live session on the browser server, first question shown, with two quotable answers waiting."""
    db = connect(str(live_server.app.config["DATABASE"]))
    session = make_session(db, mode="live", created_by=user_id(db, live_server.email))  # the demo facilitator's
    prompt = queries.prompts_for_session(db, session["id"])[0]
    live_queries.start_live(db, session["id"])
    live_queries.show_prompt(db, session["id"], prompt["id"])
    ids = []
    for text in ("Dr. Patel listened to me", "More buses on Sunday"):
        person = make_participant(db, session, quote_ok=True)
        ids.append(queries.save_response(db, session_id=session["id"], participant_id=person.id,
                                         prompt_id=prompt["id"], nonce=secrets.token_urlsafe(12),
                                         language="en", text=text).response_id)
    yield db, session, ids
    db.conn.close()


def sign_in(page, live_server) -> None:
    """Sign the demo facilitator in."""
    page.goto("/staff/login")
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    click_and_wait(page, "main button[type=submit]")


def status_of(db, page, response_id: int, timeout: float = 20.0):
    """Wait for an answer's wall decision to be stored and return it (None if it never is).

    The wait goes through the page (``wait_for_timeout``), never ``time.sleep``: the meter routes
    every request of the page through a handler that runs in this thread, and only while this thread
    is inside a Playwright call. A plain sleep held a key's post back until the wait had given up,
    which is why the first press of A sometimes seemed lost in full runs (the post was only sent
    after the press returned when the machine was busy).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = db.execute("SELECT wall_status FROM responses WHERE id = ?", (response_id,)).fetchone()[0]
        if found is not None:
            return found
        page.wait_for_timeout(100)
    return None


def test_keys_a_and_h_decide_the_first_waiting_answer_without_a_reload(open_page, live_server, waiting):
    """A shows the first waiting answer on the projector, H keeps the next one off; the page stays put."""
    db, session, (first, second) = waiting
    page, _meter = open_page(viewport=LAPTOP)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    assert page.locator(".wall-queue li").first.inner_text().startswith("Dr. [name] listened to me")
    assert axe_violations(page) == []
    page.evaluate("window.__stayed = true")
    page.keyboard.press("a")
    assert status_of(db, page, first) == "approved"
    page.wait_for_function("() => document.querySelectorAll('.wall-queue li').length === 1")
    page.keyboard.press("h")
    assert status_of(db, page, second) == "declined"
    page.wait_for_function("() => document.querySelectorAll('.wall-queue li').length === 0")
    assert page.evaluate("window.__stayed") is True
    projector = page.request.get(f"/staff/sessions/{session['id']}/projector/panel").text()
    assert "Dr. [name] listened to me" in projector and "More buses" not in projector and "Patel" not in projector


def test_typing_a_in_a_text_box_decides_nothing(open_page, live_server, waiting):
    """The shortcut keys do nothing while the facilitator types a note."""
    db, session, (first, _second) = waiting
    page, _meter = open_page(viewport=LAPTOP)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    page.click("#note-body")
    page.keyboard.type("a hall with no fathers")
    assert status_of(db, page, first, timeout=1.0) is None


def test_the_buttons_work_without_javascript(open_page, live_server, waiting):
    """With JavaScript off, "Show on the projector" posts the form and the console comes back updated."""
    db, session, (first, _second) = waiting
    page, _meter = open_page(javascript=False, viewport=LAPTOP)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    click_and_wait(page, ".wall-queue li:first-child button[value=approve]")
    assert status_of(db, page, first) == "approved"
    assert page.locator(".wall-queue li").count() == 1
