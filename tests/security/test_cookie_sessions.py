"""The cookie session remembers verified cookies per worker without trusting anything it did not verify."""
from __future__ import annotations

import time

from flask import session

from listening.cookies import VerifiedCookieSessions


def signed_cookie(app, data: dict) -> str:
    """Return the cookie text the app would set for `data`."""
    return app.session_interface.get_signing_serializer(app).dumps(data)


def opened(app, cookie: str | None) -> dict:
    """Return what a request carrying `cookie` sees in its session."""
    headers = {"Cookie": f"chorus={cookie}"} if cookie is not None else {}
    with app.test_request_context("/", headers=headers):
        return dict(session)


def test_the_app_uses_the_verifying_session(app):
    """Chorus's app uses the session that remembers verified cookies."""
    assert isinstance(app.session_interface, VerifiedCookieSessions)


def test_a_verified_cookie_opens_the_same_from_memory(app):
    """A cookie seen before opens to the same contents, and each request gets its own copy."""
    cookie = signed_cookie(app, {"p": {"ABC123": 7}, "csrf": "x" * 40})
    assert opened(app, cookie) == {"p": {"ABC123": 7}, "csrf": "x" * 40}
    with app.test_request_context("/", headers={"Cookie": f"chorus={cookie}"}):
        session["p"]["ABC123"] = 99  # a request changing its session must not change the remembered one
    assert opened(app, cookie) == {"p": {"ABC123": 7}, "csrf": "x" * 40}


def test_an_altered_cookie_is_refused_after_the_genuine_one_was_remembered(app):
    """Changing one character of a remembered cookie gives an empty session, as before."""
    cookie = signed_cookie(app, {"p": {"ABC123": 7}})
    assert opened(app, cookie)["p"] == {"ABC123": 7}
    body, signature = cookie.rsplit(".", 1)
    forged = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert opened(app, forged) == {}
    other = signed_cookie(app, {"p": {"ABC123": 8}})
    assert opened(app, other[:-2] + cookie[-2:]) == {}


def test_a_remembered_cookie_expires_with_the_session_lifetime(app, monkeypatch):
    """A remembered cookie older than the session lifetime is refused, as the full check refuses it."""
    cookie = signed_cookie(app, {"p": {"ABC123": 7}})
    assert opened(app, cookie) == {"p": {"ABC123": 7}}
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert opened(app, cookie) == {}


def test_a_new_secret_key_forgets_what_the_old_one_verified(app):
    """After the secret key changes, a cookie signed with the old key is refused even though it was remembered."""
    cookie = signed_cookie(app, {"p": {"ABC123": 7}})
    assert opened(app, cookie) == {"p": {"ABC123": 7}}
    app.config["SECRET_KEY"] = app.secret_key = "another-test-secret-that-is-long-enough"
    assert opened(app, cookie) == {}


def test_memory_is_bounded(app):
    """The worker remembers at most its configured number of cookies."""
    app.session_interface = VerifiedCookieSessions(size=3)
    for n in range(10):
        assert opened(app, signed_cookie(app, {"n": n})) == {"n": n}
    assert len(app.session_interface._verified) <= 3


def test_saving_sets_deletes_or_leaves_the_cookie_exactly_as_flask_does(app):
    """Changed, unchanged, emptied, permanent with refresh, or only read: the response gets the same Set-Cookie and Vary as Flask's."""
    from flask.sessions import SecureCookieSessionInterface

    def saved(interface, *, contents, modified, permanent, refresh, accessed):
        """Return the Set-Cookie and Vary headers `interface` gives a response for one such session."""
        app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
        with app.test_request_context("/"):
            found = interface.session_class(contents)
            found.permanent = permanent  # marks it modified, as Flask's own setter does
            found.modified, found.accessed = modified, accessed
            response = app.response_class("")
            interface.save_session(app, found, response)
            cookie = response.headers.get("Set-Cookie", "")
            return cookie.split("=", 1)[0] + ("; deleted" if "Expires=Thu, 01 Jan 1970" in cookie else ""), response.headers.get("Vary")

    ours, flasks = app.session_interface, SecureCookieSessionInterface()
    for contents in ({}, {"p": {"ABC123": 7}}):
        for modified in (False, True):
            for permanent in (False, True):
                for refresh in (False, True):
                    for accessed in (False, True):
                        case = dict(contents=contents, modified=modified, permanent=permanent, refresh=refresh, accessed=accessed)
                        assert saved(ours, **case) == saved(flasks, **case), case
