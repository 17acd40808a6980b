"""The campaign pages pass axe in Chromium; the public campaign page also with JavaScript off, on a
320 px phone, in every offered language (right to left in Arabic and Urdu)."""
from __future__ import annotations

import logging
import os
import secrets
import threading

import pytest

from tests.review.test_accessibility import ARGS, CHROMIUM, sign_in_staff, violations


@pytest.fixture
def live(tmp_path):
    """Serve the demo session inside a published campaign whose backbone is the demo facilitator."""
    from werkzeug.serving import make_server

    from analysis.review import campaign_queries as pooled
    from listening import campaigns
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
    languages = ["en", "es", "ar", "ur"]
    cid = campaigns.create_campaign(db, slug="healthy-babies", languages=languages, created_by=None, texts={
        "name": {"en": "Healthy babies", "es": "Bebés sanos", "ar": "أطفال أصحاء", "ur": "صحت مند بچے"},
        "purpose": {"en": "Listening across the county.", "es": "Escuchar en todo el condado.",
                    "ar": "الاستماع في كل المقاطعة.", "ur": "پوری کاؤنٹی میں سننا۔"}})
    partner = campaigns.add_partner(db, cid, "Clinic")
    campaigns.add_round(db, cid, "Round 2")
    user = db.execute("SELECT id FROM users WHERE email = ?", (demo.email,)).fetchone()[0]
    campaigns.set_member(db, cid, user, None, given_by=None)
    session_id = session_by_code(db, demo.code)["id"]
    campaigns.add_session(db, cid, session_id, round_id=campaigns.rounds_of(db, cid)[0]["id"], partner_id=partner,
                          added_by=None)
    campaigns.add_question(db, cid, kind="about", texts={c: "Where?" for c in languages},
                           options={c: ["North", "South"] for c in languages})
    pooled.save_commitment(db, cid, None, texts={"will": {"en": "More evening clinic hours", "es": "Más horas por la tarde",
                                                          "ar": "ساعات مسائية أكثر", "ur": "شام کے مزید اوقات"}},
                           owner="Health department", status="in_progress", due_on="2027-06-01", done_on=None,
                           published=True, theme_ids=[], user_id=None)
    campaigns.set_published(db, cid, True)
    # A campaign's jobs (issue 19) in the states their shared page shows: running with a bar, finished, interrupted.
    job_ids = {}
    stamp = "2026-12-01T10:00:00+00:00"
    with db.conn:
        for state, kind, progress in (("running", "campaign_heard", 1), ("done", "campaign_themes", 3),
                                      ("interrupted", "campaign_themes", 2)):
            job_ids[state] = db.execute(
                "INSERT INTO jobs (campaign_id, kind, params, state, progress, total, created, started, finished, who) "
                "VALUES (?, ?, ?, ?, ?, 3, ?, ?, ?, ?)",
                (cid, kind, '{"question_id": 1, "round_id": null, "standing": "backbone", "partner_id": null}', state,
                 progress, stamp, stamp, None if state == "running" else stamp, user)).lastrowid
            db.execute("INSERT INTO job_sessions (job_id, session_id) VALUES (?, ?)", (job_ids[state], session_id))
    db.conn.close()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "email": demo.email, "password": password, "cid": cid,
           "jobs": job_ids}
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_campaign_pages_pass_axe_and_the_public_page_works_without_javascript(live):
    """Backbone pages pass axe; the public page passes axe with JavaScript off at 320 px in each language."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe = Axe()
    base, cid = live["url"], live["cid"]
    problems = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        sign_in_staff(page, live)
        for name in ("", "heard", "themes", "rounds", "commitments", "export"):
            page.goto(f"{base}/staff/campaigns/{cid}/{name}")
            assert page.locator("h1").count() == 1
            problems[name or "dashboard"] = violations(axe, page)
        for language in ("en", "ar"):
            for state, job_id in live["jobs"].items():
                page.goto(f"{base}/staff/campaigns/{cid}/jobs/{job_id}?lang={language}")
                assert page.locator("h1").count() == 1
                assert page.locator("progress#job-progress").count() == (state == "running")
                problems[f"job-{state}-{language}"] = violations(axe, page)
        phone = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 640})
        public = phone.new_page()
        for language, words in (("en", "More evening clinic hours"), ("es", "Más horas por la tarde"),
                                 ("ar", "ساعات مسائية أكثر"), ("ur", "شام کے مزید اوقات")):
            public.goto(f"{base}/c/healthy-babies?lang={language}")
            assert public.locator("html").get_attribute("dir") == ("rtl" if language in ("ar", "ur") else "ltr")
            assert words in public.locator("main").inner_text()
            assert public.evaluate("document.documentElement.scrollWidth") <= 320
        browser.close()
        # axe needs scripts: the same page in a scripted context, at the same width
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 320, "height": 640})
        for language in ("en", "es", "ar", "ur"):
            page.goto(f"{base}/c/healthy-babies?lang={language}")
            problems[f"public-{language}"] = violations(axe, page)
        browser.close()
    assert problems == {key: [] for key in problems}
