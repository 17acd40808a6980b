"""What every resident page must pass in the browser, and the resident flow that visits them all.

Shared by the browser tests and `bench/page_weight.py`: `walk_resident_flow` takes a page
through join, consent (with a mistake first), every question, thanks and withdraw, and checks
each page on the way.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .harness import PAGE_BUDGET, Meter

# Answers that mix directions: Arabic with Western digits, English with an Arabic phrase.
MIXED_ANSWERS = {
    "en": "The bus 22 helped — الحافلة رقم 22 ساعدتني",
    "es": "El autobús 22 me ayudó — الحافلة ساعدتني",
    "ar": "ساعدتني الحافلة رقم 22 (bus 22) كثيرًا",
    "ur": "بس نمبر 22 (bus 22) سے مجھے بہت مدد ملی",
}
# What a resident types in the box under a self-described choice (right to left in Arabic and Urdu).
OWN_WORDS = {"en": "Garifuna and Black", "es": "Garífuna y negra", "ar": "سوداني ومصري", "ur": "پنجابی اور کشمیری"}
RTL_LANGUAGES = {"ar", "ur"}


@dataclass
class Visit:
    """One resident page as the browser saw it."""

    name: str
    bytes: int
    requests: int
    violations: list = field(default_factory=list)


@dataclass
class Walk:
    """Everything one walk through the resident flow saw."""

    lang: str
    javascript: bool
    visits: list[Visit] = field(default_factory=list)


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page and return its violations as plain data (rule, impact, targets)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {"rule": v["id"], "impact": v.get("impact"), "help": v["help"],
         "targets": [" ".join(map(str, n["target"])) for n in v["nodes"]]}
        for v in results.response["violations"]
    ]


def page_facts(page) -> dict:
    """Return the page's language, direction and how far it scrolls sideways."""
    return page.evaluate(
        """() => ({lang: document.documentElement.lang, dir: document.documentElement.dir,
                   sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth})"""
    )


def check(page, meter: Meter, walk: Walk, name: str, *, axe: bool) -> Visit:
    """Check the page just loaded: language, direction, no sideways scroll, weight, one origin, axe."""
    transfer = meter.take()
    facts = page_facts(page)
    expected_dir = "rtl" if walk.lang in RTL_LANGUAGES else "ltr"
    assert facts == {"lang": walk.lang, "dir": expected_dir, "sideways": 0}, name
    assert transfer.foreign == [], name
    assert transfer.total <= PAGE_BUDGET, (name, transfer.requests)
    visit = Visit(name, transfer.total, len(transfer.requests), axe_violations(page) if axe else [])
    assert visit.violations == [], (name, visit.violations)
    walk.visits.append(visit)
    return visit


def click_and_wait(page, selector: str) -> None:
    """Click something that loads a new page and wait until that page has loaded."""
    with page.expect_navigation():
        page.click(selector)


def join(page, code: str, lang: str) -> None:
    """Open a session's join page in `lang` and agree to take part (the phone lands on the first question)."""
    page.goto(f"/j/{code}?lang={lang}")
    click_and_wait(page, "main a.button.primary")
    page.check("#take_part")
    click_and_wait(page, "button[value=agree]")


def assert_focus(page, element_id: str, timeout_ms: int = 3000) -> None:
    """Wait until the element with `element_id` has focus (autofocus lands just after load), or fail."""
    try:
        page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                               arg=element_id, timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - report what did have focus instead of a timeout
        raise AssertionError(f"focus is on {focused(page)}, not #{element_id}") from None


def focused(page) -> dict:
    """Describe the focused element: its tag, id, name and whether a focus outline shows."""
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name')}; }"""
    )


def answer_every_question(page, meter, walk, *, axe: bool) -> None:
    """Answer each question of the demo session the way its kind asks, checking each page."""
    number = 0
    while "/q/" in page.url:
        number += 1
        kind = page.evaluate(
            """() => document.querySelector('textarea#answer') ? 'open'
                     : document.querySelector('.scale') ? 'scale'
                     : document.querySelector('input[type=checkbox][name=answer]') ? 'multiple' : 'choice'"""
        )
        check(page, meter, walk, f"question {number} ({kind})", axe=axe)
        if walk.javascript and number > 1:
            assert_focus(page, "question")  # focus lands on the new question
        meter.start()
        if kind == "open" and number == 1:
            page.fill("#answer", MIXED_ANSWERS[walk.lang])
        elif kind == "open":
            click_and_wait(page, "button[value=skip]")
            continue
        elif kind == "scale":
            page.check("#answer-4")
        elif kind == "multiple":
            page.check("#answer-1")
            page.check("#answer-3")
        elif page.query_selector("input#described"):
            # Own words with another choice: a translated error that keeps both, then the choice they describe.
            page.check("#answer-2")
            page.fill("#described", OWN_WORDS[walk.lang])
            click_and_wait(page, "button[value=next]")
            check(page, meter, walk, f"question {number} (own words error)", axe=axe)
            assert page.input_value("#described") == OWN_WORDS[walk.lang]
            assert page.get_attribute("#described", "aria-invalid") == "true"
            choices = page.locator("input[type=radio][name=answer]")
            choices.nth(choices.count() - 2).check()  # the last choice before "Prefer not to say"
            meter.start()
        else:
            page.check("#answer-2")
        click_and_wait(page, "button[value=next]")


def walk_resident_flow(page, meter: Meter, base: str, code: str, lang: str, *, javascript: bool,
                       axe: bool = True) -> Walk:
    """Take part from the join page to withdrawing, in `lang`, checking every page on the way."""
    walk = Walk(lang, javascript)
    meter.start()
    page.goto(f"/?lang={lang}")
    check(page, meter, walk, "index", axe=axe)
    click_and_wait(page, "main button.primary")
    check(page, meter, walk, "index, code missing", axe=axe)
    assert_focus(page, ("problems" if javascript else "code"))
    page.fill("#code", code)
    click_and_wait(page, "main button.primary")
    check(page, meter, walk, "join", axe=axe)
    click_and_wait(page, "main a.button.primary")
    check(page, meter, walk, "consent", axe=axe)
    assert page.is_visible(".read-aloud button") is javascript
    click_and_wait(page, "button[value=agree]")
    check(page, meter, walk, "consent, not ticked", axe=axe)
    assert_focus(page, ("problems" if javascript else "take_part"))
    assert page.get_attribute("#take_part", "aria-invalid") == "true"
    assert "take_part-error" in page.get_attribute("#take_part", "aria-describedby").split()
    page.check("#take_part")
    page.check("#quote_ok")
    click_and_wait(page, "button[value=agree]")
    answer_every_question(page, meter, walk, axe=axe)
    check(page, meter, walk, "thanks", axe=axe)
    receipt = page.text_content(".receipt .code").strip()
    assert page.get_attribute(".receipt .code", "dir") == "ltr"
    page.goto("/withdraw")
    check(page, meter, walk, "withdraw", axe=axe)
    page.fill("#receipt", "AAAA-BBBB-CCCC")
    page.check("#confirm")
    click_and_wait(page, "main button.primary")
    check(page, meter, walk, "withdraw, unknown code", axe=axe)
    assert_focus(page, ("problems" if javascript else "receipt"))
    page.fill("#receipt", receipt)
    page.check("#confirm")
    click_and_wait(page, "main button.primary")
    check(page, meter, walk, "withdrawn", axe=axe)
    return walk
