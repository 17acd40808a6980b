"""The main facilitator pages pass axe-core in a real browser, on a laptop and on a phone."""
from __future__ import annotations

import pytest

from .pages import axe_violations, click_and_wait, page_facts

LAPTOP = {"width": 1280, "height": 800}


@pytest.mark.parametrize("viewport", [LAPTOP, None], ids=["laptop", "phone"])
def test_facilitator_pages_have_no_axe_violations(open_page, live_server, viewport):
    """Sign-in, sessions, new session (with its starters), overview, settings, texts, questions, answers, access,
    the printable flyer and "preview as a resident" (consent, every question and the thank-you page, in Spanish and in Arabic, right
    to left) have zero axe violations."""
    page, _meter = open_page(viewport=viewport)
    page.goto("/staff/login")
    found = {"sign in": axe_violations(page)}
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    click_and_wait(page, "main button[type=submit]")
    session = f"/staff/sessions/{live_server.session_id}"
    prompt = page.evaluate("() => 0")
    for name, path in [
        ("sessions", "/staff/"), ("new session", "/staff/sessions/new"), ("overview", session),
        ("settings", f"{session}/settings"), ("texts", f"{session}/texts"),
        ("new question", f"{session}/prompts/new"), ("answers", f"{session}/answers"),
        ("who can see it", f"{session}/access"), ("flyer", f"{session}/flyer"),
        ("flyer, date and place", f"{session}/flyer?when=2027-03-05T18:30&where=Library"),
    ]:
        response = page.goto(path)
        assert response.status == 200, path
        found[name] = axe_violations(page)
        if name == "overview":
            prompt = page.locator(f"main a[href*='{session}/prompts/']").first.get_attribute("href")
    page.goto(prompt)
    found["edit question"] = axe_violations(page)
    for language in ("es", "ar"):
        step = 0
        while (response := page.goto(f"{session}/preview?step={step}&lang={language}")).status == 200:
            found[f"preview {step} {language}"] = axe_violations(page)
            assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
            step += 1
        assert response.status == 404 and step >= 3, (language, step)  # consent, a question, thank you
    assert {name: v for name, v in found.items() if v} == {}
    if viewport is None:
        assert page_facts(page)["sideways"] == 0


def test_design_session_staff_pages_have_no_axe_violations(open_page, live_server):
    """The demo design session's statements page (approve, translate, merge duplicates), its opinion groups and
    priorities page, its ideas, tables and a table's notetaker page, and the console and projector showing the ideas
    grouped by table have zero axe violations on a laptop."""
    from listening.accounts import user_by_email
    from listening.db import connect
    from listening.demo import CONTACTS, demo_languages
    from listening.demo_design import ensure_demo_design

    db = connect(str(live_server.app.config["DATABASE"]))
    with live_server.app.app_context():
        ensure_demo_design(db, languages=demo_languages(), user_id=user_by_email(db, live_server.email)["id"], contact=CONTACTS)
    session_id, prompt_id = db.execute(
        "SELECT p.session_id, p.id FROM prompts p WHERE p.kind = 'react' ORDER BY p.id LIMIT 1").fetchone()
    ideas_id, table_id = db.execute(
        "SELECT p.id, t.id FROM prompts p JOIN session_tables t ON t.session_id = p.session_id "
        "WHERE p.kind = 'ideas' AND p.session_id = ? ORDER BY t.id LIMIT 1", (session_id,)).fetchone()
    db.execute("UPDATE sessions SET mode = 'live', current_prompt_id = ?, answering_open = 1 WHERE id = ?", (ideas_id, session_id))
    db.conn.commit()
    db.conn.close()
    page, _meter = open_page(viewport=LAPTOP)
    page.goto("/staff/login")
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    click_and_wait(page, "main button[type=submit]")
    found = {}
    for name, path in [("statements", f"/staff/sessions/{session_id}/prompts/{prompt_id}/statements"),
                       ("opinions", f"/staff/review/{session_id}/opinions"),
                       ("ideas", f"/staff/sessions/{session_id}/prompts/{ideas_id}/statements"),
                       ("tables", f"/staff/sessions/{session_id}/tables"),
                       ("notetaker", f"/staff/sessions/{session_id}/entry?table={table_id}&language=es&prompt=3"),
                       ("console", f"/staff/sessions/{session_id}/live"),
                       ("projector", f"/staff/sessions/{session_id}/projector")]:
        response = page.goto(path)
        assert response.status == 200, path
        found[name] = axe_violations(page)
    assert page.goto(f"/staff/sessions/{session_id}/prompts/{prompt_id}/statements") and \
        page.locator("form.merge select[name=into]").count() >= 2
    assert {name: v for name, v in found.items() if v} == {}
