"""Phones follow the facilitator in a live session, and never throw away words being typed."""
from __future__ import annotations

import pytest

from facilitation import live_queries
from listening import queries
from listening.db import connect
from tests.factories import make_session


@pytest.fixture
def live_session(live_server):
    """A live session on the browser server with its first question open."""
    db = connect(str(live_server.app.config["DATABASE"]))
    session = make_session(db, mode="live")
    prompts = queries.prompts_for_session(db, session["id"])
    live_queries.start_live(db, session["id"])
    live_queries.show_prompt(db, session["id"], prompts[0]["id"])
    yield db, session, prompts
    db.conn.close()


def join(page, code: str) -> None:
    """Agree to take part and land on the open question."""
    page.goto(f"/s/{code}/consent")
    page.check("input[name=take_part]")
    page.click("button[value=agree]")
    page.wait_for_url(f"**/s/{code}/q/1")


def test_phone_moves_to_the_question_the_facilitator_opens(open_page, live_session):
    """When the facilitator shows the next question, an idle phone goes there within a few seconds."""
    db, session, prompts = live_session
    page, _meter = open_page()
    join(page, session["code"])
    live_queries.show_prompt(db, session["id"], prompts[1]["id"])
    page.wait_for_url(f"**/s/{session['code']}/q/2", timeout=6_000)


def test_words_being_typed_are_not_thrown_away_when_the_facilitator_moves_on(open_page, live_session):
    """A phone with an unsent answer stays put, keeps the words, and says why it cannot send them."""
    db, session, prompts = live_session
    page, _meter = open_page()
    join(page, session["code"])
    page.fill("textarea[name=answer]", "Half of what I wanted to say")
    live_queries.show_prompt(db, session["id"], prompts[1]["id"])
    page.wait_for_selector("#follow-notice:not([hidden])", timeout=6_000)
    assert page.url.endswith(f"/s/{session['code']}/q/1")
    assert page.input_value("textarea[name=answer]") == "Half of what I wanted to say"
    assert page.evaluate("document.activeElement.id") == "follow-notice"


@pytest.mark.parametrize("attempt", range(3))
def test_a_phone_follows_within_two_seconds_end_to_end(open_page, live_session, attempt):
    """From the facilitator's change to the new question on the phone (cache, poll and page load) takes at most 2 s."""
    import time

    db, session, prompts = live_session
    page, _meter = open_page()
    join(page, session["code"])
    page.wait_for_timeout(300 * attempt)  # land at different points of the poll cycle
    started = time.monotonic()
    live_queries.show_prompt(db, session["id"], prompts[1]["id"])
    page.wait_for_url(f"**/s/{session['code']}/q/2", timeout=4_000, wait_until="domcontentloaded")
    assert time.monotonic() - started <= 2.0
