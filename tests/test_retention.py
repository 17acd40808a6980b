"""Retention: raw answer text and contact details go N days after a session closes, unless on legal hold."""
from datetime import datetime, timedelta, timezone

from listening import queries
from listening.cli import cli
from listening.retention import purge_expired, set_retention
from tests.conftest import page, submit
from tests.factories import count, make_participant, make_session, share, user_id


def closed_session_with_answers(db, *, days_ago: int, **overrides):
    """A session closed `days_ago` days ago, with one resident's open and choice answers and contact details."""
    session = make_session(db, **overrides)
    person = make_participant(db, session, contact={"name": "Ana", "phone": "555", "email": "a@example.org"})
    prompts = queries.prompts_for_session(db, session["id"])
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompts[0]["id"],
                          nonce=f"n-{session['id']}-1", language="en", text="my neighbour's diagnosis")
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompts[1]["id"],
                          nonce=f"n-{session['id']}-2", language="en", choices=[prompts[1]["options"][0]["id"]])
    queries.set_status(db, session["id"], "closed")
    closed = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()
    db.execute("UPDATE sessions SET closed_at = ? WHERE id = ?", (closed, session["id"]))
    db.conn.commit()
    return session


def test_text_and_contacts_are_purged_after_the_retention_period(db):
    """After N days the words and contact details go; choices, counts and consent stay; the log says how much."""
    session = closed_session_with_answers(db, days_ago=31)
    purged = purge_expired(db, default_days=30)
    assert [(p.session_id, p.answers, p.contacts) for p in purged] == [(session["id"], 1, 1)]
    assert db.execute("SELECT count(*) FROM responses WHERE text IS NOT NULL").fetchone()[0] == 0
    assert count(db, "responses") == 2 and count(db, "contacts") == 0 and count(db, "consents") == 1
    assert db.execute("SELECT choices FROM responses WHERE choices IS NOT NULL").fetchone()[0] is not None
    log = queries.deletion_log(db, session["id"])
    assert [(e["kind"], e["detail"]) for e in log] == [("retention_purge", "answer_texts=1 contact_details=1")]
    assert "diagnosis" not in repr(log) and "Ana" not in repr(log)
    assert purge_expired(db, default_days=30) == []  # nothing left: nothing logged twice


def test_sessions_within_their_period_are_kept(db):
    """A session closed recently, or still open, keeps its text."""
    closed_session_with_answers(db, days_ago=5)
    make_session(db)
    assert purge_expired(db, default_days=30) == []
    assert db.execute("SELECT count(*) FROM responses WHERE text IS NOT NULL").fetchone()[0] == 1


def test_a_session_can_set_its_own_period(db):
    """A per-session retention overrides the default."""
    session = closed_session_with_answers(db, days_ago=5)
    set_retention(db, session["id"], days=3, legal_hold=False)
    assert [p.session_id for p in purge_expired(db, default_days=365)] == [session["id"]]


def test_legal_hold_stops_purging(db):
    """A session on legal hold is never purged, however old."""
    session = closed_session_with_answers(db, days_ago=400)
    set_retention(db, session["id"], days=None, legal_hold=True)
    assert purge_expired(db, default_days=30) == []
    assert count(db, "contacts") == 1


def test_theme_assignments_survive_the_purge(db):
    """De-identified theme assignments that point at answers are kept."""
    session = closed_session_with_answers(db, days_ago=40)
    answer = db.execute("SELECT id FROM responses WHERE session_id = ? AND text IS NOT NULL", (session["id"],)).fetchone()[0]
    stamp = queries.now()
    theme = db.execute("INSERT INTO themes (session_id, label, machine_label, top_terms, created_at, updated_at) "
                       "VALUES (?, 'Getting a diagnosis', 'Getting a diagnosis', '[\"diagnosis\"]', ?, ?)",
                       (session["id"], stamp, stamp)).lastrowid
    db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) VALUES (?, ?, ?, 'theme', ?)",
               (answer, session["id"], theme, stamp))
    db.conn.commit()
    purge_expired(db, default_days=30)
    assert [tuple(r) for r in db.execute("SELECT response_id, theme_id FROM theme_assignments")] == [(answer, theme)]
    assert count(db, "responses") == 2
    assert db.execute("SELECT text FROM responses WHERE id = ?", (answer,)).fetchone()[0] is None


def test_purge_command(runner, db):
    """`chorus purge` reports what it purged; --dry-run only lists."""
    session = closed_session_with_answers(db, days_ago=200)
    dry = runner.invoke(cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0 and f"due: {session['code']}" in dry.output
    assert count(db, "contacts") == 1
    done = runner.invoke(cli, ["purge"])
    assert done.exit_code == 0 and f"Purged session {session['code']}: 1 answer texts" in done.output
    assert count(db, "contacts") == 0


def test_a_facilitator_sets_retention_and_legal_hold_and_it_is_audited(as_facilitator, db):
    """The session overview's form saves the period and the hold, and the audit log records the change."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    url = f"/staff/sessions/{session['id']}"
    response = submit(as_facilitator, f"{url}/retention", {"retention_days": "90", "legal_hold": "y"}, get_url=url,
                      form_index=1)
    assert response.status_code == 303
    found = queries.session_by_id(db, session["id"])
    assert (found["retention_days"], found["legal_hold"]) == (90, 1)
    assert db.execute("SELECT detail FROM audit_log WHERE action = 'retention_changed'").fetchone()[0] == "days=90 legal_hold=1"
    bad = submit(as_facilitator, f"{url}/retention", {"retention_days": "-4"}, get_url=url, form_index=1)
    assert bad.status_code == 303 and queries.session_by_id(db, session["id"])["retention_days"] == 90


def test_a_planner_cannot_change_retention(as_planner, db):
    """Planners read; they cannot lift a legal hold, even on a session shared with them."""
    session = make_session(db)
    share(db, session, "planner@example.org")
    set_retention(db, session["id"], days=None, legal_hold=True)
    response = as_planner.post(f"/staff/sessions/{session['id']}/retention", data={"legal_hold": ""})
    assert response.status_code == 403
    assert queries.session_by_id(db, session["id"])["legal_hold"] == 1


def test_admins_see_the_deletion_log_without_content(as_admin, db):
    """The deletion log page lists kinds and counts, never the deleted words."""
    closed_session_with_answers(db, days_ago=400)
    purge_expired(db, default_days=30)
    text = page(as_admin.get("/staff/deletions")).get_text(" ")
    assert "retention_purge" in text and "Answer texts: 1" in text and "diagnosis" not in text


def test_a_purge_takes_the_purged_words_out_of_machine_theme_names_and_claims(db):
    """A machine theme name that is a clause of a purged answer takes its key terms (on the planners' page, the
    room's live draft and the History log's old name), and a claim worded from it goes; a planner's own name stays."""
    import json

    session = closed_session_with_answers(db, days_ago=40)
    answer = db.execute("SELECT id FROM responses WHERE text IS NOT NULL").fetchone()[0]
    stamp = "2026-12-01T00:00:00+00:00"
    machine = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, claims, created_at, updated_at) "
        "VALUES (?, 'theme', 'My neighbour''s diagnosis', 'My neighbour''s diagnosis', ?, ?, ?, ?)",
        (session["id"], json.dumps(["health", "neighbour"]),
         json.dumps([{"text": "neighbour's diagnosis", "count": 3, "answer_ids": [answer]}]), stamp, stamp)).lastrowid
    mine = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, renamed, created_at, updated_at) "
        "VALUES (?, 'theme', 'Neighbour diagnosis', 'Neighbour diagnosis', '[]', 1, ?, ?)",
        (session["id"], stamp, stamp)).lastrowid
    db.execute("INSERT INTO theme_edits (session_id, theme_id, action, detail, at) VALUES (?, ?, 'rename', ?, ?)",
               (session["id"], mine, json.dumps({"from": "my neighbour's diagnosis", "to": "Neighbour diagnosis"}), stamp))
    prompt = queries.prompts_for_session(db, session["id"])[0]
    db.execute("INSERT INTO live_themes (session_id, prompt_id, themes, answer_count, drafted_at) VALUES (?, ?, ?, 1, ?)",
               (session["id"], prompt["id"], json.dumps([{"label": "My neighbour's diagnosis", "terms": ["health"]}]), stamp))
    db.conn.commit()
    purge_expired(db, default_days=30)
    label, claims = db.execute("SELECT label, claims FROM themes WHERE id = ?", (machine,)).fetchone()
    assert label == "Health, neighbour" and json.loads(claims) == []
    assert db.execute("SELECT label FROM themes WHERE id = ?", (mine,)).fetchone()[0] == "Neighbour diagnosis"
    stored = repr(db.execute("SELECT detail FROM theme_edits").fetchall()) + repr(db.execute("SELECT themes FROM live_themes").fetchall())
    assert "diagnosis" not in stored.replace("Neighbour diagnosis", "")
