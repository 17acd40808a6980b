"""The projector wall: a moderation queue (on by default), one-key approve and keep-off, and redaction."""
import re

import pytest

from facilitation import live_queries
from listening import live_state
from analysis.review import queries as synthesis
from listening import queries
from listening.db import connect
from listening.migrations import migrate, migrations
from tests.conftest import form_data, page, sign_in, submit, text_of
from tests.facilitation.test_live import act, answer_all, wall
from tests.factories import make_participant, make_session, share, user_id


@pytest.fixture(autouse=True)
def fresh_state_cache(app):
    """Each test starts with an empty per-worker state cache."""
    live_state.state_responses(app).cache.clear()


@pytest.fixture
def session(db, make_user):
    """A bilingual live session with the default wall setting, on its first (open) question, owned by the
    facilitator and shared with the planner."""
    found = make_session(db, mode="live", status="draft", created_by=user_id(db, make_user("facilitator")))
    share(db, found, make_user("planner"))
    return found


def started(client, session):
    """Start the session and show its first (open) question."""
    act(client, session, "start")
    act(client, session, "next")


def console(client, session):
    """Return the parsed console page."""
    return page(client.get(f"/staff/sessions/{session['id']}/live"))


def decide(client, session, response_id, action, **kwargs):
    """Press a wall button in the console (a plain form post, as without JavaScript)."""
    url = f"/staff/sessions/{session['id']}/live/wall"
    token = form_data(client.get(f"/staff/sessions/{session['id']}/live"), 0)
    return client.post(url, data={**token, "action": action, "response_id": response_id}, **kwargs)


def response_id(db, text):
    """Return the id of the answer with this text."""
    return db.execute("SELECT id FROM responses WHERE text = ?", (text,)).fetchone()[0]


def test_a_new_session_holds_answers_for_approval_by_default(as_facilitator, db):
    """The builder's box starts ticked and a session made without it said still moderates its wall."""
    soup = page(as_facilitator.get("/staff/sessions/new"))
    box = soup.find("input", id="wall_moderation")
    assert box is not None and box.has_attr("checked")
    assert soup.find("label", attrs={"for": "wall_moderation"}).get_text(strip=True)
    assert make_session(db, mode="live")["wall_moderation"] == 1


def test_the_builder_can_turn_moderation_off_and_it_is_logged(as_facilitator, db, session):
    """Unticking the box in a session's settings turns the queue off, with a log entry."""
    url = f"/staff/sessions/{session['id']}/settings"
    fields = {"default_language": "en", "languages": "es", "mode": "live", "timezone": "America/New_York",
              "minutes": "15", "contact": ""}
    assert submit(as_facilitator, url, fields).status_code == 302
    assert queries.session_by_id(db, session["id"])["wall_moderation"] == 0
    assert [r["action"] for r in live_queries.moderation_log(db, session["id"])] == ["wall_off"]
    submit(as_facilitator, url, {**fields, "wall_moderation": "y"})
    assert queries.session_by_id(db, session["id"])["wall_moderation"] == 1


def test_unapproved_answers_never_reach_the_projector(app, db, as_facilitator, session):
    """Waiting answers stay off the wall; the console counts them and shows each as the room would."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["More buses", "Call me at 336-555-0182"])
    answer_all(app, db, session, ["Not quotable"], quote_ok=False)
    assert wall(as_facilitator, session) == []
    soup = console(as_facilitator, session)
    assert soup.select_one('[data-count="waiting"]').get_text(" ", strip=True).startswith("2 ")
    waiting = [li.p.get_text(strip=True) for li in soup.select(".wall-queue li")]
    assert waiting == ["More buses", "Call me at [phone]"]
    assert "Not quotable" not in " ".join(waiting)


def test_approving_puts_an_answer_on_the_wall_and_keeping_it_off_does_not(app, db, as_facilitator, session):
    """Approve shows an answer; keep-off never does, and keeps it with the other answers."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["More buses", "Food bank hours"])
    assert decide(as_facilitator, session, response_id(db, "More buses"), "approve").status_code == 303
    assert decide(as_facilitator, session, response_id(db, "Food bank hours"), "decline").status_code == 303
    assert wall(as_facilitator, session) == ["More buses"]
    soup = console(as_facilitator, session)
    assert soup.select(".wall-queue li") == []
    assert soup.select_one('[data-count="waiting"]').get_text(" ", strip=True).startswith("0 ")
    kept = [r["text"] for r in live_queries.visible_responses(db, session["id"])]
    assert kept == ["More buses", "Food bank hours"]
    log = [(r["action"], r["email"]) for r in live_queries.moderation_log(db, session["id"])]
    assert log == [("decline", "facilitator@example.org"), ("approve", "facilitator@example.org")]
    audit = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'wall_%' ORDER BY id")]
    assert audit == ["wall_approve", "wall_decline"]


def test_hidden_and_withdrawn_answers_stay_off_the_wall_even_when_approved(app, db, as_facilitator, session):
    """An approved answer that is then hidden, or whose author withdraws, leaves the wall and the queue."""
    started(as_facilitator, session)
    people = answer_all(app, db, session, ["Kept", "Hidden later", "Withdrawn later"])
    for text in ("Kept", "Hidden later", "Withdrawn later"):
        decide(as_facilitator, session, response_id(db, text), "approve")
    live_queries.hide_response(db, session["id"], response_id(db, "Hidden later"), user_id=1, reason="test")
    queries.withdraw(db, people[2].receipt)
    assert wall(as_facilitator, session) == ["Kept"]
    hidden = response_id(db, "Hidden later")
    assert not live_queries.decide_wall(db, session["id"], hidden, approve=False, user_id=1)


def test_only_answers_from_people_who_allowed_quoting_can_be_approved(app, db, as_facilitator, session):
    """Approving an answer whose author did not allow quoting changes nothing."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["Private words"], quote_ok=False)
    decide(as_facilitator, session, response_id(db, "Private words"), "approve")
    assert db.execute("SELECT wall_status FROM responses").fetchone()[0] is None
    assert wall(as_facilitator, session) == []


def test_a_changed_answer_waits_for_approval_again(app, db, as_facilitator, session):
    """When a resident changes an approved answer, it leaves the wall until a facilitator approves the new words."""
    started(as_facilitator, session)
    person = answer_all(app, db, session, ["Good buses"])[0]
    decide(as_facilitator, session, response_id(db, "Good buses"), "approve")
    assert wall(as_facilitator, session) == ["Good buses"]
    prompt_id = queries.session_by_id(db, session["id"])["current_prompt_id"]
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt_id,
                          nonce="changed-answer-xxxx", language="en", text="Something else entirely")
    assert wall(as_facilitator, session) == []
    assert [li.p.get_text(strip=True) for li in console(as_facilitator, session).select(".wall-queue li")] == [
        "Something else entirely"]


def test_the_first_waiting_answer_has_one_key_shortcuts_and_buttons_that_work_without_script(
        app, db, as_facilitator, session):
    """A and H act on the first waiting answer; every answer has plain buttons; the script is a file."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["First", "Second"])
    soup = console(as_facilitator, session)
    first, second = soup.select(".wall-queue li")
    assert first.find("button", attrs={"data-key": "a"})["value"] == "approve"
    assert first.find("button", attrs={"data-key": "h"})["value"] == "decline"
    assert first.find("button", attrs={"data-key": "a"})["aria-keyshortcuts"] == "A"
    assert [k.get_text() for k in first.find_all("kbd")] == ["A", "H"]
    assert second.find("button", attrs={"data-key": True}) is None
    assert {b["value"] for b in second.find_all("button")} == {"approve", "decline"}
    assert all(f["method"] == "post" for f in soup.select("form.wall-decision"))
    assert soup.find("script", src="/static/moderation.js") is not None
    assert [s for s in soup.find_all("script") if not s.get("src")] == [] and soup.find(style=True) is None


def test_the_console_script_gets_a_bare_204_for_a_decision(app, db, as_facilitator, session):
    """A decision sent by the console's script is answered with 204 and no page, and no message is queued."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["By key"])
    answer = decide(as_facilitator, session, response_id(db, "By key"), "approve", headers={"X-Chorus-Console": "1"})
    assert answer.status_code == 204 and answer.get_data() == b""
    assert wall(as_facilitator, session) == ["By key"]
    assert "will show on the projector" not in text_of(as_facilitator.get(f"/staff/sessions/{session['id']}/live"))


def test_planners_cannot_approve_or_keep_off(app, db, client, make_user, session):
    """Note-takers signed in as planners see the queue but cannot decide."""
    queries.set_status(db, session["id"], "open")
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    live_queries.show_prompt(db, session["id"], prompt_id)
    answer_all(None, db, session, ["Waiting"])
    sign_in(client, make_user("planner"))
    soup = page(client.get(f"/staff/sessions/{session['id']}/live"))
    assert [li.p.get_text(strip=True) for li in soup.select(".wall-queue li")] == ["Waiting"]
    assert soup.select("form.wall-decision") == []
    token = form_data(client.get(f"/staff/sessions/{session['id']}/live"), -1)
    answer = client.post(f"/staff/sessions/{session['id']}/live/wall",
                         data={**token, "action": "approve", "response_id": response_id(db, "Waiting")})
    assert answer.status_code == 403
    assert db.execute("SELECT wall_status FROM responses").fetchone()[0] is None


@pytest.mark.parametrize("fields", [{"action": "approve", "response_id": "x"}, {"action": "dance", "response_id": "1"},
                                    {"action": "approve"}])
def test_bad_wall_requests_change_nothing_and_get_a_translated_error(app, db, as_facilitator, session, fields):
    """A malformed decision answers 400 with the translated error page, never a 500, and stores nothing."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["Untouched"])
    token = form_data(as_facilitator.get(f"/staff/sessions/{session['id']}/live?lang=es"), 0)
    answer = as_facilitator.post(f"/staff/sessions/{session['id']}/live/wall?lang=es", data={**token, **fields})
    assert answer.status_code == 400
    assert page(answer).find("html")["lang"] == "es"
    assert db.execute("SELECT wall_status FROM responses").fetchone()[0] is None


def test_an_answer_from_another_session_cannot_be_approved_here(app, db, as_facilitator, session):
    """A response id from a different session (the same facilitator's) changes nothing."""
    started(as_facilitator, session)
    other = make_session(db, mode="live", created_by=session["created_by"])
    person = make_participant(db, other, quote_ok=True)
    saved = queries.save_response(db, session_id=other["id"], participant_id=person.id,
                                  prompt_id=queries.prompts_for_session(db, other["id"])[0]["id"],
                                  nonce="elsewhere-xxxxxxxx", language="en", text="Elsewhere")
    decide(as_facilitator, session, saved.response_id, "approve")
    assert db.execute("SELECT wall_status FROM responses WHERE id = ?", (saved.response_id,)).fetchone()[0] is None


def test_turning_moderation_off_sends_answers_straight_to_the_wall_except_those_kept_off(
        app, db, as_facilitator, session):
    """With the queue off, answers not kept off go up at once; turning it on again holds new ones."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["Waiting one", "Kept off one"])
    decide(as_facilitator, session, response_id(db, "Kept off one"), "decline")
    decide(as_facilitator, session, None, "moderation_off")
    assert queries.session_by_id(db, session["id"])["wall_moderation"] == 0
    assert wall(as_facilitator, session) == ["Waiting one"]
    assert console(as_facilitator, session).select(".wall-queue li") == []
    decide(as_facilitator, session, None, "moderation_on")
    assert wall(as_facilitator, session) == []
    log = [r["action"] for r in live_queries.moderation_log(db, session["id"])]
    assert log == ["wall_on", "wall_off", "decline"]


def test_the_wall_shows_answers_through_the_same_redaction_as_reports(app, db, as_facilitator, session):
    """Names, phones, emails, addresses and bidi overrides never reach the projector; listed names neither."""
    synthesis.save_settings(db, session["id"], names="Rosa")
    started(as_facilitator, session)
    texts = ["Dr. Patel listened to me", "Email me at ana@example.org or 336-555-0182",
             "I live at 12 Main St. near the clinic", "Rosa drove me", "good\u202enurse"]
    answer_all(app, db, session, texts)
    for text in texts:
        decide(as_facilitator, session, response_id(db, text), "approve")
    shown = wall(as_facilitator, session)
    assert shown == ["Dr. [name] listened to me", "Email me at [email] or [phone]",
                     "I live at [address] near the clinic", "[name] drove me", "goodnurse"]
    redaction = synthesis.session_redaction(db, session["id"])
    assert shown == [redaction(t) for t in texts]
    full = as_facilitator.get(f"/staff/sessions/{session['id']}/projector").get_data(as_text=True)
    for secret in ("Patel", "ana@example.org", "0182", "12 Main", "Rosa", "\u202e"):
        assert secret not in full


def test_the_session_vocabulary_is_not_taken_for_names_on_the_wall(app, db, as_facilitator, session):
    """A capitalised word from the session's own wording stays on the wall after a cue."""
    queries.set_text(db, session["id"], "session", session["id"], "title", "en", "Listening with Nurse Navigators")
    started(as_facilitator, session)
    answer_all(app, db, session, ["The nurse Navigators helped, and nurse Keisha too"])
    decide(as_facilitator, session, response_id(db, "The nurse Navigators helped, and nurse Keisha too"), "approve")
    assert wall(as_facilitator, session) == ["The nurse Navigators helped, and nurse [name] too"]


def test_the_console_feed_says_what_the_room_sees_and_strips_bidi_controls(app, db, as_facilitator, session):
    """Each answer in the feed carries its wall state and, when redaction changes it, the redacted words."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["Ms. Johnson helped", "plain\u2066words"])
    answer_all(app, db, session, ["Not quotable"], quote_ok=False)
    soup = console(as_facilitator, session)
    items = {li["data-response"]: li for li in soup.select(".feed li")}
    johnson = items[str(response_id(db, "Ms. Johnson helped"))]
    assert johnson.select_one("[data-wall]")["data-wall"] == "waiting"
    assert "Ms. [name] helped" in johnson.get_text(" ", strip=True)
    plain = items[str(db.execute("SELECT id FROM responses WHERE text LIKE 'plain%'").fetchone()[0])]
    assert "\u2066" not in str(plain) and plain.p.get_text(strip=True) == "plainwords"
    private = items[str(response_id(db, "Not quotable"))]
    assert private.select_one("[data-wall]")["data-wall"] == "not_quotable"


def test_live_themes_leave_out_answers_kept_off_the_wall_and_redact_names(app, db, as_facilitator, session):
    """Draft themes for the room are made from redacted text, without answers kept off the wall."""
    started(as_facilitator, session)
    texts = ["bus rides to the clinic", "no bus on sunday", "the bus is late", "rides to appointments",
             "food at the clinic", "healthy food costs", "food for my kids", "fresh food nearby",
             "Dr. Oyelaran Oyelaran Oyelaran was great"]
    answer_all(app, db, session, [*texts, "kept off this answer"])
    decide(as_facilitator, session, response_id(db, "kept off this answer"), "decline")
    submit(as_facilitator, f"/staff/sessions/{session['id']}/live/themes", {"action": "draft"},
           get_url=f"/staff/sessions/{session['id']}/live", form_index=0)
    draft = live_queries.latest_live_themes(db, queries.session_by_id(db, session["id"])["current_prompt_id"])
    assert draft["answer_count"] == len(texts)
    labels = " ".join(t["label"] for t in draft["themes"]).casefold()
    assert "oyelaran" not in labels


def test_the_migration_moderates_existing_sessions_and_keeps_the_moderation_log(tmp_path):
    """Sessions made before m009 moderate their wall afterwards; earlier hides and restores are kept."""
    db = connect(str(tmp_path / "old.db"))
    migrations.apply(db, stop_before="m006_wall_moderation")
    db.execute("INSERT INTO sessions (code, mode, languages, timezone, created_at, updated_at) "
               "VALUES ('OLDONE', 'live', '[\"en\"]', 'America/New_York', '2026-01-01', '2026-01-01')")
    found = {"id": db.execute("SELECT id FROM sessions WHERE code = 'OLDONE'").fetchone()[0]}
    db.execute("INSERT INTO moderation_log (session_id, response_id, action, reason, user_id, at) "
               "VALUES (?, 7, 'hide', 'names a nurse', NULL, '2026-01-01T00:00:00')", (found["id"],))
    db.conn.commit()
    assert "m006_wall_moderation" in migrate(db)
    assert queries.session_by_id(db, found["id"])["wall_moderation"] == 1
    kept = [(r["action"], r["reason"]) for r in live_queries.moderation_log(db, found["id"])]
    assert kept == [("hide", "names a nurse")]
    assert re.search(r"'approve'", db.execute("SELECT sql FROM sqlite_master WHERE name = 'moderation_log'").fetchone()[0])


@pytest.mark.parametrize("scope", [None, "reports"])
def test_a_quote_permission_whose_words_did_not_name_the_screen_never_reaches_it(app, db, as_facilitator, session,
                                                                                 scope):
    """Someone who allowed quoting under words that named only reports (or under words nobody recorded, as
    before the choices were kept with each consent) is never queued, approved or shown on the room's
    screen, with the queue on or off; their words stay in the answers for reports."""
    started(as_facilitator, session)
    people = answer_all(app, db, session, ["Screen allowed", "Reports only"])
    db.execute("UPDATE consents SET quote_scope = ? WHERE participant_id = ?", (scope, people[1].id))
    db.conn.commit()
    waiting = [li.p.get_text(strip=True) for li in console(as_facilitator, session).select(".wall-queue li")]
    assert waiting == ["Screen allowed"]
    decide(as_facilitator, session, response_id(db, "Reports only"), "approve")
    assert db.execute("SELECT wall_status FROM responses WHERE text = 'Reports only'").fetchone()[0] is None
    decide(as_facilitator, session, None, "moderation_off")
    assert wall(as_facilitator, session) == ["Screen allowed"]
    kept = [r["text"] for r in live_queries.visible_responses(db, session["id"]) if r["quote_ok"]]
    assert kept == ["Screen allowed", "Reports only"]


def test_consents_recorded_before_the_choices_were_kept_have_no_scope_after_the_migration(tmp_path):
    """A quote permission recorded before m011 keeps its yes for reports but has no scope, so it is never
    taken to cover the room's screen."""
    db = connect(str(tmp_path / "old.db"))
    migrations.apply(db, stop_before="m011_consent_choices")
    db.execute("INSERT INTO sessions (code, mode, languages, timezone, created_at, updated_at) "
               "VALUES ('OLDTWO', 'live', '[\"en\"]', 'America/New_York', '2026-01-01', '2026-01-01')")
    db.execute("INSERT INTO consent_versions (session_id, version, language, body, created_at) "
               "VALUES (1, 1, 'en', 'Statement', '2026-01-01')")
    db.execute("INSERT INTO participants (session_id, receipt_hash, language, created_at) VALUES (1, 'h', 'en', '2026')")
    db.execute("INSERT INTO consents (participant_id, session_id, consent_version_id, version, language, method, "
               "take_part, quote_ok, given_at) VALUES (1, 1, 1, 1, 'en', 'self', 1, 1, '2026')")
    db.conn.commit()
    assert "m011_consent_choices" in migrate(db)
    row = db.execute("SELECT quote_ok, quote_scope, choice_labels FROM consents").fetchone()
    assert tuple(row) == (1, None, None)


def test_a_staff_translation_goes_up_beneath_its_answer_and_only_with_it(app, db, as_facilitator, session):
    """The console's queue and the projector wall show an interpreter's translation beneath the answer, marked and
    redacted like it, in its own language; the translation of an answer that may not go up never does."""
    started(as_facilitator, session)
    [yes] = answer_all(app, db, session, ["Nadie habla español en la clínica"])
    [no] = answer_all(app, db, session, ["No hay intérprete los domingos"], quote_ok=False)
    for text, into in (("Nadie habla español en la clínica", "Nobody speaks Spanish at the clinic, call 336-555-0182"),
                       ("No hay intérprete los domingos", "No interpreter on Sundays (Qwvhidden)")):
        with db.conn:
            db.execute("UPDATE responses SET language = 'es' WHERE text = ?", (text,))
            queries.store_answer_translation(db, response_id(db, text), into, language="en", user_id=None)
    queued = console(as_facilitator, session).select_one(".wall-queue li")
    assert queued.select_one(".translation").get_text(" ", strip=True) == "Translation: Nobody speaks Spanish at the clinic, call [phone]"
    assert decide(as_facilitator, session, response_id(db, "Nadie habla español en la clínica"), "approve").status_code == 303
    panel = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    [card] = panel.select(".wall li")
    assert card.span["lang"] == "es" and card.span.get_text(strip=True) == "Nadie habla español en la clínica"
    translated = card.select_one(".translation")
    assert translated["lang"] == "en"
    assert translated.get_text(" ", strip=True) == "Translation: Nobody speaks Spanish at the clinic, call [phone]"
    full = as_facilitator.get(f"/staff/sessions/{session['id']}/projector").get_data(as_text=True)
    assert "Qwvhidden" not in full and "0182" not in full
    assert "Qwvhidden" not in str(console(as_facilitator, session).select(".wall-queue"))
    assert yes.id != no.id


def test_a_translation_into_the_sessions_second_language_is_marked_and_tagged_in_that_language(app, db, as_facilitator, session):
    """An English answer translated into Spanish goes up with "Traducción:" and lang="es", not in the session's main
    language (a screen reader would read the Spanish words with an English voice)."""
    started(as_facilitator, session)
    answer_all(app, db, session, ["The bus never comes on Sundays"])
    with db.conn:
        queries.store_answer_translation(db, response_id(db, "The bus never comes on Sundays"),
                                         "El autobús nunca viene los domingos", language="es", user_id=None)
    assert decide(as_facilitator, session, response_id(db, "The bus never comes on Sundays"), "approve").status_code == 303
    [card] = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel")).select(".wall li")
    translated = card.select_one(".translation")
    assert translated["lang"] == "es"
    assert translated.get_text(" ", strip=True) == "Traducción: El autobús nunca viene los domingos"
