"""Staff pages: sign-in and roles. Who may use each route is in tests/security/test_route_table.py."""
import pytest

from tests.conftest import PASSWORD, page, sign_in, submit
from tests.factories import make_session, share

def staff_routes(app):
    """Yield (rule, view) for every route of the facilitation blueprint and the review pages."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("facilitation", "review"):
            yield rule, app.view_functions[rule.endpoint]


def test_every_staff_route_declares_who_may_use_it(app):
    """Every staff view is marked with the roles it admits (or as public)."""
    unmarked = [rule.rule for rule, view in staff_routes(app) if not hasattr(view, "required_roles")]
    assert unmarked == []


def test_planner_cannot_change_a_session(client, db, make_user):
    """A planner posting to the builder is refused and the session is unchanged."""
    session = make_session(db, status="draft")
    sign_in(client, make_user("planner"))
    share(db, session, "planner@example.org")
    response = client.post(f"/staff/sessions/{session['id']}/status", data={"status": "open"})
    assert response.status_code == 403
    from listening import queries

    assert queries.session_by_id(db, session["id"])["status"] == "draft"


@pytest.mark.production_password_cost  # the account is hashed exactly as in production, not at the suite's cost
def test_passwords_are_hashed_with_scrypt(db, make_user):
    """Passwords are stored only as scrypt hashes."""
    make_user("facilitator")
    stored = db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_wrong_password_is_refused_with_a_clear_message(client, make_user):
    """A wrong password gets a 401 and a message tied to the field, not which part was wrong."""
    email = make_user("facilitator")
    response = sign_in(client, email, "not the password")
    assert response.status_code == 401
    assert page(response).find("input", attrs={"name": "password"})["aria-invalid"] == "true"


def test_signing_in_starts_a_fresh_cookie_session(client, make_user):
    """Anything planted in the cookie before sign-in is gone after it (no session fixation)."""
    email = make_user("facilitator")
    with client.session_transaction() as cookie:
        cookie["planted"] = "by an attacker"
    sign_in(client, email)
    with client.session_transaction() as cookie:
        assert "planted" not in cookie and "uid" in cookie


def test_sign_in_never_redirects_to_another_site(client, make_user):
    """A crafted ?next= pointing elsewhere lands on the dashboard instead."""
    email = make_user("facilitator")
    response = submit(client, "/staff/login?next=//evil.example/x", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/staff/"


def test_signing_out_ends_the_staff_session(as_facilitator):
    """After signing out, staff pages ask for sign-in again."""
    submit(as_facilitator, "/staff/logout", get_url="/staff/", form_index=0)
    assert as_facilitator.get("/staff/").status_code == 302


def test_deactivated_accounts_cannot_sign_in(client, db, make_user):
    """An account that was turned off is refused."""
    from listening.accounts import change_user, user_by_email

    email = make_user("facilitator")
    change_user(db, user_by_email(db, email)["id"], active=False)
    assert sign_in(client, email).status_code == 401


def test_admin_adds_an_account_and_it_is_audited(as_admin, db):
    """An admin adds a planner; the audit log records who did it."""
    response = submit(as_admin, "/staff/users", {"email": "new@example.org", "role": "planner", "password": "long enough pw"})
    assert response.status_code == 302
    assert db.execute("SELECT role FROM users WHERE email = 'new@example.org'").fetchone()[0] == "planner"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'user_added'").fetchone()[0] == 1


def test_a_route_cannot_be_guarded_by_a_role_that_does_not_exist(app):
    """A typo in @requires fails when the app starts, instead of quietly admitting only admins."""
    import pytest

    from listening.accounts import requires

    with pytest.raises(ValueError, match="Unknown role"):
        requires("facilitator", "superuser")


def test_a_password_of_exactly_the_minimum_length_is_accepted(db):
    """The length rule is 'at least': the minimum passes, one character fewer is refused."""
    import pytest

    from listening.accounts import MIN_PASSWORD_LENGTH, create_user

    create_user(db, "exact@example.org", "p" * MIN_PASSWORD_LENGTH, "planner")
    with pytest.raises(ValueError, match="at least"):
        create_user(db, "short@example.org", "p" * (MIN_PASSWORD_LENGTH - 1), "planner")


def test_sign_in_goes_on_to_the_page_asked_for(client, make_user):
    """A same-site ?next= is followed after signing in (only other sites are refused)."""
    email = make_user("facilitator")
    response = submit(client, "/staff/login?next=/staff/review/", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/staff/review/"


def test_sign_in_never_follows_a_next_with_a_scheme(client, make_user):
    """?next=https://elsewhere, javascript: and a one-slash scheme all land on the dashboard."""
    email = make_user("facilitator")
    for target in ("https://evil.example/x", "javascript:alert(1)", "http:/evil.example"):
        other = client.application.test_client()
        response = submit(other, f"/staff/login?next={target}", {"email": email, "password": PASSWORD})
        assert response.headers["Location"] == "/staff/", target
