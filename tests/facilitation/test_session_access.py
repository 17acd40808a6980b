"""Per-session access: a session's owner or an admin gives staff access and takes it away, logged;
everyone else gets 404 for it everywhere, exports included."""
from __future__ import annotations

import pytest

from listening import access
from listening.accounts import change_user, user_by_email
from listening import queries
from tests.conftest import page, sign_in, submit
from tests.factories import high_ids, make_session, share, user_id


@pytest.fixture
def owned(db, make_user):
    """A session owned by facilitator@example.org, and a planner and a second facilitator without access (ids above 256)."""
    high_ids(db)
    make_user("planner")
    make_user("facilitator", "second@example.org")
    return make_session(db, created_by=user_id(db, make_user("facilitator")))


def access_url(session) -> str:
    """Return a session's 'who can see it' page."""
    return f"/staff/sessions/{session['id']}/access"


def audit(db, action: str) -> list[tuple[str, str]]:
    """Return (target, detail) of the audit entries with this action."""
    return [tuple(row) for row in db.execute("SELECT target, detail FROM audit_log WHERE action = ?", (action,))]


def test_the_rule_in_one_place(db, owned, make_user):
    """can_see_session: admins see all, owners theirs, others only what they were given; unknown ids nothing."""
    admin = user_by_email(db, make_user("admin"))
    owner = user_by_email(db, "facilitator@example.org")
    second = user_by_email(db, "second@example.org")
    assert access.can_see_session(db, admin, owned["id"]) and access.can_see_session(db, owner, owned["id"])
    assert not access.can_see_session(db, second, owned["id"])
    assert not access.can_see_session(db, None, owned["id"])
    assert not access.can_see_session(db, admin, 99999)
    share(db, owned, "second@example.org")
    assert access.can_see_session(db, second, owned["id"])
    assert [s["id"] for s in access.sessions_for(db, second)] == [owned["id"]]
    assert access.take_access(db, owned["id"], second["id"]) and not access.take_access(db, owned["id"], second["id"])
    assert access.sessions_for(db, second) == []
    assert not access.can_see_session(db, {**owner, "active": 0}, owned["id"])  # an account turned off sees nothing
    assert not access.can_see_session(db, {**admin, "active": 0}, owned["id"])


def test_giving_access_twice_or_to_nobody_says_nothing_changed(db, owned):
    """give_access and take_access answer False when nothing changed, so nothing is logged twice."""
    second = user_id(db, "second@example.org")
    assert access.give_access(db, owned["id"], second, given_by=None)
    assert not access.give_access(db, owned["id"], second, given_by=None)
    assert not access.give_access(db, owned["id"], 99999, given_by=None)
    assert not access.give_access(db, 99999, second, given_by=None)
    assert not access.take_access(db, 99999, second)
    assert [p["email"] for p in access.people_with_access(db, owned["id"])] == ["second@example.org"]


def test_giving_access_twice_on_the_page_logs_it_once(client, db, owned):
    """A second 'give' for someone who already has access (a double click) changes nothing and is not logged:
    above all it does not take their access away again."""
    sign_in(client, "facilitator@example.org")
    second = str(user_id(db, "second@example.org"))
    token = page(client.get(access_url(owned))).find("input", attrs={"name": "csrf_token"})["value"]
    for _ in range(2):
        client.post(access_url(owned), data={"csrf_token": token, "action": "give", "user_id": second})
    assert len(audit(db, "access_given")) == 1
    assert audit(db, "access_taken") == []
    assert [p["email"] for p in access.people_with_access(db, owned["id"])] == ["second@example.org"]




def test_taking_access_from_someone_who_never_had_it_gives_them_nothing(client, db, owned):
    """'Take' for a person without access (a stale page, a forged post) changes nothing: it never falls through
    to giving them the session."""
    sign_in(client, "facilitator@example.org")
    second = str(user_id(db, "second@example.org"))
    token = page(client.get(access_url(owned))).find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(access_url(owned), data={"csrf_token": token, "action": "take", "user_id": second})
    assert response.status_code == 303
    assert access.people_with_access(db, owned["id"]) == []
    assert audit(db, "access_given") == [] and audit(db, "access_taken") == []


def test_an_owner_who_became_a_planner_can_no_longer_share(client, db, owned):
    """Sharing needs the facilitator role as well as ownership: a creator moved to planner reads but cannot share."""
    change_user(db, user_id(db, "facilitator@example.org"), role="planner")
    sign_in(client, "facilitator@example.org")
    shown = client.get(access_url(owned))
    assert shown.status_code == 200 and page(shown).find("select", attrs={"name": "user_id"}) is None
    assert not access.can_share(owned, user_by_email(db, "facilitator@example.org"))
    token = page(client.get("/staff/")).find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(access_url(owned), data={"csrf_token": token, "action": "give",
                                                    "user_id": user_id(db, "planner@example.org")})
    assert response.status_code == 403
    assert access.people_with_access(db, owned["id"]) == []


def test_the_owner_gives_a_planner_access_and_takes_it_away_and_both_are_logged(app, client, db, owned):
    """Given access, the planner reads the session; taken away, it is a 404 again; the audit log says who and when."""
    planner = app.test_client()
    sign_in(planner, "planner@example.org")
    assert planner.get(f"/staff/sessions/{owned['id']}").status_code == 404
    sign_in(client, "facilitator@example.org")
    planner_id = user_id(db, "planner@example.org")
    response = submit(client, access_url(owned), {"action": "give", "user_id": str(planner_id)})
    assert response.status_code == 303
    assert planner.get(f"/staff/sessions/{owned['id']}").status_code == 200
    assert planner.get(f"/staff/review/{owned['id']}").status_code == 200
    assert audit(db, "access_given") == [(owned["code"], "user=planner@example.org role=planner")]
    rows = page(client.get(access_url(owned))).select("#access tbody tr")
    assert [row.find("td").get_text(strip=True) for row in rows] == ["facilitator@example.org", "planner@example.org"]
    response = submit(client, access_url(owned), {"action": "take", "user_id": str(planner_id)}, form_index=0)
    assert response.status_code == 303
    assert planner.get(f"/staff/sessions/{owned['id']}").status_code == 404
    assert audit(db, "access_taken") == [(owned["code"], "user=planner@example.org role=planner")]


def test_someone_given_access_cannot_pass_it_on(app, client, db, owned):
    """A facilitator who was given access gets 403 for changing who sees the session, and nothing changes."""
    share(db, owned, "second@example.org")
    sign_in(client, "second@example.org")
    shown = page(client.get(access_url(owned)))
    assert shown.find("select", attrs={"name": "user_id"}) is None and shown.find("button", attrs={"value": "take"}) is None
    token = shown.find("input", attrs={"name": "csrf_token"})
    token = token["value"] if token else page(client.get("/staff/")).find("input", attrs={"name": "csrf_token"})["value"]
    planner_id = user_id(db, "planner@example.org")
    response = client.post(access_url(owned), data={"csrf_token": token, "action": "give", "user_id": planner_id})
    assert response.status_code == 403
    response = client.post(access_url(owned), data={"csrf_token": token, "action": "take",
                                                    "user_id": user_id(db, "second@example.org")})
    assert response.status_code == 403
    assert [p["email"] for p in access.people_with_access(db, owned["id"])] == ["second@example.org"]
    assert audit(db, "access_given") == audit(db, "access_taken") == []


def test_an_admin_gives_access_to_a_session_they_do_not_own(client, db, owned, make_user):
    """Admins see every session and may share any of them."""
    sign_in(client, make_user("admin"))
    response = submit(client, access_url(owned), {"action": "give", "user_id": str(user_id(db, "second@example.org"))})
    assert response.status_code == 303
    assert [p["email"] for p in access.people_with_access(db, owned["id"])] == ["second@example.org"]


def test_only_active_facilitators_and_planners_without_access_are_offered(client, db, owned, make_user):
    """Admins (who see everything), the owner, people who already have access and closed accounts are not offered."""
    make_user("admin")
    make_user("planner", "gone@example.org")
    change_user(db, user_id(db, "gone@example.org"), active=False)
    share(db, owned, "second@example.org")
    sign_in(client, "facilitator@example.org")
    offered = [option.get_text(strip=True).split(" ")[0]
               for option in page(client.get(access_url(owned))).select("select[name=user_id] option")]
    assert offered == ["planner@example.org"]


@pytest.mark.parametrize("who", ["admin@example.org", "facilitator@example.org", "gone@example.org", "nobody"])
def test_giving_access_to_someone_who_cannot_have_it_changes_nothing(client, db, owned, make_user, who):
    """An admin, the owner, a closed account or an unknown id is refused with a message, and nothing is stored."""
    make_user("admin")
    make_user("planner", "gone@example.org")
    change_user(db, user_id(db, "gone@example.org"), active=False)
    sign_in(client, "facilitator@example.org")
    target = user_by_email(db, who)["id"] if who != "nobody" else 9999
    response = submit(client, access_url(owned), {"action": "give", "user_id": str(target)})
    assert response.status_code == 303
    assert page(client.get(response.headers["Location"])).find(role="alert") is not None
    assert access.people_with_access(db, owned["id"]) == [] and audit(db, "access_given") == []


def test_a_session_made_on_the_form_belongs_to_whoever_made_it(client, db, make_user):
    """Creating a session makes its creator the owner: they see it, another facilitator does not."""
    sign_in(client, make_user("facilitator"))
    created = submit(client, "/staff/sessions/new", {"title": "Mine", "purpose": "Why", "default_language": "en",
                                                     "mode": "self_paced", "timezone": "America/New_York",
                                                     "minutes": "15"})
    session_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert queries.session_by_id(db, session_id)["created_by"] == user_id(db, "facilitator@example.org")
    other = client.application.test_client()
    sign_in(other, make_user("facilitator", "second@example.org"))
    assert other.get(f"/staff/sessions/{session_id}").status_code == 404


def test_an_export_of_a_session_one_may_not_see_is_not_found_and_not_logged(app, client, db, owned):
    """Another facilitator's export request gets 404 and leaves no export in the audit log."""
    sign_in(client, "second@example.org")
    token = page(client.get("/staff/")).find("input", attrs={"name": "csrf_token"})["value"]
    for fmt in ("csv", "json", "html"):
        response = client.post(f"/staff/review/{owned['id']}/export",
                               data={"csrf_token": token, "format": fmt, "language": "en"})
        assert response.status_code == 404
    assert audit(db, "export") == []


def test_a_session_one_may_not_see_looks_exactly_like_one_that_does_not_exist(client, db, owned):
    """The 404 page for a real but hidden session is the same as for an id that was never used."""
    sign_in(client, "second@example.org")
    hidden = client.get(f"/staff/sessions/{owned['id']}")
    missing = client.get("/staff/sessions/99999")
    assert hidden.status_code == missing.status_code == 404
    # The pages differ only in the address they echo (language links); nothing says the session exists.
    assert hidden.get_data().replace(f"/sessions/{owned['id']}".encode(), b"/sessions/N") \
        == missing.get_data().replace(b"/sessions/99999", b"/sessions/N")


def test_a_deleted_account_takes_its_access_with_it(db, owned):
    """Access rows go with the account or the session they name (no orphan grants)."""
    share(db, owned, "planner@example.org")
    db.execute("DELETE FROM users WHERE email = 'planner@example.org'")
    db.conn.commit()
    assert db.execute("SELECT count(*) FROM session_access").fetchone()[0] == 0
