"""The review pages and the residents' results page pass axe in Chromium, in English and Arabic."""
from __future__ import annotations

import logging
import os
import secrets
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live(tmp_path):
    """Serve a fresh app with the demo session (and its answers) on a free port."""
    from werkzeug.serving import make_server

    from listening.app import create_app
    from listening.db import connect
    from listening.demo import ensure_demo
    from listening.migrations import migrate
    from listening.queries import session_by_code

    app = create_app({"TESTING": False, "DATABASE": tmp_path / "a11y.db", "SECRET_KEY": secrets.token_hex(16)})
    db = connect(app.config["DATABASE"])
    migrate(db)
    password = secrets.token_urlsafe(12)
    with app.app_context():
        demo = ensure_demo(db, password=password)
    session_id = session_by_code(db, demo.code)["id"]
    db.conn.close()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "code": demo.code, "email": demo.email,
           "password": password, "session_id": session_id}
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def violations(axe, page) -> list[str]:
    """Return axe's serious and critical violations on the current page."""
    result = axe.run(page)
    return [f"{v['id']}: {v['help']}" for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


def sign_in_staff(page, live: dict) -> None:
    """Sign the live server's staff member in, in the browser page."""
    page.goto(f"{live['url']}/staff/login")
    page.fill("#email", live["email"])
    page.fill("#password", live["password"])
    page.click("main button[type=submit]")


# Like the browser suite: skipped on a laptop without Chromium, never in CI (which installs it).
@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_review_and_results_pages_pass_axe(live):
    """A planner drafts themes, reviews one and publishes; every page they and residents see passes axe."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe = Axe()
    base, sid = live["url"], live["session_id"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        sign_in_staff(page, live)
        page.goto(f"{base}/staff/review/{sid}")
        with page.expect_navigation():
            page.click("form button.primary:has-text('Draft themes')")
        assert page.locator("article.theme-card").count() >= 2
        problems = {"themes": violations(axe, page)}
        with page.expect_navigation():  # axe must not start while the theme's page is still replacing the list
            page.locator("article.theme-card h3 a").first.click()
        problems["theme"] = violations(axe, page)
        with page.expect_navigation():
            page.click("button[value=review]")
        page.goto(f"{base}/staff/review/{sid}/heard")
        problems["heard"] = violations(axe, page)
        page.goto(f"{base}/staff/review/{sid}/publish")
        problems["publish"] = violations(axe, page)
        page.check("#published")
        with page.expect_navigation():
            page.click("main form button[type=submit].primary")
        page.goto(f"{base}/staff/review/{sid}/history")
        problems["history"] = violations(axe, page)
        for language in ("en", "ar"):
            page.goto(f"{base}/s/{live['code']}/results?lang={language}")
            assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
            assert page.locator("article h3").count() == 1
            problems[f"results-{language}"] = violations(axe, page)
        browser.close()
    assert problems == {key: [] for key in problems}


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_a_background_jobs_page_passes_axe_in_every_state(live, tmp_path):
    """The job page (issue 19), waiting, running with a bar and time left, finished and interrupted, passes axe in English and Arabic."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from listening.db import connect

    db = connect(str(tmp_path / "a11y.db"))
    moment = datetime.now(timezone.utc)
    now, earlier = (t.isoformat(timespec="seconds") for t in (moment, moment - timedelta(seconds=30)))
    ids = {}
    for state, progress in (("done", 100), ("interrupted", 10), ("running", 40)):
        ids[state] = db.execute(
            "INSERT INTO jobs (session_id, kind, params, state, progress, total, created, started, finished) "
            "VALUES (?, 'themes', '{}', ?, ?, 100, ?, ?, ?)",
            (live["session_id"], state, progress, now, earlier, None if state == "running" else now)).lastrowid
    db.conn.commit()
    db.conn.close()
    axe = Axe()
    base, sid = live["url"], live["session_id"]
    problems = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        sign_in_staff(page, live)
        for language in ("en", "ar"):
            for name, job_id in ids.items():
                page.goto(f"{base}/staff/sessions/{sid}/jobs/{job_id}?lang={language}")
                problems[f"{name}-{language}"] = violations(axe, page)
            page.goto(f"{base}/staff/sessions/{sid}/jobs/{ids['running']}?lang={language}")
            assert page.locator("progress#job-progress").count() == 1
            with page.expect_navigation():
                page.click("main form[method=get] button")
            assert page.locator("progress#job-progress").count() == 1
        browser.close()
    assert problems == {key: [] for key in problems}
