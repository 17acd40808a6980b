"""A new facilitator opens a 4-question English and Spanish session in at most 12 clicks, measured in a real browser."""
from __future__ import annotations

from listening import queries
from listening.db import connect

from .pages import axe_violations

MAX_CLICKS = 12


class Clicks:
    """Counts every click the test makes (typing into a box is not a click)."""

    def __init__(self, page):
        """Wrap a page."""
        self.page = page
        self.count = 0

    def click(self, selector: str, *, navigates: bool = True) -> None:
        """Click once, waiting for the next page when the click loads one."""
        self.count += 1
        if navigates:
            with self.page.expect_navigation():
                self.page.click(selector)
        else:
            self.page.click(selector)


def test_a_four_question_bilingual_session_opens_in_twelve_clicks_or_fewer(open_page, live_server):
    """Sign in, New session, pick the short survey, tick Spanish, Create, Open: a 4-question en/es session is open."""
    page, _meter = open_page(viewport={"width": 1280, "height": 900})
    clicks = Clicks(page)
    page.goto("/staff/login")
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    clicks.click("main button[type=submit]")
    clicks.click("text=New session")
    clicks.click("#starter-survey", navigates=False)
    clicks.click("#languages-es", navigates=False)
    assert axe_violations(page) == []
    clicks.click("main button[type=submit].primary")
    clicks.click("button[name=status][value=open]")
    assert clicks.count <= MAX_CLICKS
    code = page.locator("dd.code").first.inner_text().strip()
    db = connect(str(live_server.app.config["DATABASE"]))
    try:
        found = queries.session_by_code(db, code)
        assert (found["status"], found["languages"]) == ("open", ["en", "es"])
        assert len(queries.prompts_for_session(db, found["id"])) == 4
    finally:
        db.conn.close()
    print(f"clicks to an open 4-question bilingual session: {clicks.count}")
