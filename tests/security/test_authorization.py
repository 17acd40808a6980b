"""Authorization beyond roles: objects of another session are never reachable through this one's URLs."""
import re

import pytest

from listening import queries
from tests.conftest import form_data, sign_in, submit
from tests.factories import make_participant, make_session, user_id


def staff_rules(app):
    """Yield every staff and review rule that names a session and some other object."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("facilitation", "review") and "session_id" in rule.arguments \
                and len(rule.arguments) > 1:
            yield rule


@pytest.fixture
def two_sessions(db):
    """Two draft sessions, each with its own prompts."""
    first, second = make_session(db, status="draft"), make_session(db, status="draft")
    return first, second, queries.prompts_for_session(db, second["id"])


def test_another_sessions_prompt_is_not_found_through_this_session(app, client, db, make_user, two_sessions):
    """Even an admin gets 404 for /sessions/<A>/prompts/<prompt of B>, and B's prompt is unchanged."""
    first, second, theirs = two_sessions
    sign_in(client, make_user("admin"))
    token = form_data(client.get(f"/staff/sessions/{first['id']}"), 0)["csrf_token"]
    checked = []
    for rule in staff_rules(app):
        url = rule.rule
        for name in rule.arguments:
            value = first["id"] if name == "session_id" else theirs[0]["id"]
            url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={"csrf_token": token, "direction": "down"})
            assert response.status_code == 404, (rule.rule, method, response.status_code)
            checked.append(rule.rule)
    assert checked, "expected at least the prompt routes"
    assert queries.prompts_for_session(db, second["id"])[0]["id"] == theirs[0]["id"]


def test_a_resident_cookie_for_one_session_cannot_answer_in_another(client, db):
    """A participant id planted under another session's code is ignored: nothing is stored there."""
    first, second = make_session(db), make_session(db)
    person = make_participant(db, first)
    with client.session_transaction() as cookie:
        cookie["p"] = {second["code"]: person.id}
    response = client.get(f"/s/{second['code']}/q/1")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/s/{second['code']}/consent")
    assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 0


def test_moderating_an_answer_of_another_session_changes_nothing(app, client, db, make_user):
    """Hiding response <of B> through session A's console leaves it visible, though the facilitator owns both."""
    owner = user_id(db, make_user("facilitator"))
    first, second = make_session(db, mode="live", created_by=owner), make_session(db, mode="live", created_by=owner)
    person = make_participant(db, second)
    prompt = queries.prompts_for_session(db, second["id"])[0]
    saved = queries.save_response(db, session_id=second["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce="moderation-test", language="en", text="visible")
    sign_in(client, "facilitator@example.org")
    token = form_data(client.get(f"/staff/sessions/{first['id']}"), 0)["csrf_token"]
    client.post(f"/staff/sessions/{first['id']}/live/moderate",
                data={"csrf_token": token, "action": "hide", "reason": "test", "response_id": saved.response_id})
    assert db.execute("SELECT hidden_at FROM responses WHERE id = ?", (saved.response_id,)).fetchone()[0] is None


def test_staff_cookie_is_useless_after_the_account_is_turned_off(client, db, make_user):
    """Turning an account off ends its signed-in sessions at the next request."""
    from listening.accounts import change_user, user_by_email

    email = make_user("facilitator")
    sign_in(client, email)
    assert client.get("/staff/").status_code == 200
    change_user(db, user_by_email(db, email)["id"], active=False)
    assert client.get("/staff/").status_code == 302


def test_withdraw_with_another_persons_cookie_needs_their_receipt(client, db):
    """Withdrawing deletes only the answers of the receipt typed, whoever's phone it is."""
    session = make_session(db)
    one_person, other = make_participant(db, session), make_participant(db, session)
    response = submit(client, "/withdraw", {"receipt": other.receipt, "confirm": "y"})
    assert response.status_code == 200
    assert queries.participant(db, one_person.id)["withdrawn_at"] is None
    assert queries.participant(db, other.id)["withdrawn_at"] is not None
