"""Design sessions' ideas question in a real browser: propose an idea, see it wait, react to others' approved ideas,
with JavaScript on and off, in Arabic (right to left) and English, every page under 50 KB with zero axe violations."""
from __future__ import annotations

import pytest

from .harness import PAGE_BUDGET
from .pages import Walk, check, click_and_wait, join


@pytest.fixture(scope="module")
def ideas_code(live_server):
    """An open self-paced session in English and Arabic whose one question is an ideas question with two approved ideas."""
    from listening import queries
    from listening import statements as st
    from listening import tables as tb
    from listening.db import connect

    db = connect(str(live_server.app.config["DATABASE"]))
    languages = ["en", "ar"]
    texts = {"title": {c: f"Co-design [{c}]" for c in languages}, "purpose": {c: f"Purpose [{c}]" for c in languages},
             "consent": {c: f"Taking part is your choice [{c}]." for c in languages}}
    found = queries.create_session(db, languages=languages, mode="self_paced", timezone_name="America/New_York",
                                   created_by=None, texts=texts)
    prompt_id = queries.add_prompt(db, found["id"], kind="ideas",
                                   texts={"en": "How might we make the clinic easier to reach?",
                                          "ar": "كيف يمكننا أن نسهّل الوصول إلى العيادة؟"})
    tb.add_table(db, found["id"], name="طاولة العربية", language="ar", note="مع مترجمة")
    st.add_statement(db, found["id"], prompt_id, language="en", body="A shuttle from the library",
                     translations={"ar": "حافلة صغيرة من المكتبة"})
    st.add_statement(db, found["id"], prompt_id, language="ar", body="مواعيد مسائية في العيادة",
                     translations={"en": "Evening appointments at the clinic"})
    queries.set_status(db, found["id"], "open")
    db.conn.close()
    return found["code"]



@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_ideas_screens_pass_every_check(open_page, ideas_code, lang, javascript):
    """The ideas screen, an empty idea's error, a sent idea, each idea to react to and the done screen pass lang/dir,
    width, weight and axe (run with JavaScript on; the same pages without it must still work)."""
    page, meter = open_page(javascript=javascript, lang=lang)
    walk = Walk(lang, javascript)
    join(page, ideas_code, lang)
    meter.start()
    page.reload()
    visit = check(page, meter, walk, "ideas", axe=javascript)
    assert visit.bytes <= PAGE_BUDGET
    assert page.is_visible("details.own #body")
    meter.start()
    click_and_wait(page, "details.own button[type=submit]")
    check(page, meter, walk, "empty idea", axe=javascript)
    assert page.get_attribute("#body", "aria-invalid") == "true"
    page.fill("#body", "عيادة متنقلة — a mobile clinic")
    meter.start()
    click_and_wait(page, "details.own button[type=submit]")
    check(page, meter, walk, "idea sent", axe=javascript)
    assert page.locator(".alert.ok").count() == 1
    for number in range(2):
        meter.start()
        click_and_wait(page, ["button[value=agree]", "button[value=pass]"][number])
        check(page, meter, walk, f"after vote {number + 1}", axe=javascript)
    assert page.locator("form.vote").count() == 0
    assert page.locator("details.mine li").count() == 2
