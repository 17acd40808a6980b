"""Keyboard-only use, visible focus, and the read-aloud buttons, in a real browser."""
from __future__ import annotations

import pytest

from .pages import assert_focus, click_and_wait

# Records what would be spoken instead of speaking, so tests can read it.
FAKE_SPEECH = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (u) => { window.__spoken.push({text: u.text, lang: u.lang});
                                          setTimeout(() => u.onend && u.onend(), 0); };
  window.speechSynthesis.cancel = () => {};
}
"""
NO_SPEECH = "Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});"


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has focus, checking that the focus outline shows on it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
            )
            assert outline[0] != "none" and outline[1] != "0px", (selector, outline)
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("lang,javascript", [("en", True), ("ar", False)])
def test_whole_flow_with_the_keyboard_alone(open_page, live_server, lang, javascript):
    """Skip link, consent, every question and the receipt are reachable and usable by keyboard, with focus visible."""
    page, _meter = open_page(javascript=javascript, lang=lang)
    page.goto(f"/j/{live_server.code}?lang={lang}")
    tab_to(page, "a.skip")
    page.keyboard.press("Enter")
    assert_focus(page, "main")
    tab_to(page, "main a.button.primary")
    page.keyboard.press("Enter")
    page.wait_for_url("**/consent")
    tab_to(page, "#take_part")
    page.keyboard.press("Space")
    tab_to(page, "button[value=agree]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/q/1")
    for number in range(1, 9):
        kind = page.evaluate(
            "() => document.querySelector('textarea#answer') ? 'open' : document.querySelector('input[type=checkbox][name=answer]') ? 'multiple' : 'choice'"
        )
        if kind == "open":
            tab_to(page, "#answer")
            page.keyboard.type("Rides from my sister")
        else:
            tab_to(page, "input[name=answer]")
            page.keyboard.press("Space")
            if kind == "choice":
                page.keyboard.press("ArrowDown")  # arrows move the choice within the group
        tab_to(page, "button[value=next]")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/q/{number + 1}" if number < 8 else "**/thanks")
    assert page.is_visible(".receipt .code")
    tab_to(page, "main a[href$='/withdraw']")


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_read_aloud_reads_statement_and_question_in_page_language(open_page, live_server, lang):
    """With speech synthesis, the buttons show and read the statement and the question with the page's language."""
    page, _meter = open_page(lang=lang, init_script=FAKE_SPEECH)
    page.goto(f"/j/{live_server.code}?lang={lang}")
    click_and_wait(page, "main a.button.primary")
    statement = page.text_content("#statement-text")
    page.click(".read-aloud button")
    spoken = page.evaluate("() => window.__spoken")
    assert [s["lang"] for s in spoken] == [lang]
    assert " ".join(statement.split())[:60] in spoken[0]["text"]
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")
    page.goto(f"/s/{live_server.code}/q/3")
    question = page.text_content("h1.question").strip()
    first_choice = page.text_content("label[for=answer-1]").strip()
    page.click(".read-aloud button")
    spoken = page.evaluate("() => window.__spoken")
    assert spoken[0]["lang"] == lang
    assert spoken[0]["text"].startswith(question) and first_choice in spoken[0]["text"]


def test_read_aloud_is_hidden_without_speech_or_javascript(open_page, live_server):
    """Without speech synthesis, or with JavaScript off, no read-aloud button shows."""
    for options in ({"init_script": NO_SPEECH}, {"javascript": False}):
        page, _meter = open_page(**options)
        page.goto(f"/j/{live_server.code}?lang=en")
        click_and_wait(page, "main a.button.primary")
        assert page.locator(".read-aloud").count() == 1
        assert not page.is_visible(".read-aloud button")
