"""The resident flow in a real browser, in English, Spanish, Arabic and Urdu, with JavaScript on and off."""
from __future__ import annotations

import pytest

from .harness import PAGE_BUDGET, WEIGHTS
from .pages import MIXED_ANSWERS, RTL_LANGUAGES, Walk, check, click_and_wait, page_facts, walk_resident_flow

LANGUAGES = ["en", "es", "ar", "ur"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_resident_flow_passes_every_check(open_page, live_server, lang, javascript):
    """A resident completes the flow; each page has lang/dir, no sideways scroll, <= 50 KB, one origin, zero axe violations."""
    page, meter = open_page(javascript=javascript, lang=lang)
    # axe-core runs inside the page, so it needs JavaScript; the no-JS pages differ only by the hidden read-aloud button.
    walk = walk_resident_flow(page, meter, live_server.url, live_server.code, lang, javascript=javascript,
                              axe=javascript)
    WEIGHTS[(lang, javascript)] = walk.visits
    assert len(walk.visits) == 18  # with the own-words error on the race question
    assert max(v.bytes for v in walk.visits) <= PAGE_BUDGET


@pytest.mark.parametrize("lang", LANGUAGES)
def test_other_resident_pages_pass_axe(open_page, live_server, lang):
    """Declined, unknown session and not-found pages pass the same checks."""
    page, meter = open_page(lang=lang)
    walk = Walk(lang, True)
    meter.start()
    page.goto(f"/j/{live_server.code}?lang={lang}")
    click_and_wait(page, "main a.button.primary")
    meter.start()
    click_and_wait(page, "button[value=decline]")
    check(page, meter, walk, "declined", axe=True)
    page.goto("/j/ZZZ999")
    check(page, meter, walk, "unknown session", axe=True)
    page.goto("/no/such/page")
    check(page, meter, walk, "not found", axe=True)


@pytest.mark.parametrize("lang,javascript", [("ar", True), ("ar", False), ("ur", False), ("en", True)])
def test_layout_mirrors_in_right_to_left(open_page, live_server, lang, javascript):
    """In Arabic and Urdu the main button, progress text and choices sit at the right edge; in English at the left."""
    page, _meter = open_page(javascript=javascript, lang=lang)
    page.goto(f"/j/{live_server.code}?lang={lang}")
    rtl = lang in RTL_LANGUAGES
    start_edge = "right" if rtl else "left"

    def edge(selector: str, text: bool = False) -> float:
        """Return the start-side edge of an element (or of its text) in CSS pixels."""
        return page.evaluate(
            """([selector, text, side]) => { const e = document.querySelector(selector);
                 let box = e.getBoundingClientRect();
                 if (text) { const r = document.createRange(); r.selectNodeContents(e); box = r.getBoundingClientRect(); }
                 return box[side]; }""",
            [selector, text, start_edge],
        )

    assert edge("main a.button.primary") == pytest.approx(edge("main h1"), abs=1)
    click_and_wait(page, "main a.button.primary")
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")
    assert edge(".progress", text=True) == pytest.approx(edge("main h1"), abs=1)
    assert edge("label[for=answer]", text=True) == pytest.approx(edge("main h1"), abs=1)
    page.fill("#answer", MIXED_ANSWERS[lang])
    assert page.get_attribute("#answer", "dir") == "auto"
    direction = page.evaluate("() => getComputedStyle(document.querySelector('main')).direction")
    assert direction == ("rtl" if rtl else "ltr")
    # A scale question: "1" sits at the start side, then "2".
    page.goto(f"/s/{live_server.code}/q/4")
    one, two = edge("label[for=answer-1]"), edge("label[for=answer-2]")
    assert (one > two) if rtl else (one < two)


def test_scale_symbols_are_decoration_and_names_carry_number_and_label(open_page, live_server):
    """Scale choices show dots that screen readers skip; each name is the number, with end labels at the ends."""
    page, _meter = open_page(lang="en")
    page.goto(f"/j/{live_server.code}?lang=en")
    click_and_wait(page, "main a.button.primary")
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")
    page.goto(f"/s/{live_server.code}/q/4")
    names = [page.get_by_role("radio").nth(i).evaluate("e => e.labels[0].innerText") for i in range(5)]
    snapshot = page.locator("#choices").aria_snapshot()
    assert "●" not in snapshot and "○" not in snapshot
    assert [line.strip() for line in snapshot.splitlines() if "radio" in line] == [
        '- radio "1 (Not at all)"', '- radio "2"', '- radio "3"', '- radio "4"', '- radio "5 (Very well)"',
    ]
    assert all("●" in name for name in names)  # the dots are visible


def test_pages_work_at_two_hundred_percent_zoom_and_reduced_motion(open_page, live_server):
    """A 640 px window at 200% zoom (320 CSS px, done by the flow) and a 1280 px one reflow; nothing moves under reduced motion."""
    page, _meter = open_page(viewport={"width": 640, "height": 400}, reduced_motion="reduce")
    page.goto(f"/j/{live_server.code}?lang=ar")
    assert page_facts(page)["sideways"] == 0
    click_and_wait(page, "main a.button.primary")
    assert page_facts(page)["sideways"] == 0
    moving = page.evaluate(
        """() => [...document.querySelectorAll('*')].filter(e => { const s = getComputedStyle(e);
              return s.animationName !== 'none' || s.transitionDuration.split(',').some(d => parseFloat(d) > 0); }).length"""
    )
    assert moving == 0


@pytest.mark.parametrize("lang", ["ar", "ur"])
def test_phone_numbers_keep_their_order_in_right_to_left_consent(open_page, live_server, lang):
    """The team's phone number reads "(336) 555-0142" from left to right in the Arabic and Urdu summary and full statement."""
    page, _meter = open_page(javascript=True, lang=lang, viewport={"width": 1024, "height": 768})  # one line each
    page.goto(f"/j/{live_server.code}?lang={lang}")
    click_and_wait(page, "main a.button.primary")
    page.click(".full-statement summary")
    lefts = page.evaluate(
        """() => { const found = []; const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
             while (walker.nextNode()) { const node = walker.currentNode; const at = node.textContent.indexOf('0142');
               if (at < 0) continue;
               const part = (piece) => { const start = node.textContent.lastIndexOf(piece, at);
                 const range = document.createRange(); range.setStart(node, start); range.setEnd(node, start + piece.length);
                 return range.getBoundingClientRect().left; };
               found.push([part('(336)'), part('555'), part('0142')]); }
             return found; }"""
    )
    assert len(lefts) == 2  # the summary's "Who we are" and the full statement's last paragraph
    for area, exchange, line in lefts:
        assert area < exchange < line, lefts
