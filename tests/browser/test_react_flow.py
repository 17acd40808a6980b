"""Design sessions' react question in a real browser: one statement per screen, in English, Spanish, Arabic and Urdu,
with JavaScript on and off, keyboard only, every page under 50 KB with zero axe violations."""
from __future__ import annotations

import pytest

from .harness import PAGE_BUDGET
from .pages import Walk, check, click_and_wait, join

LANGUAGES = ["en", "es", "ar", "ur"]


@pytest.fixture(scope="module")
def react_code(live_server):
    """A open self-paced session in four languages whose one question is a react question with three statements."""
    from listening import queries
    from listening import statements as st
    from listening.db import connect

    db = connect(str(live_server.app.config["DATABASE"]))
    languages = ["en", "es", "ar", "ur"]
    texts = {"title": {c: f"Design [{c}]" for c in languages}, "purpose": {c: f"Purpose [{c}]" for c in languages},
             "consent": {c: f"Taking part is your choice [{c}]." for c in languages}}
    found = queries.create_session(db, languages=languages, mode="self_paced", timezone_name="America/New_York",
                                   created_by=None, texts=texts)
    prompt_id = queries.add_prompt(db, found["id"], kind="react", texts={c: f"What should the clinic do? [{c}]" for c in languages})
    st.add_statement(db, found["id"], prompt_id, language="en", body="Evening hours at the clinic",
                     translations={"es": "Horario de noche en la clínica", "ar": "ساعات مسائية في العيادة",
                                   "ur": "کلینک میں شام کے اوقات"})
    st.add_statement(db, found["id"], prompt_id, language="ar", body="مواصلات مجانية إلى المواعيد",
                     translations={"en": "Free rides to appointments", "es": "Transporte gratis a las citas"})
    st.add_statement(db, found["id"], prompt_id, language="es", body="Doulas que hablen español")
    queries.set_status(db, found["id"], "open")
    db.conn.close()
    return found["code"]



@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_react_screens_pass_every_check(open_page, react_code, lang, javascript):
    """Each statement screen, a mistaken own statement and the done screen pass lang/dir, width, weight and axe."""
    page, meter = open_page(javascript=javascript, lang=lang)
    walk = Walk(lang, javascript)
    join(page, react_code, lang)
    meter.start()
    page.reload()
    for number in range(3):
        visit = check(page, meter, walk, f"statement {number + 1}", axe=javascript)
        assert visit.bytes <= PAGE_BUDGET
        if page.locator("details.original").count():
            page.click("details.original summary")
            assert page.is_visible("details.original p")
        meter.start()
        click_and_wait(page, ["button[value=agree]", "button[value=disagree]", "button[value=pass]"][number])
    check(page, meter, walk, "every statement voted", axe=javascript)
    assert page.locator("form.vote").count() == 0
    meter.start()
    click_and_wait(page, "details.own button[type=submit]")
    check(page, meter, walk, "own statement, empty", axe=javascript)
    assert page.get_attribute("#body", "aria-invalid") == "true"
    page.fill("#body", "مزيد من المترجمين — more interpreters")
    meter.start()
    click_and_wait(page, "details.own button[type=submit]")
    check(page, meter, walk, "own statement, sent", axe=javascript)


def test_keyboard_alone_votes_and_changes_a_vote(open_page, react_code):
    """With the keyboard only, a resident reaches Agree by Tab, votes with Enter, and can open 'your votes' and change one."""
    page, _meter = open_page(lang="ar")
    join(page, react_code, "ar")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.value") == "agree":
            break
    else:
        pytest.fail("Tab never reached the Agree button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("details.mine summary").count() == 1
    page.focus("details.mine summary")
    page.keyboard.press("Enter")
    link = page.locator("details.mine a").first
    assert link.is_visible()
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#vote-now").is_visible()


@pytest.fixture(scope="module")
def prioritise_code(live_server):
    """An open self-paced session in four languages with a dots, a top-three ranking and a points-budget question."""
    from listening import queries
    from listening.db import connect

    db = connect(str(live_server.app.config["DATABASE"]))
    languages = ["en", "es", "ar", "ur"]
    texts = {"title": {c: f"Priorities [{c}]" for c in languages}, "purpose": {c: f"Purpose [{c}]" for c in languages},
             "consent": {c: f"Taking part is your choice [{c}]." for c in languages}}
    found = queries.create_session(db, languages=languages, mode="self_paced", timezone_name="America/New_York",
                                   created_by=None, texts=texts)
    for kind in ("dots", "rank", "budget"):
        queries.add_prompt(db, found["id"], kind=kind, texts={c: f"What matters most? ({kind}) [{c}]" for c in languages},
                           options={c: [f"Rides [{c}]", f"Food [{c}]", f"Doulas [{c}]", f"Childcare [{c}]"] for c in languages})
    queries.set_status(db, found["id"], "open")
    db.conn.close()
    return found["code"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_prioritise_screens_pass_every_check(open_page, prioritise_code, lang, javascript):
    """Dots, ranking and budget screens, and each one's error, pass lang/dir, width, weight and axe; valid answers go on."""
    page, meter = open_page(javascript=javascript, lang=lang)
    walk = Walk(lang, javascript)
    join(page, prioritise_code, lang)
    meter.start()
    page.reload()
    check(page, meter, walk, "dots", axe=javascript)
    boxes = page.locator("#choices input[type=number]")
    boxes.nth(0).fill("4")
    boxes.nth(1).fill("3")
    meter.start()
    click_and_wait(page, "button[value=next]")
    check(page, meter, walk, "dots, too many", axe=javascript)
    assert page.get_attribute("#choices input >> nth=0", "aria-invalid") == "true"
    page.locator("#choices input[type=number]").nth(1).fill("1")
    meter.start()
    click_and_wait(page, "button[value=next]")
    check(page, meter, walk, "ranking", axe=javascript)
    page.select_option("#answer-1", index=2)
    page.select_option("#answer-2", index=2)
    meter.start()
    click_and_wait(page, "button[value=next]")
    check(page, meter, walk, "ranking, repeated", axe=javascript)
    page.select_option("#answer-2", index=1)
    meter.start()
    click_and_wait(page, "button[value=next]")
    check(page, meter, walk, "budget", axe=javascript)
    page.locator("#choices input[type=number]").nth(0).fill("70")
    page.locator("#choices input[type=number]").nth(3).fill("30")
    click_and_wait(page, "button[value=next]")
    assert "/thanks" in page.url
