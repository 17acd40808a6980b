"""Exactly once under concurrency: the same form sent at the same moment by several threads, against a
real threaded server, stores one answer (or one participant) and every sender gets a normal answer."""
from __future__ import annotations

import http.client
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from werkzeug.serving import make_server

from tests.conftest import migrated_app
from tests.factories import count, make_session

SENDERS = 8


@pytest.fixture
def server(tmp_path):
    """A threaded werkzeug server on a free port, serving a fresh app; yields (port, app)."""
    app = migrated_app(tmp_path / "t.db")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port, app
    httpd.shutdown()
    thread.join(timeout=10)


class Phone:
    """A minimal browser: one cookie jar, plain HTTP requests that do not follow redirects."""

    def __init__(self, port: int):
        """Remember the server's port and start with no cookies."""
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, str]:
        """Send one request with the cookies; keep any cookie set; return (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for value in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response.status, dict(response.headers), text

    def form(self, path: str) -> dict:
        """Load a page and return its last POST form's hidden fields."""
        status, _headers, text = self.request("GET", path)
        assert status == 200, (path, status)
        form = BeautifulSoup(text, "html.parser").find_all("form", method="post")[-1]
        return {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}


def all_at_once(send) -> list:
    """Run `send` in SENDERS threads released together; return their results."""
    barrier = threading.Barrier(SENDERS)
    results: list = [None] * SENDERS

    def run(index: int) -> None:
        """Wait for every thread, then send."""
        barrier.wait()
        try:
            results[index] = send()
        except Exception as error:  # a failed request is a result the test reports
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_simultaneous_identical_answers_store_one_and_each_gets_a_normal_response(server, db_for):
    """Eight copies of one answer form, sent at the same moment, store one answer; each gets the 302 onward."""
    port, app = server
    db = db_for(app)
    session = make_session(db)
    phone = Phone(port)
    consent = phone.form(f"/s/{session['code']}/consent")
    status, _h, _t = phone.request("POST", f"/s/{session['code']}/consent", {**consent, "action": "agree", "take_part": "y"})
    assert status == 302
    fields = {**phone.form(f"/s/{session['code']}/q/1"), "answer": "Rides to the clinic", "action": "next"}
    results = all_at_once(lambda: phone.request("POST", f"/s/{session['code']}/q/1", fields))
    assert [r[0] if isinstance(r, tuple) else repr(r) for r in results] == [302] * SENDERS
    assert {r[1]["Location"].rsplit("/", 1)[-1] for r in results} == {"2"}
    assert [row[0] for row in db.execute("SELECT text FROM responses")] == ["Rides to the clinic"]
    assert db.execute("SELECT count(*) FROM submissions WHERE kind = 'answer'").fetchone()[0] == 1


def test_simultaneous_identical_consents_make_one_participant(server, db_for):
    """Eight copies of one consent form, sent at the same moment, record one participant and one consent."""
    port, app = server
    db = db_for(app)
    session = make_session(db)
    phone = Phone(port)
    fields = {**phone.form(f"/s/{session['code']}/consent"), "action": "agree", "take_part": "y", "quote_ok": "y"}
    results = all_at_once(lambda: phone.request("POST", f"/s/{session['code']}/consent", fields))
    assert [r[0] if isinstance(r, tuple) else repr(r) for r in results] == [302] * SENDERS
    assert (count(db, "participants"), count(db, "consents")) == (1, 1)


@pytest.fixture
def db_for():
    """Open a connection to an app's database, closed after the test."""
    from listening.db import connect

    opened = []

    def open_for(app):
        """Connect to `app`'s database."""
        opened.append(connect(app.config["DATABASE"]))
        return opened[-1]

    yield open_for
    for conn in opened:
        conn.conn.close()
