"""The console's "Draft themes" for a big room runs as a background job with the same result as in the request (issue 19)."""
from __future__ import annotations

import json

import pytest

from facilitation import live_jobs
from listening import jobs, live_state, queries
from tests.conftest import migrated_app, sign_in, submit
from tests.facilitation.test_live import act
from tests.facilitation.test_live_theme_consent import _answer, _person
from tests.factories import make_session, user_id


@pytest.fixture
def app(tmp_path):
    """Jobs run inside the request, and every session counts as big."""
    made = migrated_app(tmp_path / "t.db", JOBS_IMMEDIATE=True, JOBS_THRESHOLD=0)
    live_state.state_responses(made).cache.clear()
    return made


def test_a_live_draft_of_a_big_room_is_a_job_and_equals_a_draft_in_the_request(app, db, client, make_user):
    """Draft themes from the console: the job's page says it is ready, and its labels and sizes equal a direct draft's."""
    email = make_user("facilitator")
    session = make_session(db, mode="live", status="draft", wall_moderation=False, created_by=user_id(db, email))
    sign_in(client, email)
    act(client, session, "start")
    act(client, session, "next")
    for i in range(6):
        for topic in ("The bus to the clinic is late", "The doula program helped me", "We need an interpreter"):
            _answer(db, session, _person(db, session, quote_ok=True, scope="screen_and_reports"), f"{topic}, week {i}")
    console = f"/staff/sessions/{session['id']}/live"
    response = submit(client, f"{console}/themes", {"action": "draft"}, get_url=console, form_index=0)
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job = jobs.job_by_id(db, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert (job["kind"], job["state"]) == ("live_themes", "done")
    assert "A draft of themes is ready" in client.get(response.headers["Location"]).get_data(as_text=True)
    prompt_id = queries.session_by_id(db, session["id"])["current_prompt_id"]
    direct = live_jobs.draft_live_themes(db, session["id"], prompt_id, user_id=None)
    stored = {r[0]: json.loads(r[1]) for r in db.execute("SELECT id, themes FROM live_themes")}
    assert stored[job["result"]["draft"]] == stored[direct] and len(stored[direct]) >= 2


def test_a_live_draft_reads_staff_translations_as_the_review_does(db, make_user):
    """Answers an interpreter translated are drafted from the translation: a theme of Spanish answers is named on the
    screen from their translations (only those whose people let the screen quote them), like the review's themes."""
    email = make_user("facilitator")
    session = make_session(db, mode="live", status="open", wall_moderation=False, created_by=user_id(db, email))
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    db.execute("UPDATE sessions SET current_prompt_id = ? WHERE id = ?", (prompt_id, session["id"]))
    db.conn.commit()
    for i in range(6):
        for topic in ("The bus to the clinic is late", "We need an interpreter at the desk"):
            _answer(db, session, _person(db, session, quote_ok=True, scope="screen_and_reports"), f"{topic}, week {i}")
    spanish = [("La partera me ayudó mucho", "The Qwertz doula helped me a lot"),
               ("La partera vino a casa", "The Qwertz doula came to my home"),
               ("La partera me explicó todo", "The Qwertz doula explained everything"),
               ("Sin la partera no lo habría logrado", "Without the Qwertz doula I would not have made it"),
               ("La partera estuvo conmigo toda la noche", "The Qwertz doula stayed with me all night"),
               ("Quiero una partera la próxima vez", "I want a Qwertz doula next time")]
    for text, translation in spanish:
        person = _person(db, session, quote_ok=True, scope="screen_and_reports")
        saved = queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt_id,
                                      nonce=f"es-{text}", language="es", text=text)
        with db.conn:
            queries.store_answer_translation(db, saved.response_id, translation, language="en", user_id=None)
    draft = live_jobs.draft_live_themes(db, session["id"], prompt_id, user_id=None)
    labels = [t["label"] for t in json.loads(db.execute("SELECT themes FROM live_themes WHERE id = ?", (draft,)).fetchone()[0])]
    assert any("Qwertz" in label for label in labels), labels
    assert not any("partera" in label.casefold() for label in labels), labels


def test_a_live_draft_names_nothing_with_words_a_resident_took_back_while_it_worked(db, make_user, monkeypatch):
    """A resident rewrites their answer while the console's draft is made, and the engine named a theme with the words
    they took back: the room's screen reads the theme's key terms instead."""
    import dataclasses

    from analysis import themes as engine

    email = make_user("facilitator")
    session = make_session(db, mode="live", status="open", wall_moderation=False, created_by=user_id(db, email))
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    db.execute("UPDATE sessions SET current_prompt_id = ? WHERE id = ?", (prompt_id, session["id"]))
    db.conn.commit()
    people = []
    for i in range(6):
        for topic in ("Nurse Zorblax at the clinic was rude", "We need an interpreter at the desk"):
            person = _person(db, session, quote_ok=True, scope="screen_and_reports")
            _answer(db, session, person, f"{topic}, week {i}")
            people.append((person, f"{topic}, week {i}"))
    (person, words) = people[0]
    real = engine.find_themes

    def rewrite_meanwhile(answers, **kw):
        """The resident rewrites the answer while the engine works, which names a theme with its old words."""
        result = real(answers, **kw)
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt_id,
                              nonce="rewritten", text="Staff at the clinic", language="en")
        return dataclasses.replace(result, themes=(dataclasses.replace(result.themes[0], label=words), *result.themes[1:]))

    monkeypatch.setattr(engine, "find_themes", rewrite_meanwhile)
    draft = live_jobs.draft_live_themes(db, session["id"], prompt_id, user_id=None)
    labels = [t["label"] for t in json.loads(db.execute("SELECT themes FROM live_themes WHERE id = ?", (draft,)).fetchone()[0])]
    assert labels and words not in labels and not any("Zorblax" in label for label in labels), labels
