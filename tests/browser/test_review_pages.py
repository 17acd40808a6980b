"""A planner's pages after a theme run, in a real browser: they fit a laptop without sideways scrolling and pass axe.

The demo's "about you" questions have up to 9 choices, so "Themes by group" tables are wide and their row headers are
whole sentences (the themes' names). The module runs the engine on a server of its own, so the other browser tests
keep an un-themed demo.
"""
from __future__ import annotations

import re

import pytest

from .harness import start_server
from .pages import axe_violations, click_and_wait, page_facts

WINDOWS = {"1024": {"width": 1024, "height": 768}, "1280": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def themed(tmp_path_factory, browser):
    """A live server of its own whose demo session's answers have been through one theme run."""
    server = start_server(tmp_path_factory.mktemp("themed"))
    context = browser.new_context(viewport=WINDOWS["1280"], base_url=server.url)
    page = context.new_page()
    sign_in(page, server)
    page.goto(f"/staff/review/{server.session_id}")
    click_and_wait(page, "main form button:has-text('Draft themes')")
    context.close()
    yield server
    server.stop()


def sign_in(page, server) -> None:
    """Sign the demo facilitator in."""
    page.goto("/staff/login")
    page.fill("#email", server.email)
    page.fill("#password", server.password)
    click_and_wait(page, "main button[type=submit]")


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_synthesis_pages_fit_a_laptop_and_pass_axe_after_a_theme_run(browser, themed, lang, window):
    """Themes, a theme, who was heard, reports, residents' page and history: no sideways scroll, zero axe violations."""
    context = browser.new_context(viewport=WINDOWS[window], base_url=themed.url, locale=lang)
    try:
        page = context.new_page()
        sign_in(page, themed)
        review = f"/staff/review/{themed.session_id}"
        page.goto(f"{review}?lang={lang}")
        theme = page.locator("main a[href*='theme=']").first.get_attribute("href")
        assert theme and re.search(r"theme=\d+", theme)
        found = {}
        for name, path in [("themes", review), ("a theme", theme), ("who was heard", f"{review}/heard"),
                           ("reports", f"{review}/export"), ("residents' page", f"{review}/publish"),
                           ("history", f"{review}/history")]:
            assert page.goto(path).status == 200, path
            facts = page_facts(page)
            found[name] = {"lang": facts["lang"], "sideways": facts["sideways"], "axe": axe_violations(page)}
        assert {name: seen for name, seen in found.items() if seen != {"lang": lang, "sideways": 0, "axe": []}} == {}
    finally:
        context.close()
