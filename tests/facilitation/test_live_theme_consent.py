"""The projector's draft theme names come only from people whose quote permission covers the room's screen."""
from __future__ import annotations

import secrets

import pytest

from facilitation import live_queries
from listening import live_state
from listening import queries
from tests.conftest import page, submit
from tests.factories import make_session, share, user_id
from tests.facilitation.test_live import act

SECRET = "waits are endless"


@pytest.fixture(autouse=True)
def fresh_state_cache(app):
    """Each test starts with an empty per-worker state cache."""
    live_state.state_responses(app).cache.clear()


@pytest.fixture
def session(db, make_user):
    """A live session whose wall is not moderated, owned by the facilitator."""
    found = make_session(db, mode="live", status="draft", wall_moderation=False,
                         created_by=user_id(db, make_user("facilitator")))
    share(db, found, make_user("planner"))
    return found


def _person(db, session, *, quote_ok: bool, scope: str | None):
    """Record a consent with a quote permission of the given scope."""
    statement = queries.current_consent(db, session["id"], "en")
    return queries.record_consent(db, session["id"], consent_version_id=statement["id"], language="en",
                                  nonce=secrets.token_urlsafe(12), quote_ok=quote_ok, contact_ok=False, contact=None,
                                  quote_scope=scope)


def _answer(db, session, person, text: str) -> None:
    """Save an answer to the session's current question."""
    queries.save_response(db, session_id=session["id"], participant_id=person.id,
                          prompt_id=queries.session_by_id(db, session["id"])["current_prompt_id"],
                          nonce=secrets.token_urlsafe(12), language="en", text=text)


def test_projector_theme_names_never_use_words_not_cleared_for_the_screen(db, as_facilitator, session):
    """Answers quotable in reports only (or not at all) shape the themes but never name them on the wall."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    for i in range(6):
        _answer(db, session, _person(db, session, quote_ok=True, scope="reports"), f"Zorblax clinic {SECRET}, week {i}")
        _answer(db, session, _person(db, session, quote_ok=False, scope=None), f"Zorblax clinic {SECRET} again, day {i}")
        _answer(db, session, _person(db, session, quote_ok=True, scope="screen_and_reports"),
                f"The doula program helped me after the birth, week {i}")
    themes_url = f"/staff/sessions/{session['id']}/live/themes"
    console_url = f"/staff/sessions/{session['id']}/live"
    submit(as_facilitator, themes_url, {"action": "draft"}, get_url=console_url, form_index=0)
    draft = live_queries.latest_live_themes(db, queries.session_by_id(db, session["id"])["current_prompt_id"])
    assert draft is not None and len(draft["themes"]) >= 2
    assert not [t for t in draft["themes"] if SECRET in t["label"].casefold()]
    assert any("zorblax" in t["label"].casefold() for t in draft["themes"])
    submit(as_facilitator, themes_url, {"action": "approve", "draft_id": draft["id"]}, get_url=console_url, form_index=0)
    panel = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    shown = " ".join(li.get_text(" ") for li in panel.select(".themes li"))
    assert shown and SECRET not in shown.casefold()


def test_an_answer_hidden_after_a_draft_was_approved_no_longer_names_a_theme_on_the_screen(db, as_facilitator, session):
    """A facilitator hides an answer (it names a nurse) after the room's draft took its words for a theme's name: the
    projector shows the theme's key terms instead, as it would after a withdrawal; kept off the wall, the same."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    people = [_person(db, session, quote_ok=True, scope="screen_and_reports") for _ in range(3)]
    for person, text in zip(people, ("Nurse Okafor ignored my sister at triage", "The bus pass helps", "Longer hours")):
        _answer(db, session, person, text)
    prompt_id = queries.session_by_id(db, session["id"])["current_prompt_id"]
    draft = live_queries.save_live_themes(db, session["id"], prompt_id,
                                          [{"label": "Nurse Okafor ignored my sister", "size": 9}, {"label": "Bus pass", "size": 8}],
                                          answer_count=17, user_id=None)
    live_queries.approve_live_themes(db, session["id"], draft, user_id=None)
    console_url = f"/staff/sessions/{session['id']}/live"

    def shown() -> str:
        live_state.state_responses(as_facilitator.application).cache.clear()
        panel = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
        return " ".join(li.get_text(" ") for li in panel.select(".themes li")).casefold()

    assert "okafor" in shown()
    rid = db.execute("SELECT id FROM responses WHERE text LIKE 'Nurse Okafor%'").fetchone()[0]
    submit(as_facilitator, f"/staff/sessions/{session['id']}/live/moderate",
           {"action": "hide", "response_id": rid, "reason": "Names a nurse"}, get_url=console_url, form_index=0)
    assert "okafor" not in shown() and "bus pass" in shown()


def test_an_answer_kept_off_the_wall_no_longer_names_a_theme_on_the_screen(db, as_facilitator, session):
    """Kept off the wall after the draft was approved, an answer's words leave the screen's theme names too (it stays
    in the analysis: the planners' themes keep their names)."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    person = _person(db, session, quote_ok=True, scope="screen_and_reports")
    _answer(db, session, person, "Nurse Okafor ignored my sister at triage")
    prompt_id = queries.session_by_id(db, session["id"])["current_prompt_id"]
    draft = live_queries.save_live_themes(db, session["id"], prompt_id, [{"label": "Nurse Okafor ignored my sister", "size": 9}],
                                          answer_count=9, user_id=None)
    live_queries.approve_live_themes(db, session["id"], draft, user_id=None)
    rid = db.execute("SELECT id FROM responses WHERE text LIKE 'Nurse Okafor%'").fetchone()[0]
    assert live_queries.decide_wall(db, session["id"], rid, approve=False, user_id=None)
    [theme] = live_queries.latest_live_themes(db, prompt_id, approved=True)["themes"]
    assert "okafor" not in theme["label"].casefold()
