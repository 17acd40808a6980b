"""The console in a real browser: a presentation clicker or laptop keys pace the room, and closing asks first."""
from __future__ import annotations

import pytest

from facilitation import live_queries
from listening import queries
from listening.db import connect
from tests.factories import make_session, user_id

from .test_wall_moderation import LAPTOP, sign_in


@pytest.fixture
def running(live_server):
    """A started live session of the demo facilitator's, on the join screen."""
    db = connect(str(live_server.app.config["DATABASE"]))
    session = make_session(db, mode="live", created_by=user_id(db, live_server.email))
    live_queries.start_live(db, session["id"])
    yield db, session
    db.conn.close()


def room(db, session) -> dict:
    """Read what the room is showing: question number (0 for the join screen), answering, paused, status."""
    found = queries.session_by_id(db, session["id"])
    prompts = {p["id"]: p["number"] for p in queries.prompts_for_session(db, session["id"])}
    return {"number": prompts.get(found["current_prompt_id"], 0), "answering": bool(found["answering_open"]),
            "paused": bool(found["paused"]), "status": found["status"]}


def press(page, key: str) -> None:
    """Press a key that reloads the console and wait for the new page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_a_clicker_paces_the_room(open_page, live_server, running):
    """Page Down shows the next question, Page Up the previous, O closes answering, B pauses and resumes."""
    db, session = running
    page, _meter = open_page(viewport=LAPTOP)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    press(page, "PageDown")
    press(page, "PageDown")
    assert room(db, session) == {"number": 2, "answering": True, "paused": False, "status": "open"}
    press(page, "PageUp")
    assert room(db, session)["number"] == 1
    press(page, "o")
    assert room(db, session)["answering"] is False
    press(page, "o")
    assert room(db, session)["answering"] is True
    press(page, "b")
    assert room(db, session)["paused"] is True
    press(page, ".")
    assert room(db, session)["paused"] is False


def test_keys_do_nothing_while_typing_a_note(open_page, live_server, running):
    """Typing "o" or "b" in the note box, or pressing arrows there, never moves the room."""
    db, session = running
    page, _meter = open_page(viewport=LAPTOP)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    page.click("#note-body")
    page.keyboard.type("o b . ")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("PageDown")
    page.wait_for_timeout(500)  # not time.sleep: the page's requests pass through this thread (harness.Meter)
    assert room(db, session)["number"] == 0 and room(db, session)["paused"] is False


def test_closing_asks_first_sits_apart_from_the_equity_pause_and_can_be_undone(open_page, live_server, running):
    """The close button is hidden in a confirmation apart from the pause buttons; "Yes, close" closes; Undo reopens."""
    db, session = running
    page, _meter = open_page(viewport=LAPTOP, javascript=False)
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{session['id']}/live")
    assert not page.is_visible("button[value=close]")
    assert page.locator(".pacing button[value=close], .reflection button[value=close]").count() == 0
    page.click("details.close-session summary")
    with page.expect_navigation():
        page.click("button[value=close]")
    assert room(db, session)["status"] == "closed"
    with page.expect_navigation():
        page.click("button[value=undo_close]")
    assert room(db, session)["status"] == "open"
