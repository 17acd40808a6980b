"""The import pages pass axe-core in a real browser, on a laptop and on a phone, and work without JavaScript."""
from __future__ import annotations

from pathlib import Path

import pytest

from .pages import axe_violations, click_and_wait, page_facts

LAPTOP = {"width": 1280, "height": 800}
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "interchange" / "google_forms.csv"


@pytest.mark.parametrize("viewport", [LAPTOP, None], ids=["laptop", "phone"])
def test_upload_preview_and_result_pages_have_no_axe_violations(open_page, live_server, viewport):
    """Upload, preview (with its mapping table and problems) and the import's own page have zero axe violations."""
    page, _meter = open_page(viewport=viewport)
    page.goto("/staff/login")
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    click_and_wait(page, "main button[type=submit]")
    page.goto(f"/staff/sessions/{live_server.session_id}/import")
    found = {"upload": axe_violations(page)}
    page.set_input_files("#file", str(SAMPLE))
    click_and_wait(page, "main form[enctype] button[type=submit]")
    assert "/import/" in page.url
    found["preview"] = axe_violations(page)
    # The sample's open question ("What made it hard...", column F) answers the demo's first, open question.
    page.select_option("#col-5", "question:1")
    click_and_wait(page, "button[value=confirm]")
    found["result"] = axe_violations(page)
    # The server is shared by both viewports: the second run finds the file already imported, and says so.
    said = [m.inner_text() for m in page.locator(".alert, .flash, [role=alert]").all()]
    assert "/imports/" in page.url or "nothing new to import" in page.content(), (page.url, said)
    assert {name: v for name, v in found.items() if v} == {}
    if viewport is None:
        assert page_facts(page)["sideways"] == 0
