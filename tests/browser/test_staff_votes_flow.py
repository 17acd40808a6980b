"""A table's notetaker types in people's paper votes and dots in a real browser: the votes page and the priorities form,
their errors and the pages after a save, on a phone, in English and Arabic (right to left), with zero axe violations;
without JavaScript the same steps store the votes."""
from __future__ import annotations

import pytest

from .pages import axe_violations, click_and_wait, page_facts


@pytest.fixture(scope="module")
def design(live_server):
    """The demo design session (react, dots and ideas questions, tables) and its first table; its id, table and prompts."""
    from listening.accounts import user_by_email
    from listening.db import connect
    from listening.demo import CONTACTS, demo_languages
    from listening.demo_design import ensure_demo_design

    db = connect(str(live_server.app.config["DATABASE"]))
    with live_server.app.app_context():
        code = ensure_demo_design(db, languages=demo_languages(), user_id=user_by_email(db, live_server.email)["id"],
                                  contact=CONTACTS)
    from listening import queries

    # The demo design session itself: other browser files share this database and add react questions of their own.
    session_id = queries.session_by_code(db, code)["id"]
    numbers = {p["kind"]: p["number"] for p in queries.prompts_for_session(db, session_id)}
    react, dots = numbers["react"], numbers["dots"]
    table = db.execute("SELECT id FROM session_tables WHERE session_id = ? ORDER BY id LIMIT 1", (session_id,)).fetchone()[0]
    db.conn.close()
    return {"id": session_id, "table": table, "react": react, "dots": dots}


def sign_in(page, live_server) -> None:
    """Sign the demo facilitator in through the form."""
    page.goto("/staff/login")
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    click_and_wait(page, "main button[type=submit]")


def votes_count(live_server) -> int:
    """Count the votes staff typed in."""
    from listening.db import connect

    db = connect(str(live_server.app.config["DATABASE"]))
    try:
        return db.execute("SELECT count(*) FROM votes WHERE entered_by IS NOT NULL").fetchone()[0]
    finally:
        db.conn.close()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_notetakers_votes_and_priorities_pages_pass_axe(open_page, live_server, design, lang):
    """The votes page, its error, the page after a save (with the receipt), the dots form and its over-budget error
    have zero axe violations on a phone, in the staff member's language and direction."""
    page, _meter = open_page(lang=lang)
    sign_in(page, live_server)
    base = f"/staff/sessions/{design['id']}/entry"
    found = {}
    assert page.goto(f"{base}/votes?prompt={design['react']}&table={design['table']}&language=es&lang={lang}").status == 200
    assert page_facts(page)["dir"] == ("rtl" if lang == "ar" else "ltr") and page_facts(page)["sideways"] == 0
    found["votes"] = axe_violations(page)
    click_and_wait(page, "main form.stack button[type=submit]")
    assert page.locator("#problems").count() == 1
    found["votes error"] = axe_violations(page)
    page.locator("ol.entry-votes input[value=agree]").first.check()
    page.locator("ol.entry-votes input[value=disagree]").nth(1).check()
    page.check("#consent_read")
    click_and_wait(page, "main form.stack button[type=submit]")
    assert page.locator(".entry-receipt .code").count() == 1
    found["votes saved"] = axe_violations(page)
    assert page.goto(f"{base}?prompt={design['dots']}&table={design['table']}&language=es").status == 200
    found["dots"] = axe_violations(page)
    page.locator("#choices input[type=number]").first.fill("99")
    page.check("#consent_read")
    click_and_wait(page, "main form.stack button[type=submit]")
    assert page.locator("#answer-error").count() == 1
    found["dots error"] = axe_violations(page)
    assert page_facts(page)["sideways"] == 0
    assert {name: v for name, v in found.items() if v} == {}


def test_without_javascript_a_notetaker_types_in_a_persons_votes(open_page, live_server, design):
    """With JavaScript off, choosing Agree and Pass, ticking consent and saving stores that person's two votes."""
    page, _meter = open_page(javascript=False)
    sign_in(page, live_server)
    before = votes_count(live_server)
    page.goto(f"/staff/sessions/{design['id']}/entry/votes?prompt={design['react']}&table={design['table']}")
    page.locator("ol.entry-votes input[value=agree]").first.check()
    page.locator("ol.entry-votes input[value=pass]").nth(2).check()
    page.check("#consent_read")
    click_and_wait(page, "main form.stack button[type=submit]")
    assert page.locator(".alert.ok").count() >= 1
    assert votes_count(live_server) == before + 2
