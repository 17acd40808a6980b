"""Live sessions: the console paces the room, phones follow, the projector shows only what it may."""
from datetime import datetime, timedelta, timezone

import pytest

from facilitation import live_queries
from listening import live_state
from listening import queries
from tests.conftest import form_data, page, sign_in, submit, text_of
from tests.factories import count, make_participant, make_session, share, user_id


@pytest.fixture(autouse=True)
def fresh_state_cache(app):
    """Each test starts with an empty per-worker state cache."""
    live_state.state_responses(app).cache.clear()


@pytest.fixture
def session(db, make_user):
    """A bilingual live session in draft, not yet started, whose wall is not moderated, owned by the
    facilitator and shared with the planner.

    The wall's approval queue (on by default) has its own tests in test_wall.py; these test
    what the wall shows once answers may go on it.
    """
    found = make_session(db, mode="live", status="draft", wall_moderation=False,
                         created_by=user_id(db, make_user("facilitator")))
    share(db, found, make_user("planner"))
    return found


def act(client, session, action, **fields):
    """Press a console button."""
    url = f"/staff/sessions/{session['id']}/live"
    return submit(client, url, {"action": action, **fields}, form_index=0)


def resident(app, db, session, language="en"):
    """A phone that has agreed to take part in a session."""
    phone = app.test_client()
    submit(phone, f"/s/{session['code']}/consent?lang={language}", {"action": "agree", "take_part": "y"})
    return phone


def state(client, session):
    """Read the state a phone follows."""
    live_state.state_responses(client.application).cache.clear()
    return client.get(f"/s/{session['code']}/state.json").get_json()


def test_a_facilitator_starts_and_shows_questions_and_phones_follow(app, db, as_facilitator, session):
    """Start, Next and Previous move the room, and a phone's live page goes to the open question."""
    assert act(as_facilitator, session, "start").status_code == 303
    phone = resident(app, db, session)
    assert state(phone, session)["prompt"] is None
    assert "/live" not in phone.get(f"/s/{session['code']}/live").headers.get("Location", "")
    act(as_facilitator, session, "next")
    assert state(phone, session)["prompt"] == 1 and state(phone, session)["open"] is True
    assert phone.get(f"/s/{session['code']}/live").headers["Location"].endswith(f"/s/{session['code']}/q/1")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "previous")
    assert state(phone, session)["prompt"] == 1
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'live_%' ORDER BY id")]
    assert actions == ["live_start", "live_next", "live_next", "live_previous"]


def test_state_changes_are_facilitator_only(app, db, client, make_user, session):
    """A planner (or a stranger) cannot start, pause or move a live session."""
    queries.set_status(db, session["id"], "open")
    before = queries.session_by_id(db, session["id"])
    stranger = app.test_client().post(f"/staff/sessions/{session['id']}/live", data={"action": "next"})
    assert stranger.status_code == 302
    sign_in(client, make_user("planner"))
    token = form_data(client.get(f"/staff/sessions/{session['id']}/live"), 0)
    for action in ("next", "pause", "close", "equity_on", "timer"):
        response = client.post(f"/staff/sessions/{session['id']}/live", data={**token, "action": action, "minutes": "3"})
        assert response.status_code == 403
    after = queries.session_by_id(db, session["id"])
    assert (after["state_version"], after["current_prompt_id"], after["status"]) == (
        before["state_version"], before["current_prompt_id"], before["status"])


def test_the_state_endpoint_answers_repeats_with_304(app, db, as_facilitator, session):
    """A phone asking again with the ETag it has gets 304 and no body until something changes."""
    act(as_facilitator, session, "start")
    phone = app.test_client()
    first = phone.get(f"/s/{session['code']}/state.json")
    etag = first.headers["ETag"]
    again = phone.get(f"/s/{session['code']}/state.json", headers={"If-None-Match": etag})
    assert (again.status_code, again.get_data()) == (304, b"")
    act(as_facilitator, session, "next")
    changed = phone.get(f"/s/{session['code']}/state.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["prompt"] == 1


def test_the_state_endpoint_reads_the_database_once_per_cache_period(app, db, session, monkeypatch):
    """Many polls within the cache period read the session's state from the database once."""
    queries.set_status(db, session["id"], "open")
    calls = []
    real = live_state.live_state
    monkeypatch.setattr(live_state, "live_state", lambda db, code: calls.append(code) or real(db, code))
    phone = app.test_client()
    for _ in range(20):
        assert phone.get(f"/s/{session['code']}/state.json").status_code == 200
    assert len(calls) == 1
    assert phone.get("/s/NOSUCH/state.json").status_code == 404


def test_the_state_version_goes_up_whoever_changes_the_session(db, session):
    """Changing status, question, answering or pause bumps the counter; unrelated edits do not."""
    version = lambda: queries.session_by_id(db, session["id"])["state_version"]  # noqa: E731
    start = version()
    queries.update_session(db, session["id"], minutes=30)
    assert version() == start
    queries.set_status(db, session["id"], "open")
    live_queries.pause_live(db, session["id"])
    assert version() == start + 2


def test_a_resident_cannot_answer_a_closed_question(app, db, as_facilitator, session):
    """After the facilitator closes answering, an answer is refused with a clear message and nothing is stored."""
    act(as_facilitator, session, "start")
    phone = resident(app, db, session)
    act(as_facilitator, session, "next")
    shown = phone.get(f"/s/{session['code']}/q/1")
    act(as_facilitator, session, "close_answering")
    response = phone.post(f"/s/{session['code']}/q/1", data={**form_data(shown), "answer": "too late"})
    assert response.status_code == 409
    assert "Answering for this question has closed, so your answer was not saved." in text_of(response)
    assert count(db, "responses") == 0


def test_after_answering_a_phone_waits_and_says_thanks(app, db, as_facilitator, session):
    """A resident who answered the open question sees a thank-you waiting page that follows the room."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    phone = resident(app, db, session)
    done = submit(phone, f"/s/{session['code']}/q/1", {"answer": "Rides to clinic"})
    assert done.headers["Location"].endswith("/live")
    waiting = phone.get(f"/s/{session['code']}/live")
    assert waiting.status_code == 200
    assert "Thank you. Your answer is saved." in text_of(waiting)
    follow = page(waiting).find(id="follow")
    assert follow["data-screen"] == state(phone, session)["screen"]
    assert follow["data-state"] == f"/s/{session['code']}/state.json"
    assert page(waiting).find("script", src="/static/follow.js") is not None
    act(as_facilitator, session, "next")
    assert state(phone, session)["screen"] != follow["data-screen"]
    assert phone.get(f"/s/{session['code']}/live").headers["Location"].endswith("/q/2")


def test_the_answer_page_of_a_live_question_carries_the_follow_key(app, db, as_facilitator, session):
    """The question page knows which screen it is, so it moves on when the room does."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    phone = resident(app, db, session)
    follow = page(phone.get(f"/s/{session['code']}/q/1")).find(id="follow")
    assert follow["data-screen"] == state(phone, session)["screen"]


def test_pausing_tells_phones_and_closes_answering(app, db, as_facilitator, session):
    """A pause closes answering and the waiting page says the session is paused."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "pause")
    phone = resident(app, db, session)
    assert state(phone, session)["paused"] is True and state(phone, session)["open"] is False
    waiting = phone.get(f"/s/{session['code']}/live")
    assert "The session is paused." in text_of(waiting)
    act(as_facilitator, session, "resume")
    act(as_facilitator, session, "open_answering")
    assert state(phone, session)["open"] is True


def test_two_consoles_see_the_same_state(app, db, as_facilitator, make_user, session):
    """A note-taker's console shows the question the facilitator just opened."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "next")
    other = app.test_client()
    share(db, session, make_user("planner", "notes@example.org"))
    sign_in(other, "notes@example.org")
    soup = page(other.get(f"/staff/sessions/{session['id']}/live"))
    assert soup.find("li", attrs={"aria-current": "step"}).get_text(" ", strip=True).startswith("How do you travel? [en]")
    assert soup.find("button", attrs={"value": "next"}) is None  # a note-taker gets no controls


def answer_all(app, db, session, texts, quote_ok=True):
    """Have residents answer the current (open) question directly; return their participants."""
    people = []
    for i, text in enumerate(texts):
        person = make_participant(db, session, quote_ok=quote_ok)
        queries.save_response(db, session_id=session["id"], participant_id=person.id,
                              prompt_id=queries.session_by_id(db, session["id"])["current_prompt_id"],
                              nonce=f"n{i}-{person.id}xxxxxx", language="en", text=text)
        people.append(person)
    return people


def wall(client, session):
    """Return the answers on the projector's wall."""
    soup = page(client.get(f"/staff/sessions/{session['id']}/projector/panel"))
    return [li.get_text(strip=True) for li in soup.select(".wall li")]


def test_moderation_hides_and_restores_and_is_logged(app, db, as_facilitator, session):
    """Hiding needs a reason; hide and restore are logged with who, when and why."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    answer_all(app, db, session, ["Rides", "Food"])
    rid = db.execute("SELECT id FROM responses WHERE text = 'Food'").fetchone()[0]
    url = f"/staff/sessions/{session['id']}/live/moderate"
    get_url = f"/staff/sessions/{session['id']}/live"
    submit(as_facilitator, url, {"action": "hide", "response_id": rid, "reason": ""}, get_url=get_url, form_index=0)
    assert db.execute("SELECT hidden_at FROM responses WHERE id = ?", (rid,)).fetchone()[0] is None
    hidden = submit(as_facilitator, url, {"action": "hide", "response_id": rid, "reason": "Names a nurse"},
                    get_url=get_url, form_index=0)
    assert hidden.status_code == 303 and hidden.headers["Location"].endswith(f"/sessions/{session['id']}/live#feed")
    assert wall(as_facilitator, session) == ["Rides"]
    submit(as_facilitator, url, {"action": "restore", "response_id": rid}, get_url=get_url, form_index=0)
    assert sorted(wall(as_facilitator, session)) == ["Food", "Rides"]
    log = [dict(r) for r in db.execute("SELECT m.action, m.reason, u.email FROM moderation_log m JOIN users u ON u.id = m.user_id ORDER BY m.id")]
    assert log == [{"action": "hide", "reason": "Names a nurse", "email": "facilitator@example.org"},
                   {"action": "restore", "reason": "", "email": "facilitator@example.org"}]
    audit = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'answer_%' ORDER BY id")]
    assert audit == ["answer_hide", "answer_restore"]


def test_a_reason_longer_than_the_box_allows_is_refused_with_a_clear_message_and_hides_nothing(
        app, db, as_facilitator, session):
    """The reason box stops at 500 characters; a forged longer reason is refused, not cut, and nothing is hidden or logged."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    answer_all(app, db, session, ["Food"])
    rid = db.execute("SELECT id FROM responses WHERE text = 'Food'").fetchone()[0]
    url = f"/staff/sessions/{session['id']}/live/moderate"
    get_url = f"/staff/sessions/{session['id']}/live"
    refused = submit(as_facilitator, url, {"action": "hide", "response_id": rid, "reason": "x" * 501},
                     get_url=get_url, form_index=0, follow_redirects=True)
    assert "Please use 500 characters or fewer." in refused.get_data(as_text=True)
    assert db.execute("SELECT hidden_at FROM responses WHERE id = ?", (rid,)).fetchone()[0] is None
    assert db.execute("SELECT count(*) FROM moderation_log").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'answer_%'").fetchone()[0] == 0
    submit(as_facilitator, url, {"action": "hide", "response_id": rid, "reason": "y" * 500}, get_url=get_url, form_index=0)
    stored = db.execute("SELECT reason FROM moderation_log").fetchone()[0]
    audited = db.execute("SELECT detail FROM audit_log WHERE action = 'answer_hide'").fetchone()[0]
    assert stored == "y" * 500 and audited == f"response={rid} reason={'y' * 500}"


def test_the_projector_never_shows_hidden_answers_or_people_who_withdrew(app, db, as_facilitator, session):
    """Hidden answers, withdrawn participants and people who did not allow quoting stay off the wall."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    people = answer_all(app, db, session, ["Kept", "Hidden one", "Withdrawn one"])
    answer_all(app, db, session, ["Not quotable"], quote_ok=False)
    hidden = db.execute("SELECT id FROM responses WHERE text = 'Hidden one'").fetchone()[0]
    live_queries.hide_response(db, session["id"], hidden, user_id=1, reason="test")
    queries.withdraw(db, people[2].receipt)
    assert wall(as_facilitator, session) == ["Kept"]
    full = text_of(as_facilitator.get(f"/staff/sessions/{session['id']}/projector"))
    assert "Hidden one" not in full and "Withdrawn one" not in full and "Not quotable" not in full
    visible = [r["text"] for r in live_queries.visible_responses(db, session["id"])]
    assert visible == ["Kept", "Not quotable"]


def test_the_projector_shows_the_join_screen_in_every_language_before_the_start(as_facilitator, session):
    """Before the first question: a QR code, the join code and instructions in each language."""
    act(as_facilitator, session, "start")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector"))
    assert soup.select_one(".join .code").get_text(strip=True) == session["code"]
    assert soup.select_one(".qr svg") is not None
    assert [div["lang"] for div in soup.select(".join .blocks > div")] == ["en", "es"]
    english = soup.select_one(".join .blocks > div[lang=en]").get_text(" ", strip=True)
    assert "Or go to http://localhost and type the code:" in english  # the site's address, not the join path
    assert soup.find("script", src="/static/projector.js") is not None
    assert soup.find(style=True) is None


def test_the_projector_shows_a_question_in_every_language_with_a_bar_chart(app, db, as_facilitator, session):
    """A choice question shows its wording in each language and a bar per option with counts."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "show", number="2")
    prompt = queries.prompts_for_session(db, session["id"])[1]
    car, bus, _walk = [o["id"] for o in prompt["options"]]
    for i, choice in enumerate([car, car, bus]):
        person = make_participant(db, session)
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                              nonce=f"bars-{i}-xxxxxxxx", language="en", choices=[choice])
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    wording = soup.select(".question h1, .question .other-language")
    assert [(w.name, w["lang"], w.get_text(strip=True)) for w in wording] == [
        ("h1", "en", "How do you travel? [en]"), ("p", "es", "How do you travel? [es]")]
    assert [li.select_one(".count").get_text(strip=True) for li in soup.select(".bars li")] == ["2 (67%)", "1 (33%)", "0 (0%)"]
    assert [li.select_one("rect")["width"] for li in soup.select(".bars li")] == ["67", "33", "0.5"]
    assert [[(s["class"][0], s["lang"], s.get_text(strip=True)) for s in li.select(".label [lang]")]
            for li in soup.select(".bars li")] == [
        [("main", "en", f"{o} [en]"), ("other", "es", f"{o} [es]")] for o in ("Car", "Bus", "Walk")]


def test_an_equity_pause_shows_a_reflection_and_keeps_notes(app, db, as_facilitator, make_user, session):
    """The equity pause puts a reflection on the projector in every language; a note-taker's notes are kept."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "equity_on")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert [p["lang"] for p in soup.select(".pause .big")] == ["en", "es"]
    notetaker = app.test_client()
    share(db, session, make_user("planner", "notes@example.org"))
    sign_in(notetaker, "notes@example.org")
    submit(notetaker, f"/staff/sessions/{session['id']}/live/notes",
           {"topic": "absent", "body": "No fathers in the room"}, get_url=f"/staff/sessions/{session['id']}/live")
    notes = [(n["topic"], n["body"], n["email"]) for n in live_queries.equity_notes(db, session["id"])]
    assert notes == [("absent", "No fathers in the room", "notes@example.org")]


def test_live_counts_break_down_by_language_and_source(db, session):
    """Counts of people and answers split by language and by source."""
    queries.set_status(db, session["id"], "open")
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    live_queries.show_prompt(db, session["id"], prompt_id)
    make_participant(db, session, language="es")
    live_queries.enter_answer(db, session["id"], prompt_id=prompt_id, language="es", source="paper", user_id=None,
                              nonce="paper-one-xxxx", text="Comida")
    counts = live_queries.live_counts(db, session["id"], prompt_id)
    assert (counts["consented"], counts["answered"]) == (2, 1)
    assert counts["people_by_source"] == {"paper": 1, "phone": 1}
    assert counts["answers_by_language"] == {"es": 1}


def test_draft_themes_reach_the_projector_only_after_approval(app, db, as_facilitator, session):
    """Drafted themes wait for a facilitator's approval, and the projector shows labels and sizes, never quotes."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    texts = ["bus rides to the clinic", "no bus on sunday", "the bus is late", "rides to appointments",
             "food at the clinic", "healthy food costs", "food for my kids", "fresh food nearby", "doula support"]
    answer_all(app, db, session, texts)
    themes_url = f"/staff/sessions/{session['id']}/live/themes"
    console_url = f"/staff/sessions/{session['id']}/live"
    submit(as_facilitator, themes_url, {"action": "draft"}, get_url=console_url, form_index=0)
    draft = live_queries.latest_live_themes(db, queries.session_by_id(db, session["id"])["current_prompt_id"])
    assert draft is not None and draft["approved_at"] is None and draft["answer_count"] == 9
    assert all(set(t) == {"label", "size"} for t in draft["themes"])
    panel = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert panel.select(".themes li") == [] and len(panel.select(".wall li")) == 9
    submit(as_facilitator, themes_url, {"action": "approve", "draft_id": draft["id"]}, get_url=console_url, form_index=0)
    panel = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert len(panel.select(".themes li")) == len(draft["themes"]) and panel.select(".wall li") == []


def test_console_and_projector_work_without_inline_script_or_style(as_facilitator, session):
    """The console has a refresh link and no inline scripts or style attributes."""
    act(as_facilitator, session, "start")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/live"))
    assert soup.find("a", string="Refresh")["href"] == f"/staff/sessions/{session['id']}/live"
    assert [s for s in soup.find_all("script") if not s.get("src")] == []
    assert soup.find(style=True) is None


def test_a_cached_state_response_carries_the_same_headers_and_no_cookie(app, db, session):
    """A poll answered from the cache has the app's security headers, its ETag, and never sets a cookie."""
    queries.set_status(db, session["id"], "open")
    phone = app.test_client()
    first = phone.get(f"/s/{session['code']}/state.json?lang=es")
    cached = phone.get(f"/s/{session['code']}/state.json")
    assert cached.get_json() == first.get_json()
    for name in ("ETag", "Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"):
        assert cached.headers.get(name) == first.headers.get(name), name
    assert "Set-Cookie" not in cached.headers
    conditional = phone.get(f"/s/{session['code']}/state.json", headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 304 and conditional.headers["ETag"] == first.headers["ETag"]


def test_the_session_overview_links_to_the_console_projector_and_entry(as_facilitator, session):
    """A facilitator finds the live console, the projector and staff entry from the session page."""
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}"))
    links = {a["href"] for a in soup.find_all("a")}
    for path in ("live", "projector", "entry"):
        assert f"/staff/sessions/{session['id']}/{path}" in links


def test_the_room_timer_takes_one_to_one_hundred_and_twenty_minutes(db, as_facilitator, session):
    """A 120-minute timer runs; 0 and 121 are refused with a message and change nothing."""
    act(as_facilitator, session, "start")
    assert act(as_facilitator, session, "timer", minutes="121").status_code == 303
    assert queries.session_by_id(db, session["id"])["timer_ends_at"] is None
    act(as_facilitator, session, "timer", minutes="0")
    assert queries.session_by_id(db, session["id"])["timer_ends_at"] is None
    act(as_facilitator, session, "timer", minutes="120")
    assert queries.session_by_id(db, session["id"])["timer_ends_at"] is not None


def test_showing_question_ten_shows_question_ten(db, as_facilitator, make_user):
    """With more than nine questions, 'show 10' opens the tenth, not the first whose number sorts after it."""
    owned = make_session(db, mode="live", status="draft", wall_moderation=False,
                         created_by=user_id(db, make_user("facilitator")),
                         prompts=[{"kind": "open", "text": f"Question {n}"} for n in range(1, 12)])
    act(as_facilitator, owned, "start")
    act(as_facilitator, owned, "show", number="10")
    current = queries.session_by_id(db, owned["id"])["current_prompt_id"]
    assert [p["number"] for p in queries.prompts_for_session(db, owned["id"]) if p["id"] == current] == [10]


def test_the_join_screen_button_takes_the_room_back_to_the_qr_code(db, as_facilitator, session):
    """'Join screen' clears the question shown, so the projector shows the join code again."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "join_screen")
    assert queries.session_by_id(db, session["id"])["current_prompt_id"] is None


def test_unknown_console_and_moderation_actions_are_a_clear_400(db, as_facilitator, session):
    """A made-up action on the console or in moderation is refused with 400 and changes nothing."""
    act(as_facilitator, session, "start")
    before = queries.session_by_id(db, session["id"])["state_version"]
    assert act(as_facilitator, session, "explode").status_code == 400
    url = f"/staff/sessions/{session['id']}/live/moderate"
    for made_up in ("explode", "unhide", "show"):  # names before and after the real ones ("hide", "restore")
        moderated = submit(as_facilitator, url, {"action": made_up, "response_id": "1"},
                           get_url=f"/staff/sessions/{session['id']}/live", form_index=0)
        assert moderated.status_code == 400
    assert queries.session_by_id(db, session["id"])["state_version"] == before


def test_showing_a_question_number_the_session_does_not_have_is_a_400_that_changes_nothing(db, as_facilitator, session):
    """A forged "show question 99" (or no number) is refused with 400: the room keeps what it showed."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "show", number="1")
    before = queries.session_by_id(db, session["id"])
    for number in ("99", "0", "", "1.0"):
        assert act(as_facilitator, session, "show", number=number).status_code == 400
    after = queries.session_by_id(db, session["id"])
    assert (after["current_prompt_id"], after["state_version"]) == (before["current_prompt_id"], before["state_version"])


def test_the_wall_shows_the_newest_thirty_quotes(app, db, as_facilitator, session):
    """With 31 quotable answers the wall shows 30, dropping the oldest."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    answer_all(app, db, session, [f"Idea {n:02d}" for n in range(31)])
    shown = wall(as_facilitator, session)
    assert len(shown) == 30 and "Idea 00" not in shown and "Idea 30" in shown


def test_showing_a_question_ends_the_equity_pause(as_facilitator, session):
    """After an equity pause, Next puts the question on the projector: the reflection leaves the screen."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "equity_on")
    act(as_facilitator, session, "next")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert soup.select(".pause") == [] and soup.select_one(".question h1").get_text(strip=True) == "What helps you? [en]"


def test_the_projector_footer_shows_the_code_the_count_and_whether_answering_is_open(as_facilitator, db, session):
    """Every question screen has a footer: join code and address, answers so far, and "Answering is closed" once closed."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    person = make_participant(db, session)
    prompt = queries.prompts_for_session(db, session["id"])[0]
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="footer-xxxxxxxxxx", language="en", text="Rides")
    footer = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel")).select_one(".room-footer")
    assert footer.select_one(".code").get_text(strip=True) == session["code"]
    assert footer.select_one(".url").get_text(strip=True).endswith(f"/j/{session['code']}")
    assert [s.get_text(strip=True) for s in footer.select(".answers [lang]")][0] == "1 answer so far"
    assert footer.select_one(".state")["class"] == ["state", "is-open"]
    act(as_facilitator, session, "close_answering")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    state = soup.select_one(".room-footer .state")
    assert "is-closed" in state["class"]
    assert [s["lang"] for s in state.select("[lang]")] == ["en", "es"]
    assert state.select_one("[lang=en]").get_text(strip=True) == "Answering is closed"
    assert "answering-closed" in soup.select_one(".screen")["class"]


def test_after_the_session_closes_the_projector_thanks_the_room(as_facilitator, session):
    """Closing the session puts a thank-you and what happens next on the projector, in every language, with no QR code."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "close")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    blocks = soup.select(".thanks .thanks-block")
    assert [b["lang"] for b in blocks] == ["en", "es"]
    assert blocks[0].select_one(".big").get_text(strip=True) == "Thank you for taking part."
    # The site's address without its scheme, as a person would type it: "localhost/withdraw".
    assert "Take your answers back at localhost/withdraw with your receipt code." in blocks[0].get_text(" ", strip=True)
    assert soup.select(".qr") == [] and "Scan the code" not in soup.get_text()


def test_after_the_last_question_the_phone_says_so_with_the_receipt(app, db, as_facilitator, session):
    """Answering the last question of a live session: the phone thanks the person, shows the receipt and how to withdraw."""
    act(as_facilitator, session, "start")
    phone = resident(app, db, session)
    prompts = queries.prompts_for_session(db, session["id"])
    act(as_facilitator, session, "show", number=str(len(prompts)))
    last = prompts[-1]
    submit(phone, f"/s/{session['code']}/q/{last['number']}", {"answer": str(last["options"][0]["id"])})
    soup = page(phone.get(f"/s/{session['code']}/live"))
    assert soup.select_one(".waiting strong").get_text(strip=True) == "That was the last question. Thank you!"
    assert len(soup.select_one(".receipt .code").get_text(strip=True)) >= 12
    assert soup.select_one("main a[href='/withdraw']") is not None
    act(as_facilitator, session, "show", number="1")
    submit(phone, f"/s/{session['code']}/q/1", {"answer": "Rides"})
    soup = page(phone.get(f"/s/{session['code']}/live"))
    assert "last question" not in soup.select_one(".waiting").get_text()


def test_when_a_live_session_ends_the_phone_thanks_the_person_with_their_receipt(app, db, as_facilitator, session):
    """After the facilitator closes the session, a phone that took part gets thanks and its receipt, not a join form."""
    act(as_facilitator, session, "start")
    phone = resident(app, db, session)
    act(as_facilitator, session, "close")
    response = phone.get(f"/s/{session['code']}/live")
    soup = page(response)
    assert response.status_code == 410
    assert soup.h1.get_text(strip=True) == "Thank you for taking part"
    assert soup.select_one(".receipt .code") is not None and soup.select("input[name=code]") == []
    stranger = app.test_client().get(f"/s/{session['code']}/live")
    assert stranger.status_code == 404 and page(stranger).select(".receipt") == []


def test_an_accidental_close_can_be_undone_for_a_few_minutes(app, db, as_facilitator, session):
    """Close, then Undo: the session is open again on the same question with answering open, and phones follow."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    act(as_facilitator, session, "next")
    phone = resident(app, db, session)
    act(as_facilitator, session, "close")
    console = page(as_facilitator.get(f"/staff/sessions/{session['id']}/live"))
    assert console.select_one("button[value=undo_close]") is not None
    assert act(as_facilitator, session, "undo_close").status_code == 303
    found = queries.session_by_id(db, session["id"])
    prompts = queries.prompts_for_session(db, session["id"])
    assert (found["status"], found["current_prompt_id"], found["answering_open"]) == ("open", prompts[1]["id"], 1)
    assert state(phone, session)["prompt"] == 2 and state(phone, session)["open"] is True


def test_undo_is_refused_after_the_window(db, as_facilitator, session):
    """Five minutes after closing, Undo changes nothing and says to reopen instead; the button is gone."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "close")
    db.execute("UPDATE sessions SET closed_at = ? WHERE id = ?",
               ((datetime.now(timezone.utc) - timedelta(minutes=live_queries.UNDO_CLOSE_MINUTES, seconds=1)).isoformat(),
                session["id"]))
    db.conn.commit()
    console = page(as_facilitator.get(f"/staff/sessions/{session['id']}/live"))
    assert console.select_one("button[value=undo_close]") is None
    response = act(as_facilitator, session, "undo_close")
    assert queries.session_by_id(db, session["id"])["status"] == "closed"
    assert "too late to undo" in text_of(as_facilitator.get(response.headers["Location"]))


def console_message(client, session) -> str:
    """Return the text of the messages the console shows after a button (flashed)."""
    soup = page(client.get(f"/staff/sessions/{session['id']}/live"))
    return " ".join(m.get_text(" ", strip=True) for m in soup.select("[role=status], [role=alert], .flash, .flashes li"))


def test_a_one_minute_timer_runs_and_zero_or_121_minutes_are_refused_with_a_message(db, as_facilitator, session):
    """The timer's range is 1 to 120 minutes inclusive: 1 starts a timer; 0 and 121 say why and change nothing."""
    act(as_facilitator, session, "start")
    for minutes in ("0", "121", "ten"):
        act(as_facilitator, session, "timer", minutes=minutes)
        assert queries.session_by_id(db, session["id"])["timer_ends_at"] is None
        assert "from 1 to 120" in console_message(as_facilitator, session)
    act(as_facilitator, session, "timer", minutes="1")
    ends = datetime.fromisoformat(queries.session_by_id(db, session["id"])["timer_ends_at"])
    assert timedelta(seconds=50) < ends - datetime.now(timezone.utc) <= timedelta(minutes=1)


def test_showing_a_question_and_the_join_screen_answer_normally_and_are_audited_with_the_question(db, as_facilitator, session):
    """'Show 2' and 'Join screen' each answer with the console (not an error) and the audit says which screen."""
    act(as_facilitator, session, "start")
    assert act(as_facilitator, session, "show", number="2").status_code == 303
    assert act(as_facilitator, session, "join_screen").status_code == 303
    details = [r[0] for r in db.execute("SELECT detail FROM audit_log WHERE action IN ('live_show', 'live_join_screen') "
                                        "ORDER BY id")]
    assert details == ["prompt=2", "prompt=-"]


def test_hiding_and_restoring_an_answer_say_which_they_did(app, db, as_facilitator, session):
    """After 'Hide' the console says the answer is hidden; after 'Restore', that it is shown again."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "next")
    answer_all(app, db, session, ["Food"])
    rid = db.execute("SELECT id FROM responses WHERE text = 'Food'").fetchone()[0]
    url = f"/staff/sessions/{session['id']}/live/moderate"
    get_url = f"/staff/sessions/{session['id']}/live"
    submit(as_facilitator, url, {"action": "hide", "response_id": rid, "reason": "Names a nurse"}, get_url=get_url, form_index=0)
    said = console_message(as_facilitator, session)
    assert "The answer is hidden." in said and "shown again" not in said
    submit(as_facilitator, url, {"action": "restore", "response_id": rid}, get_url=get_url, form_index=0)
    said = console_message(as_facilitator, session)
    assert "The answer is shown again." in said and "is hidden" not in said


def test_the_projector_names_every_option_of_a_several_choice_question_in_every_language(db, as_facilitator, session):
    """A 'choose several' question's bars carry each option's wording in each language (only a scale's are bare numbers)."""
    act(as_facilitator, session, "start")
    act(as_facilitator, session, "show", number="3")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert [[(s["lang"], s.get_text(strip=True)) for s in li.select(".label [lang]")] for li in soup.select(".bars li")] == [
        [("en", f"{o} [en]"), ("es", f"{o} [es]")] for o in ("Rides", "Food", "Doulas")]


def test_the_projector_finds_the_question_shown_when_ids_are_past_256(db, as_facilitator, make_user):
    """Row ids beyond CPython's small-int cache (an `is` for `==` would lose them): the projector still shows the
    question the console chose, not the join screen, and the console still names it."""
    make_session(db, prompts=[{"kind": "open", "text": f"Filler {n}"} for n in range(300)])
    owned = make_session(db, mode="live", status="draft", wall_moderation=False,
                         created_by=user_id(db, make_user("facilitator")),
                         prompts=[{"kind": "open", "text": "What helps you?"}])
    assert queries.prompts_for_session(db, owned["id"])[0]["id"] > 256
    act(as_facilitator, owned, "start")
    act(as_facilitator, owned, "next")
    soup = page(as_facilitator.get(f"/staff/sessions/{owned['id']}/projector/panel"))
    assert soup.select_one(".question h1").get_text(strip=True) == "What helps you? [en]"
    console = page(as_facilitator.get(f"/staff/sessions/{owned['id']}/live/panel"))
    assert console.select_one("#question-heading").get_text(strip=True) == "Question 1"


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_a_session_that_is_not_open_refuses_every_room_control_and_changes_nothing(db, as_facilitator, session, status):
    """Before it starts, and after it closes, no control moves the room: each says "Start the session first."

    Only Start (and Undo close) work then. A closed session whose controls still worked could show
    a question or open answering on a session the residents were told is over.
    """
    if status == "closed":
        for action in ("start", "next", "close"):
            act(as_facilitator, session, action)
    before = dict(queries.session_by_id(db, session["id"]))
    logged = count(db, "audit_log")
    for action, fields in [("pause", {}), ("resume", {}), ("close", {}), ("show", {"number": "1"}), ("next", {}),
                           ("previous", {}), ("join_screen", {}), ("open_answering", {}), ("close_answering", {}),
                           ("timer", {"minutes": "5"}), ("timer_stop", {}), ("equity_on", {}), ("equity_off", {})]:
        response = act(as_facilitator, session, action, **fields)
        assert response.status_code == 303, action
        assert "Start the session first." in text_of(as_facilitator.get(response.headers["Location"])), action
        assert dict(queries.session_by_id(db, session["id"])) == before, action
    assert count(db, "audit_log") == logged
