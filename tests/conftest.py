"""Shared fixtures: a fresh app and database per test, clients signed in as each role, form helpers."""
from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from listening.accounts import create_user, user_by_email
from listening.app import create_app
from listening.db import connect
from listening.migrations import migrate

PASSWORD = "correct horse battery"


def migrated_app(database, **config):
    """Build a test app on `database`, with its schema migrated; `config` overrides the test defaults."""
    app = create_app({"TESTING": True, "DATABASE": database, "SECRET_KEY": "test-secret", **config})
    db = connect(app.config["DATABASE"])
    migrate(db)
    db.conn.close()
    return app


@pytest.fixture
def app(tmp_path):
    """An app on its own temporary database, migrated."""
    return migrated_app(tmp_path / "t.db")


@pytest.fixture
def db(app):
    """A connection to the test app's database."""
    conn = connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def client(app):
    """A browser with no cookies yet."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the `chorus` command against the test app."""
    return app.test_cli_runner()


def page(response) -> BeautifulSoup:
    """Parse a response's HTML."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text_of(response) -> str:
    """Return a page's visible text with whitespace collapsed."""
    soup = page(response)
    for tag in soup(["script", "style"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ")).strip()


def form_data(response, form_index: int = -1) -> dict:
    """Return the hidden fields (CSRF token, one-time key...) of a form on the page."""
    forms = page(response).find_all("form", method=re.compile("post", re.I))
    form = forms[form_index]
    return {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}


def submit(client, url: str, fields: dict | None = None, *, get_url: str | None = None, form_index: int = -1, **kwargs):
    """Load a page, fill its form's hidden fields, add `fields` and post it."""
    shown = client.get(get_url or url, **kwargs)
    data = form_data(shown, form_index)
    data.update(fields or {})
    return client.post(url, data=data, **kwargs)


def download(client, session_id: int, fmt: str, language: str = "en"):
    """Download a report or export the way the page does: a POST with the form's token."""
    url = f"/staff/review/{session_id}/export"
    return submit(client, url, {"format": fmt, "language": language}, form_index=0)


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign a staff member in through the login form."""
    return submit(client, "/staff/login", {"email": email, "password": password})


@pytest.fixture
def make_user(db):
    """Create staff accounts: make_user('planner') returns the new account's email."""

    def make(role: str, email: str | None = None) -> str:
        """Create an account with the shared test password (once: asking again returns the same one)."""
        email = email or f"{role}@example.org"
        if user_by_email(db, email) is None:
            create_user(db, email, PASSWORD, role)
        return email

    return make


@pytest.fixture
def as_facilitator(client, make_user):
    """A client signed in as a facilitator."""
    sign_in(client, make_user("facilitator"))
    return client


@pytest.fixture
def as_planner(client, make_user):
    """A client signed in as a planner."""
    sign_in(client, make_user("planner"))
    return client


@pytest.fixture
def as_admin(client, make_user):
    """A client signed in as an admin."""
    sign_in(client, make_user("admin"))
    return client
