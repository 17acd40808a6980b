"""An admin withdraws a person on their behalf: by receipt or chosen from the answers, logged with how they asked."""
import pytest

from listening import queries
from tests.conftest import form_data, page, sign_in, submit, text_of
from tests.factories import count, make_participant, make_session

WORDS = "My midwife Rosalind was kind"


@pytest.fixture
def person(db):
    """A session and a resident who answered the open question and left an email."""
    session = make_session(db)
    who = make_participant(db, session, contact={"email": "rosalind.friend@example.org"})
    prompt = queries.prompts_for_session(db, session["id"])[0]
    queries.save_response(db, session_id=session["id"], participant_id=who.id, prompt_id=prompt["id"],
                          nonce="staff-withdrawal-answer", language="en", text=WORDS)
    return session, who


def logs(db) -> str:
    """Return everything the deletion log, audit log and erasure ledger hold, as one string."""
    return " ".join(str([dict(r) for r in db.execute(f"SELECT * FROM {table}")])
                    for table in ("deletion_log", "audit_log", "erasure_ledger"))


def test_an_admin_withdraws_someone_by_the_receipt_they_read_out(as_admin, db, person):
    """The receipt code, how they asked and a confirmation delete their answers and contact; the logs say who and how."""
    session, who = person
    response = submit(as_admin, "/staff/withdraw", {"receipt": who.receipt.lower(), "reason": "phone", "confirm": "y"})
    assert response.status_code == 303
    assert (count(db, "responses"), count(db, "contacts")) == (0, 0)
    done = as_admin.get(response.headers["Location"])
    assert "Withdrawn: 1 answer was deleted. Their contact details were deleted too." in text_of(done)
    admin_id = db.execute("SELECT id FROM users WHERE role = 'admin'").fetchone()[0]
    entry = dict(db.execute("SELECT * FROM deletion_log").fetchone())
    assert (entry["kind"], entry["by_user"], entry["session_id"]) == ("withdrawal", admin_id, session["id"])
    assert entry["reason"] == "withdrawn by staff on the person's behalf: asked by phone"
    audit = dict(db.execute("SELECT * FROM audit_log WHERE action = 'withdrawal_by_staff'").fetchone())
    assert (audit["user_id"], audit["target"]) == (admin_id, session["code"]) and "reason=phone" in audit["detail"]
    assert "Rosalind" not in logs(db) and "rosalind.friend" not in logs(db)
    assert queries.normalize_code(who.receipt) not in logs(db)


def test_an_admin_can_find_someone_without_a_receipt_from_the_answers(as_admin, db, person):
    """"Withdraw this person" on the answers page shows their answers to check, then withdraws them."""
    session, who = person
    answers = page(as_admin.get(f"/staff/sessions/{session['id']}/answers"))
    link = answers.find("a", string="Withdraw this person")
    check = as_admin.get(link["href"])
    assert WORDS in [cell.get_text(strip=True) for cell in page(check).select("table.data td")]
    data = form_data(check)
    assert data["participant"] == str(who.id)
    response = as_admin.post("/staff/withdraw", data={**data, "reason": "interpreter", "confirm": "y"})
    assert response.status_code == 303
    assert queries.participant(db, who.id)["withdrawn_at"] is not None
    assert "asked through an interpreter" in logs(db)
    again = as_admin.get(link["href"])
    assert "already deleted" in text_of(again)


def test_mistakes_are_explained_and_delete_nothing(as_admin, db, person):
    """An unknown code, no code, or no confirmation each get a clear message, and nothing is deleted."""
    _session, who = person
    unknown = submit(as_admin, "/staff/withdraw", {"receipt": "AAAA-BBBB-CCCC", "reason": "phone", "confirm": "y"})
    assert unknown.status_code == 404 and "could not find that receipt code" in text_of(unknown)
    empty = submit(as_admin, "/staff/withdraw", {"receipt": "", "reason": "phone", "confirm": "y"})
    assert empty.status_code == 400 and "Please type their receipt code" in text_of(empty)
    unconfirmed = submit(as_admin, "/staff/withdraw", {"receipt": who.receipt, "reason": "phone"})
    assert unconfirmed.status_code == 400
    bad_reason = submit(as_admin, "/staff/withdraw", {"receipt": who.receipt, "reason": "because", "confirm": "y"})
    assert bad_reason.status_code == 400
    assert count(db, "responses") == 1 and count(db, "deletion_log") == 0
    submit(as_admin, "/staff/withdraw", {"receipt": who.receipt, "reason": "phone", "confirm": "y"})
    twice = submit(as_admin, "/staff/withdraw", {"receipt": who.receipt, "reason": "phone", "confirm": "y"})
    assert twice.status_code == 409 and "already deleted" in text_of(twice)


@pytest.mark.parametrize("role", ["facilitator", "planner"])
def test_only_admins_withdraw_on_someones_behalf(client, db, make_user, person, role):
    """Other roles are refused, do not see the link, and delete nothing."""
    session, who = person
    sign_in(client, make_user(role))
    assert client.get("/staff/withdraw").status_code == 403
    token = form_data(client.get(f"/staff/sessions/{session['id']}/answers"), 0)["csrf_token"]
    response = client.post("/staff/withdraw", data={"csrf_token": token, "receipt": who.receipt,
                                                    "reason": "phone", "confirm": "y"})
    assert response.status_code == 403
    assert page(client.get(f"/staff/sessions/{session['id']}/answers")).find("a", string="Withdraw this person") is None
    assert count(db, "responses") == 1
