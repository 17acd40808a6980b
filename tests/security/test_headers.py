"""Security headers, cookie flags, trusted proxies and the refusal to serve with a weak secret key."""
import re
from pathlib import Path

import pytest

from listening.app import create_app
from listening.security import (
    DEFAULT_SECRET_KEY,
    InsecureConfiguration,
    ensure_instance_secret_key,
    refuse_weak_secret_key,
)
from tests.conftest import submit
from tests.factories import make_session

ROOT = Path(__file__).resolve().parents[2]
# Self-contained files people download and open from disk (their styles travel inside them);
# the app must serve them as attachments, never as pages under its own CSP.
DOWNLOADED_DOCUMENTS = {"analysis/templates/review/report.html"}


def directives(header: str) -> dict[str, str]:
    """Split a CSP header into {directive: sources}."""
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def documented_policy() -> dict[str, str]:
    """Return the Content-Security-Policy the README promises, as {directive: sources}."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"Content-Security-Policy with no inline script or style\s*\(`([^`]+)`", readme)
    assert found, "the README states the policy"
    return directives(found.group(1).replace("\n", " "))


def test_every_page_sends_a_strict_content_security_policy(client, db, make_user):
    """Resident, staff and error pages send exactly the policy the README documents: no inline code, no framing."""
    session = make_session(db)
    promised = documented_policy()
    assert promised["script-src"] == "'self'" and promised["frame-ancestors"] == "'none'"
    urls = ["/", f"/j/{session['code']}", f"/s/{session['code']}/consent", "/withdraw", "/staff/login",
            "/no-such-page", "/staff/"]
    from tests.conftest import sign_in

    sign_in(client, make_user("admin"))
    for url in urls + [f"/staff/sessions/{session['id']}", f"/staff/sessions/{session['id']}/projector"]:
        sent = client.get(url).headers["Content-Security-Policy"]
        assert directives(sent) == promised, url
        assert "unsafe-inline" not in sent and "unsafe-eval" not in sent, url


def test_protective_headers_are_sent(client):
    """Pages are not framed, sniffed, cached or leaking the referrer."""
    headers = client.get("/").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would mean nothing


def test_hsts_is_sent_over_https(client):
    """A request over TLS gets Strict-Transport-Security."""
    headers = client.get("/", base_url="https://chorus.example.org").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_proxy_headers_are_trusted_only_when_configured(tmp_path):
    """X-Forwarded-Proto makes a request secure only behind a configured, trusted proxy."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    untrusted = create_app({"TESTING": True, "DATABASE": tmp_path / "a.db", "SECRET_KEY": "x"}).test_client()
    assert "Strict-Transport-Security" not in untrusted.get("/", headers=forwarded).headers
    trusted = create_app({"TESTING": True, "DATABASE": tmp_path / "b.db", "SECRET_KEY": "x",
                          "TRUSTED_PROXIES": 1}).test_client()
    assert "Strict-Transport-Security" in trusted.get("/", headers=forwarded).headers


def test_cookies_are_httponly_samesite_and_secure_behind_https(tmp_path):
    """The session cookie is HttpOnly and SameSite=Lax, and Secure when the public address is HTTPS."""
    app = create_app({"TESTING": True, "DATABASE": tmp_path / "t.db", "SECRET_KEY": "x",
                      "BASE_URL": "https://chorus.example.org"})
    from listening.db import connect
    from listening.migrations import migrate

    migrate(connect(app.config["DATABASE"]))
    client = app.test_client()
    response = client.get("/withdraw")
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("chorus="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite"} <= flags and "SameSite=Lax" in cookie


def test_templates_have_no_inline_script_or_style():
    """No template carries a <script> body, an on*= handler or a style= attribute (the CSP would block them)."""
    problems = []
    for path in list(ROOT.glob("*/templates/**/*.html")):
        if path.relative_to(ROOT).as_posix() in DOWNLOADED_DOCUMENTS:
            continue
        source = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source):
            problems.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", source):
            problems.append(f"{path.name}: on* handler")
        if re.search(r"\sstyle\s*=\s*[\"']", source):
            problems.append(f"{path.name}: style attribute")
        if re.search(r"<style[\s>]", source):
            problems.append(f"{path.name}: <style> element")
    assert problems == []


@pytest.mark.parametrize("key", [None, "", DEFAULT_SECRET_KEY, "short-key"])
def test_serving_with_a_weak_secret_key_is_refused(tmp_path, key):
    """Outside debug and tests, a missing, default or short key stops the server with a clear message."""
    app = create_app({"DATABASE": tmp_path / "t.db", "SECRET_KEY": key})
    app.instance_path = str(tmp_path / "instance")
    with pytest.raises(InsecureConfiguration, match="CHORUS_SECRET_KEY"):
        refuse_weak_secret_key(app)


def test_a_long_random_key_is_accepted(tmp_path):
    """A key of 32 characters or more is good enough to serve."""
    app = create_app({"DATABASE": tmp_path / "t.db", "SECRET_KEY": "k" * 48})
    refuse_weak_secret_key(app)


def test_serve_command_refuses_a_default_key(tmp_path, monkeypatch):
    """`chorus serve` with the default key exits with the explanation and never starts gunicorn."""
    monkeypatch.delenv("CHORUS_SECRET_KEY", raising=False)
    app = create_app({"DATABASE": tmp_path / "t.db"})
    app.instance_path = str(tmp_path / "instance")
    from listening.cli import run_server

    import click

    with pytest.raises(click.ClickException, match="will not serve"):
        run_server(app, host="127.0.0.1", port=1)


def test_demo_generates_a_private_key_once(tmp_path):
    """`chorus demo`'s key is random, kept owner-only in the instance folder, and reused by later apps."""
    app = create_app({"DATABASE": tmp_path / "t.db", "SECRET_KEY": DEFAULT_SECRET_KEY})
    app.instance_path = str(tmp_path / "instance")
    ensure_instance_secret_key(app)
    key_file = Path(app.instance_path) / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert len(app.config["SECRET_KEY"]) >= 32
    refuse_weak_secret_key(app)
    again = create_app({"DATABASE": tmp_path / "t.db", "SECRET_KEY": DEFAULT_SECRET_KEY})
    again.instance_path = app.instance_path
    from listening.security import load_instance_secret_key

    load_instance_secret_key(again)
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_consent_form_works_with_headers_on(client, db):
    """The headers change nothing for a resident going through consent."""
    session = make_session(db)
    response = submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    assert response.status_code == 302


def test_tests_never_read_the_checkouts_instance_folder(tmp_path):
    """An app built in a test keeps its instance folder outside the checkout: after the README's first
    command (`chorus demo`) the checkout's `instance/` holds a generated secret key, and tests that
    read it failed when the README's second command ran the suite in the same folder."""
    checkout = Path(__file__).resolve().parents[2]
    app = create_app({"DATABASE": tmp_path / "t.db", "SECRET_KEY": DEFAULT_SECRET_KEY})
    assert not Path(app.instance_path).resolve().is_relative_to(checkout)
    assert app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY
