"""Pages that keep a person private, in a real browser: "forget me", the receipt slip, accounts, withdrawing for someone."""
from __future__ import annotations

import pytest

from .pages import Walk, answer_every_question, axe_violations, check, click_and_wait, page_facts

LAPTOP = {"width": 1280, "height": 800}


@pytest.mark.parametrize("lang, javascript", [("ur", False), ("en", True)])
def test_forget_me_on_a_shared_device(open_page, live_server, lang, javascript):
    """After the last question, "forget me" leads to a plain confirmation (in the language, no sideways scroll, axe-clean).

    axe-core runs inside the page, so it is checked with JavaScript on; without it the same page is weighed and measured.
    """
    page, meter = open_page(javascript=javascript, lang=lang)
    walk = Walk(lang, javascript)
    page.goto(f"/j/{live_server.code}?lang={lang}")
    click_and_wait(page, "main a.button.primary")
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")
    answer_every_question(page, meter, walk, axe=False)
    assert page.is_visible(".receipt .code")
    meter.start()
    click_and_wait(page, "section.forget button[type=submit]")
    check(page, meter, walk, "forgotten", axe=javascript)
    assert all(cookie["name"] != "chorus" for cookie in page.context.cookies())
    page.goto(f"/s/{live_server.code}/thanks")
    assert f"/j/{live_server.code}" in page.url


def sign_in(page, email: str, password: str) -> None:
    """Sign a staff member in through the form."""
    page.goto("/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    click_and_wait(page, "main button[type=submit]")


def test_a_paper_entry_receipt_and_its_slip(open_page, live_server):
    """The entry page with a receipt and the Spanish slip pass axe; the slip prints on one page, also without JavaScript."""
    page, _meter = open_page(viewport=LAPTOP)
    sign_in(page, live_server.email, live_server.password)
    entry = f"/staff/sessions/{live_server.session_id}/entry?prompt=1&language=es&source=paper"
    page.goto(entry)
    page.fill("#answer", "Necesito transporte al médico")
    page.check("#consent_read")
    click_and_wait(page, "main form.stack button[type=submit]")
    code = page.text_content(".entry-receipt .code").strip()
    assert len(code) == 14
    found = {"entry with receipt": axe_violations(page)}
    click_and_wait(page, ".entry-receipt a")
    found["slip"] = axe_violations(page)
    assert page_facts(page)["lang"] == "es"
    assert page.text_content(".slip .code").strip() == code
    assert page.is_visible("[data-print]")
    page.emulate_media(media="print")
    assert not page.is_visible(".no-print")
    pdf = page.pdf(format="Letter")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1
    found["account"] = []
    page.goto("/staff/account")
    page.emulate_media(media="screen")
    found["account"] = axe_violations(page)
    assert {name: v for name, v in found.items() if v} == {}

    plain, _ = open_page(javascript=False, viewport=LAPTOP)
    sign_in(plain, live_server.email, live_server.password)
    plain.goto(f"/staff/sessions/{live_server.session_id}/entry?prompt=1&language=ar&source=phone_call")
    plain.fill("#answer", "أحتاج إلى مواصلات")
    plain.check("#consent_read")
    click_and_wait(plain, "main form.stack button[type=submit]")
    click_and_wait(plain, ".entry-receipt a")
    assert page_facts(plain)["dir"] == "rtl"
    assert plain.is_visible(".slip .code") and not plain.is_visible("[data-print]")


def test_admin_pages_for_accounts_and_withdrawing_for_someone(open_page, live_server):
    """Accounts (with password reset), and both forms of "withdraw a person", pass axe on a phone."""
    from listening.accounts import create_user
    from listening.db import connect

    db = connect(live_server.app.config["DATABASE"])
    try:
        create_user(db, "privacy-admin@example.org", "browser-admin-password", "admin")
        person = db.execute("SELECT participant_id FROM responses WHERE text IS NOT NULL LIMIT 1").fetchone()[0]
    finally:
        db.conn.close()
    page, _meter = open_page()
    sign_in(page, "privacy-admin@example.org", "browser-admin-password")
    found = {}
    for name, path in [("accounts", "/staff/users"), ("withdraw by receipt", "/staff/withdraw"),
                       ("withdraw this person", f"/staff/withdraw?participant={person}")]:
        response = page.goto(path)
        assert response.status == 200, path
        found[name] = axe_violations(page)
        assert page_facts(page)["sideways"] == 0, name
    assert {name: v for name, v in found.items() if v} == {}
