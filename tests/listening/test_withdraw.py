"""Withdrawal by receipt code: answers and contact details go; a log says only that it happened."""
import time

import pytest
from flask import request

from listening import queries, views
from tests.conftest import page, submit, text_of
from tests.factories import count, high_ids, make_participant, make_session


@pytest.fixture
def answered(client, db):
    """A resident who agreed (with contact details), answered once, and holds their receipt."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent",
           {"action": "agree", "take_part": "y", "contact_ok": "y", "contact_email": "ana@example.org"})
    submit(client, f"/s/{session['code']}/q/1", {"answer": "My sister drove me"})
    receipt = page(client.get(f"/s/{session['code']}/thanks")).select_one(".receipt .code").get_text(strip=True)
    return session, receipt


def test_withdrawing_deletes_answers_and_contact_and_logs_no_content(client, db, answered):
    """The receipt code deletes every answer and contact detail; the log holds counts, not words."""
    session, receipt = answered
    response = submit(client, "/withdraw", {"receipt": receipt.lower(), "confirm": "y"})
    assert response.status_code == 200
    assert count(db, "responses") == 0
    assert count(db, "contacts") == 0
    log = dict(db.execute("SELECT * FROM deletion_log").fetchone())
    assert (log["session_id"], log["kind"]) == (session["id"], "withdrawal")
    assert "sister" not in str(log) and "ana@" not in str(log)
    audit = dict(db.execute("SELECT * FROM audit_log WHERE action = 'withdrawal'").fetchone())
    assert audit["target"] == session["code"] and "sister" not in str(audit)


def test_a_receipt_typed_with_full_width_letters_and_arabic_dashes_still_withdraws(client, db, answered):
    """A receipt code typed on a phone's Arabic or East Asian keyboard (ＡＢＣＤ, ‐ or ـ between groups) is read as typed in Latin letters."""
    _session, receipt = answered
    typed = "\u2010".join("".join(chr(ord(c) + 0xFEE0) if c.isalpha() else chr(0x0660 + int(c)) for c in group)
                          for group in receipt.split("-"))
    response = submit(client, "/withdraw", {"receipt": typed, "confirm": "y"})
    assert response.status_code == 200
    assert count(db, "responses") == 0


def test_withdrawing_twice_says_it_was_already_done(client, db, answered):
    """A second withdrawal with the same code says so and changes nothing."""
    _session, receipt = answered
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    response = submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    assert response.status_code == 409
    assert "already deleted" in text_of(response)
    assert count(db, "deletion_log") == 1


def test_wrong_receipt_code_is_explained_and_deletes_nothing(client, db, answered):
    """An unknown code gets a clear message tied to the field; nothing is deleted."""
    response = submit(client, "/withdraw", {"receipt": "AAAA-BBBB-CCCC", "confirm": "y"})
    assert response.status_code == 404
    field = page(response).find("input", attrs={"name": "receipt"})
    assert field["aria-invalid"] == "true"
    assert count(db, "responses") == 1


def test_withdrawing_needs_a_confirmation(client, db, answered):
    """Without ticking the confirmation nothing is deleted."""
    _session, receipt = answered
    response = submit(client, "/withdraw", {"receipt": receipt})
    assert response.status_code == 400
    assert count(db, "responses") == 1


def test_withdrawn_resident_cannot_keep_answering(client, db, answered):
    """After withdrawing, the same browser is sent back to consent, and old forms store nothing."""
    session, receipt = answered
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    response = client.post(f"/s/{session['code']}/q/2", data={"answer": "1"})
    assert response.headers["Location"].endswith("/consent")
    assert count(db, "responses") == 0


def test_receipt_codes_are_stored_only_as_hashes(db, answered):
    """The database never holds a usable receipt code."""
    _session, receipt = answered
    assert receipt.replace("-", "") not in str(db.execute("SELECT * FROM participants").fetchall())


def test_withdraw_page_offers_the_residents_session_languages_in_the_sessions_order(client, db):
    """Someone who took part in an Arabic-first session sees Arabic, then English, on /withdraw; others see the app's list."""
    session = make_session(db, languages=("ar", "en"))
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    soup = page(client.get("/withdraw"))
    assert [a["lang"] for a in soup.select(".languages a")] == ["ar", "en"]
    assert soup.html["lang"] == "ar"
    stranger = client.application.test_client()
    offered = [a["lang"] for a in page(stranger.get("/withdraw")).select(".languages a")]
    assert offered == list(client.application.config["LANGUAGES"])


def test_withdrawing_on_another_device_ends_this_browsers_participation(app, client, db, answered):
    """Someone who withdraws with their receipt on another phone is no longer taking part on the first one: it asks
    for consent again, stores nothing more, and shows none of their earlier answers."""
    session, receipt = answered
    other = app.test_client()
    submit(other, "/withdraw", {"receipt": receipt, "confirm": "y"})
    assert client.get(f"/s/{session['code']}/q/1").headers["Location"].endswith("/consent")
    consent = client.get(f"/s/{session['code']}/consent")
    assert consent.status_code == 200 and page(consent).find("input", attrs={"name": "take_part"}) is not None
    response = client.post(f"/s/{session['code']}/q/2", data={"answer": "1"})
    assert response.headers["Location"].endswith("/consent")
    assert count(db, "responses") == 0
    with client.session_transaction() as cookie:
        assert session["code"] not in cookie.get("p", {}) and session["code"] not in cookie.get("r", {})


def test_a_remembered_id_of_another_sessions_participant_is_not_taken_as_this_one(client, db):
    """If the id a browser remembers for a session belongs to a participant of another session (ids are reused after
    a withdrawal deletes the newest row), the browser is treated as new there: consent first, nothing stored."""
    high_ids(db)
    older, newer = make_session(db), make_session(db)
    for stranger_session in (older, newer):
        target = newer if stranger_session is older else older
        stranger = make_participant(db, stranger_session)
        with client.session_transaction() as cookie:
            cookie["p"] = {target["code"]: stranger.id}
            cookie["seen"] = {target["code"]: int(time.time())}
        response = client.post(f"/s/{target['code']}/q/1", data={"answer": "Not mine to give"})
        assert response.headers["Location"].endswith(f"/s/{target['code']}/consent")
        with client.session_transaction() as cookie:
            assert target["code"] not in cookie.get("p", {})
    assert count(db, "responses") == 1  # the placeholder high_ids keeps, nothing more


def test_an_answer_sent_as_the_resident_withdraws_elsewhere_is_refused_clearly(client, db, answered, monkeypatch):
    """If the withdrawal lands between the page's check and the save, the answer is not stored and the resident gets a
    clear 409 saying it could not be saved, never a 500."""
    session, receipt = answered
    found = views.current_participant

    def withdrawn_meanwhile(session_row):
        """Return the participant as the page saw them, then let the withdrawal on the other phone land."""
        participant = found(session_row)
        if participant is not None and request.method == "POST":
            queries.withdraw(db, receipt)
        return participant

    monkeypatch.setattr(views, "current_participant", withdrawn_meanwhile)
    response = submit(client, f"/s/{session['code']}/q/2", {"answer": "1"})
    assert response.status_code == 409
    assert "Your answer could not be saved. Please try again." in text_of(response)
    assert count(db, "responses") == 0


def test_a_resident_keeps_answering_once_ids_pass_a_thousand(client, db):
    """In a database whose session and participant ids are above 1000, a resident who agreed goes on answering as
    themself (a check written with `is` instead of `==` would forget them on every page)."""
    high_ids(db)
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    response = submit(client, f"/s/{session['code']}/q/1", {"answer": "My sister drove me"})
    assert response.headers["Location"].endswith(f"/s/{session['code']}/q/2")
    assert count(db, "responses") == 2  # the placeholder high_ids keeps, and this answer


def test_a_machine_theme_named_with_the_withdrawn_persons_words_is_renamed_to_its_key_terms(db):
    """A theme whose machine name is a clause of the answer withdrawn takes its key terms instead, a claim counting
    them is dropped, and a name a person wrote stays as it is."""
    import json as _json

    session = make_session(db, prompts=[{"kind": "open", "text": "What was hard?"}])
    prompt = queries.prompts_for_session(db, session["id"])[0]
    person = make_participant(db, session, quote_ok=True)
    saved = queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce="n-hard", language="en", text="Nobody at the WIC office speaks Arabic, so I stopped going")
    stamp = "2026-12-01T00:00:00+00:00"
    machine = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, claims, created_at, updated_at) "
        "VALUES (?, 'theme', 'Nobody at the WIC office speaks Arabic', 'Nobody at the WIC office speaks Arabic', ?, ?, ?, ?)",
        (session["id"], _json.dumps(["interpreter", "wic", "arabic"]),
         _json.dumps([{"text": "nobody speaks Arabic", "count": 2, "answer_ids": [saved.response_id, 999]}]), stamp, stamp)).lastrowid
    named = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, renamed, created_at, updated_at) "
        "VALUES (?, 'theme', 'WIC office Arabic', 'WIC office Arabic', '[]', 1, ?, ?)", (session["id"], stamp, stamp)).lastrowid
    db.conn.commit()
    assert queries.withdraw(db, person.receipt).outcome == "withdrawn"
    label, claims = db.execute("SELECT label, claims FROM themes WHERE id = ?", (machine,)).fetchone()
    assert label == "Interpreter, wic, arabic" and _json.loads(claims) == []
    assert db.execute("SELECT label FROM themes WHERE id = ?", (named,)).fetchone()[0] == "WIC office Arabic"


def test_withdrawing_tells_the_browser_to_drop_answers_it_still_keeps_to_send(client, db, answered):
    """An answer the phone kept offline is a copy of their words: the page that confirms the withdrawal tells offline.js
    to drop what it keeps for that session."""
    session, receipt = answered
    response = submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    assert page(response).find(id="offline-status")["data-forget"] == session["code"]


def test_words_a_resident_replaces_leave_the_machine_theme_names_drawn_from_them(db):
    """A resident who goes back and rewrites their answer takes the old words back: a machine theme name that was a
    clause of them becomes its key terms, as at a withdrawal (the staff translation of the old words goes too)."""
    import json as _json

    session = make_session(db, prompts=[{"kind": "open", "text": "What was hard?"}])
    prompt = queries.prompts_for_session(db, session["id"])[0]
    person = make_participant(db, session, quote_ok=True)
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-old",
                          language="en", text="Nurse Okafor ignored my sister at Eastside")
    stamp = "2026-12-01T00:00:00+00:00"
    machine = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, created_at, updated_at) "
        "VALUES (?, 'theme', 'Nurse Okafor ignored my sister', 'Nurse Okafor ignored my sister', ?, ?, ?)",
        (session["id"], _json.dumps(["ignored", "staff"]), stamp, stamp)).lastrowid
    db.conn.commit()
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-new",
                          language="en", text="Staff at the clinic ignored my sister")
    assert db.execute("SELECT label FROM themes WHERE id = ?", (machine,)).fetchone()[0] == "Ignored, staff"
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-same",
                          language="en", text="Staff at the clinic ignored my sister")
    assert db.execute("SELECT label FROM themes WHERE id = ?", (machine,)).fetchone()[0] == "Ignored, staff"
