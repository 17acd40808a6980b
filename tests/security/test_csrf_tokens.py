"""CSRF tokens are signed only when a page shows them, and checked exactly as before."""
from __future__ import annotations

from datetime import datetime, timedelta

from wtforms.csrf.session import SessionCSRF

from tests.conftest import form_data
from tests.factories import count, make_session


def consent_url(session):
    """Return a session's consent page."""
    return f"/s/{session['code']}/consent"


def test_a_shown_token_is_accepted(client, db):
    """The token a page shows lets its own browser agree."""
    session = make_session(db)
    data = form_data(client.get(consent_url(session)))
    assert data["csrf_token"]
    response = client.post(consent_url(session), data={**data, "action": "agree", "take_part": "y"})
    assert response.status_code in (302, 303)
    assert count(db, "participants") == 1


def test_another_browsers_token_is_refused(app, db):
    """A token shown to one browser does not work from another, with or without a cookie of its own."""
    session = make_session(db)
    data = {**form_data(app.test_client().get(consent_url(session))), "action": "agree", "take_part": "y"}
    with_cookie = app.test_client()
    with_cookie.get(consent_url(session))
    assert with_cookie.post(consent_url(session), data=data).status_code == 400
    without_cookie = app.test_client()
    assert without_cookie.post(consent_url(session), data=data).status_code == 400
    assert count(db, "participants") == 0


def test_a_refused_browser_without_a_secret_gets_a_working_form(app, db):
    """A browser that posts before it has a CSRF secret is refused, and the page it gets back carries a token that works."""
    session = make_session(db)
    browser = app.test_client()
    refused = browser.post(consent_url(session), data={"action": "agree", "take_part": "y", "csrf_token": "x##y"})
    assert refused.status_code == 400
    again = browser.post(consent_url(session), data={**form_data(refused), "action": "agree", "take_part": "y"})
    assert again.status_code in (302, 303)
    assert count(db, "participants") == 1


def test_an_old_token_is_refused(client, db, monkeypatch):
    """A token shown more than 12 hours ago is refused."""
    session = make_session(db)
    data = form_data(client.get(consent_url(session)))
    later = datetime.now() + timedelta(hours=12, minutes=5)
    monkeypatch.setattr(SessionCSRF, "now", lambda self: later)
    response = client.post(consent_url(session), data={**data, "action": "agree", "take_part": "y"})
    assert response.status_code == 400
    assert count(db, "participants") == 0
