"""The audit log records sign-ins, role changes, exports, moderation and deletions, and only admins read it."""
from datetime import datetime, timedelta, timezone

from listening.accounts import user_by_email
from listening import queries
from listening.retention import purge_expired
from tests.conftest import download, page, sign_in, submit
from tests.factories import make_participant, make_session


def actions(db) -> set[str]:
    """Return the set of actions in the audit log."""
    return {row[0] for row in db.execute("SELECT action FROM audit_log")}


def test_the_audit_log_covers_the_actions_a_reviewer_asks_about(app, client, db, make_user):
    """Sign-in (good and bad), role change, retention change, purge and export all leave a line."""
    admin = make_user("admin")
    planner = make_user("planner")
    sign_in(client, admin, "wrong password!")
    sign_in(client, admin)
    submit(client, f"/staff/users/{user_by_email(db, planner)['id']}", {"role": "facilitator", "active": "y"},
           get_url="/staff/users", form_index=1)
    session = make_session(db)
    person = make_participant(db, session, contact={"name": "A", "phone": "1", "email": ""})
    prompt = queries.prompts_for_session(db, session["id"])[0]
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="audit-1", language="en", text="words")
    url = f"/staff/sessions/{session['id']}"
    submit(client, f"{url}/retention", {"retention_days": "1"}, get_url=url, form_index=1)
    queries.set_status(db, session["id"], "closed")
    db.execute("UPDATE sessions SET closed_at = ? WHERE id = ?",
               ((datetime.now(timezone.utc) - timedelta(days=3)).isoformat(), session["id"]))
    db.conn.commit()
    purge_expired(db, default_days=365)
    assert "review.export" in app.view_functions  # a renamed route fails here, loudly, instead of skipping
    assert download(client, session["id"], "csv").status_code == 200
    expected = {"login_failed", "login", "user_changed", "retention_changed", "retention_purge", "export"}
    assert expected <= actions(db)
    export = db.execute("SELECT user_id, target, detail FROM audit_log WHERE action = 'export'").fetchone()
    assert (export[0], export[1]) == (user_by_email(db, admin)["id"], session["code"]) and "csv" in export[2]
    shown = page(client.get("/staff/audit")).get_text(" ")
    assert all(action in shown for action in expected)
    assert "words" not in shown


def test_only_admins_read_the_audit_and_deletion_logs(client, make_user):
    """Facilitators and planners are refused the logs."""
    for role in ("facilitator", "planner"):
        other = client.application.test_client()
        sign_in(other, make_user(role))
        assert other.get("/staff/audit").status_code == 403
        assert other.get("/staff/deletions").status_code == 403
