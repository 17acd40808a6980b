"""Staff sign-in: revocable sessions, password change and reset, throttling that cannot be overshot, safe `next`."""
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listening import accounts
from listening.accounts import ACCOUNT_FREE_FAILURES, create_user, user_by_email
from tests.conftest import PASSWORD, form_data, page, sign_in, submit, text_of
from tests.factories import make_session

NEW_PASSWORD = "a much longer passphrase"


def second_browser(app, client):
    """Return a new browser holding a copy of `client`'s cookie, as a stolen or second-device cookie would be."""
    other = app.test_client()
    other.set_cookie("chorus", client.get_cookie("chorus").value)
    return other


def failures(db, action="login_failed") -> int:
    """Count audit lines of one kind."""
    return db.execute("SELECT count(*) FROM audit_log WHERE action = ?", (action,)).fetchone()[0]


def sign_in_from(client, address: str, email: str, password: str = PASSWORD):
    """Sign in through the form from a given client address."""
    return submit(client, "/staff/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def age_throttle(db, minutes: float) -> None:
    """Move every sign-in counter's last failure into the past, as if time had passed."""
    for key, last in db.execute("SELECT key, last_failure_at FROM sign_in_throttle").fetchall():
        earlier = datetime.fromisoformat(last) - timedelta(minutes=minutes)
        db.execute("UPDATE sign_in_throttle SET last_failure_at = ? WHERE key = ?", (earlier.isoformat(), key))
    db.conn.commit()


def test_signing_out_makes_the_old_cookie_useless(app, client, make_user):
    """A copy of the cookie taken before signing out is refused afterwards (it used to work for 30 days)."""
    sign_in(client, make_user("facilitator"))
    copy = second_browser(app, client)
    assert copy.get("/staff/").status_code == 200
    submit(client, "/staff/logout", form_index=0, get_url="/staff/")
    assert copy.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_signing_out_on_one_device_signs_out_every_device(app, make_user):
    """Logout ends all of the account's sessions, not only this browser's."""
    email = make_user("planner")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, email)
    sign_in(phone, email)
    submit(laptop, "/staff/logout", form_index=0, get_url="/staff/")
    assert phone.get("/staff/").status_code == 302


def test_changing_ones_password_signs_out_the_other_devices_only(app, client, db, make_user):
    """After a password change this browser stays in, every other one is out, and only the new password works."""
    email = make_user("facilitator")
    sign_in(client, email)
    other = app.test_client()
    sign_in(other, email)
    wrong = submit(client, "/staff/account", {"current_password": "not it at all", "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})
    assert wrong.status_code == 400 and "not your current password" in text_of(wrong)
    mismatch = submit(client, "/staff/account", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                 "confirm_password": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400 and "not the same" in text_of(mismatch)
    assert all(not field.get("value") for field in page(mismatch).find_all("input", type="password"))
    done = submit(client, "/staff/account", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                             "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert client.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302
    assert sign_in(app.test_client(), email, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), email, NEW_PASSWORD).status_code == 302
    assert failures(db, "password_changed") == 1 and failures(db, "password_change_failed") == 1


def test_an_admin_reset_signs_the_person_out_and_makes_them_choose_a_password(app, client, db, make_user):
    """The reset ends their sessions; with the temporary password they reach only the password page until they change it."""
    email = make_user("facilitator")
    victim = app.test_client()
    sign_in(victim, email)
    sign_in(client, make_user("admin"))
    target = user_by_email(db, email)
    users = client.get("/staff/users")
    token = page(users).find("form", action=f"/staff/users/{target['id']}/password").find("input", attrs={"name": "csrf_token"})["value"]
    short = client.post(f"/staff/users/{target['id']}/password", data={"csrf_token": token, "password": "short"})
    assert "at least 10 characters" in text_of(client.get(short.headers["Location"]))
    client.post(f"/staff/users/{target['id']}/password", data={"csrf_token": token, "password": "temporary-123"})
    assert victim.get("/staff/").status_code == 302
    assert failures(db, "password_reset") == 1
    fresh = app.test_client()
    signed = sign_in(fresh, email, "temporary-123")
    assert signed.headers["Location"].endswith("/staff/account")
    assert fresh.get("/staff/").headers["Location"].endswith("/staff/account")
    assert "An administrator reset your password" in text_of(fresh.get("/staff/account"))
    submit(fresh, "/staff/account", {"current_password": "temporary-123", "new_password": NEW_PASSWORD,
                                     "confirm_password": NEW_PASSWORD})
    assert fresh.get("/staff/").status_code == 200


def test_a_role_change_ends_the_persons_sessions(app, client, db, make_user):
    """Demoting a facilitator to planner signs them out everywhere, so the new role applies at once."""
    email = make_user("facilitator")
    them = app.test_client()
    sign_in(them, email)
    sign_in(client, make_user("admin"))
    target = user_by_email(db, email)
    token = form_data(client.get("/staff/users"), 0)["csrf_token"]
    client.post(f"/staff/users/{target['id']}", data={"csrf_token": token, "role": "planner", "active": "y"})
    assert them.get("/staff/").status_code == 302


def test_a_staff_sign_in_ends_after_the_configured_hours(client, make_user, monkeypatch):
    """A cookie older than CHORUS_STAFF_SESSION_HOURS is refused."""
    from listening import accounts as views

    sign_in(client, make_user("planner"))
    later = time.time() + 13 * 3600
    monkeypatch.setattr(views.time, "time", lambda: later)
    assert client.get("/staff/").status_code == 302


def test_parallel_wrong_passwords_cannot_overshoot_the_limit(app, db):
    """Sixteen wrong passwords sent at once: only the free ones are checked, the rest wait (counted atomically)."""
    create_user(db, "f@example.org", PASSWORD, "facilitator")
    clients = [app.test_client() for _ in range(16)]
    forms = [form_data(c.get("/staff/login")) for c in clients]
    start = threading.Barrier(len(clients))
    statuses = []

    def attempt(browser, data):
        """Wait for the others, then send a wrong password."""
        start.wait()
        statuses.append(browser.post("/staff/login", data={**data, "email": "f@example.org",
                                                            "password": "wrong password!"}).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * ACCOUNT_FREE_FAILURES + [429] * (16 - ACCOUNT_FREE_FAILURES)
    assert failures(db) == ACCOUNT_FREE_FAILURES


def test_failures_slow_down_instead_of_locking_out(app, client, db):
    """After the free failures the right password must wait, with a translated message; once the wait is over it works."""
    create_user(db, "f@example.org", PASSWORD, "facilitator")
    for _ in range(ACCOUNT_FREE_FAILURES):
        assert sign_in(client, "f@example.org", "wrong password!").status_code == 401
    waiting = sign_in(client, "F@example.org ", PASSWORD)
    assert waiting.status_code == 429
    assert 0 < int(waiting.headers["Retry-After"]) <= accounts.FIRST_DELAY_SECONDS
    message = page(waiting).find(id=page(waiting).find("input", attrs={"name": "password"})["aria-describedby"].split()[0])
    assert "Too many failed sign-ins. Please wait" in message.get_text()
    with client.session_transaction() as cookie:
        assert "uid" not in cookie
    assert failures(db, "login_throttled") == 1
    age_throttle(db, minutes=1)
    assert sign_in(client, "f@example.org", PASSWORD).status_code == 302


def test_the_wait_doubles_and_has_a_ceiling(app, db):
    """Each further failure doubles the wait, up to five minutes for an account."""
    waits = [accounts.required_wait(n, datetime.now(timezone.utc), ACCOUNT_FREE_FAILURES,
                                    accounts.ACCOUNT_MAX_DELAY_SECONDS, datetime.now(timezone.utc))
             for n in range(ACCOUNT_FREE_FAILURES - 1, ACCOUNT_FREE_FAILURES + 8)]
    assert waits[0] == 0 and waits[1:6] == [15, 30, 60, 120, 240]
    assert max(waits) == accounts.ACCOUNT_MAX_DELAY_SECONDS


def test_a_stranger_guessing_cannot_keep_the_owner_out_of_their_usual_browser(app, db):
    """The owner's browser, where they signed in before, is counted apart from a stranger's failures on their account."""
    create_user(db, "f@example.org", PASSWORD, "facilitator")
    owner = app.test_client()
    assert sign_in(owner, "f@example.org").status_code == 302
    submit(owner, "/staff/logout", form_index=0, get_url="/staff/")
    stranger = app.test_client()
    for _ in range(ACCOUNT_FREE_FAILURES + 3):
        sign_in_from(stranger, "203.0.113.9", "f@example.org", "guess guess guess")
    assert sign_in_from(stranger, "203.0.113.9", "f@example.org").status_code == 429
    assert sign_in(owner, "f@example.org").status_code == 302


def test_one_address_trying_many_accounts_is_slowed_down(app, db):
    """Spraying passwords over many emails from one address meets the address counter."""
    client = app.test_client()
    statuses = [sign_in(client, f"person{n}@example.org", "wrong password!").status_code
                for n in range(accounts.ADDRESS_FREE_FAILURES + 1)]
    assert statuses[:-1] == [401] * accounts.ADDRESS_FREE_FAILURES and statuses[-1] == 429
    elsewhere = sign_in_from(app.test_client(), "198.51.100.20", "person0@example.org", "wrong password!")
    assert elsewhere.status_code == 401


def test_unknown_emails_slow_down_the_same_way(app, db):
    """The throttle does not reveal whether an account exists."""
    client = app.test_client()
    for _ in range(ACCOUNT_FREE_FAILURES):
        assert sign_in(client, "nobody@example.org", "wrong password!").status_code == 401
    assert sign_in(client, "nobody@example.org", "wrong password!").status_code == 429


def test_a_success_clears_the_account_counter(app, db):
    """Failures before a successful sign-in do not count towards a later slow-down."""
    create_user(db, "f@example.org", PASSWORD, "facilitator")
    client = app.test_client()
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        sign_in(client, "f@example.org", "wrong password!")
    assert sign_in(client, "f@example.org").status_code == 302
    other = app.test_client()
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        sign_in(other, "f@example.org", "wrong password!")
    assert sign_in(other, "f@example.org").status_code == 302


def test_the_password_is_never_sent_back_in_the_page(app, client, db):
    """A failed sign-in shows the email again but not the password."""
    response = sign_in(client, "nobody@example.org", "my secret words")
    assert "my secret words" not in response.get_data(as_text=True)


@pytest.mark.parametrize("target, expected", [
    ("/staff/sessions/1\n/evil", "/staff/"),
    ("/staff/\r\nSet-Cookie: x=1", "/staff/"),
    ("//evil.example/staff/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("https://evil.example/staff/", "/staff/"),
    ("javascript:alert(1)", "/staff/"),
    ("/staff/logout", "/staff/"),
    ("/withdraw", "/staff/"),
    ("/staff/sessions/1?x=%0d%0a", "/staff/sessions/1?x=%0d%0a"),
    ("/staff/review/", "/staff/review/"),
])
def test_next_with_a_line_break_or_another_site_goes_to_the_dashboard(app, make_user, target, expected):
    """A `next` that is not a plain staff path (a line break used to give a 500) sends the person to the dashboard."""
    email = make_user("planner")
    client = app.test_client()
    from urllib.parse import quote

    url = "/staff/login?next=" + quote(target, safe="")
    response = submit(client, url, {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


@pytest.fixture
def planner(make_user):
    """A planner's email, for tests that sign in many times."""
    return make_user("planner")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.one_of(st.text(max_size=60), st.builds("/staff/{}".format, st.text(max_size=60)),
                        st.builds("/{}".format, st.text(alphabet=st.sampled_from("/\\:?#%.\n\r\t\x00 aZ9\u2028"),
                                                        max_size=20))))
def test_any_next_value_never_breaks_signing_in(app, planner, target):
    """Whatever `next` holds, signing in redirects (never a 500) to a path on this site under /staff/."""
    from urllib.parse import quote

    response = submit(app.test_client(), "/staff/login?next=" + quote(target, safe=""),
                      {"email": planner, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/staff/") and "\n" not in location and "\r" not in location


def test_a_page_with_a_session_code_in_next_survives_sign_in(app, db, make_user):
    """A real staff page asked for before signing in is where the person lands."""
    session = make_session(db, status="draft")
    client = app.test_client()
    first = client.get(f"/staff/sessions/{session['id']}")
    assert first.status_code == 302
    login = first.headers["Location"]
    response = submit(client, login, {"email": make_user("facilitator"), "password": PASSWORD})
    assert response.headers["Location"] == f"/staff/sessions/{session['id']}"


def test_old_counters_are_forgotten_and_removed(app, db):
    """A counter an hour quiet no longer slows anyone down, and its row is deleted at the next try."""
    client = app.test_client()
    for _ in range(ACCOUNT_FREE_FAILURES):
        sign_in(client, "nobody@example.org", "wrong password!")
    age_throttle(db, minutes=61)
    assert sign_in(client, "nobody@example.org", "wrong password!").status_code == 401
    keys = [row[0] for row in db.execute("SELECT key FROM sign_in_throttle")]
    assert sorted(keys) == ["account:nobody@example.org", "address:127.0.0.1"]
    assert db.execute("SELECT failures FROM sign_in_throttle WHERE key LIKE 'account:%'").fetchone()[0] == 1
