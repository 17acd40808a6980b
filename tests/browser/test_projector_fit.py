"""The projector fits the room's screen: no scrolling at 1024x768, 1280x720, 1920x1080 and a portrait TV,
every option label readable (long lists page with a visible "2 of 3"), a footer on every question."""
from __future__ import annotations

import secrets

import pytest

from facilitation import live_queries
from listening import queries
from listening.db import connect
from listening.demo import PROMPTS, PURPOSE, TITLE
from tests.factories import make_participant, user_id

from .pages import axe_violations
from .test_wall_moderation import sign_in

SIZES = {
    "1024x768": {"width": 1024, "height": 768},
    "1280x720": {"width": 1280, "height": 720},
    "1920x1080": {"width": 1920, "height": 1080},
    "portrait-tv": {"width": 1080, "height": 1920},
}
LANGUAGES = ("en", "es", "ar", "ur")
# A choice question with many long options, in four languages: more than fits on one page anywhere.
MANY = {"kind": "single", "texts": {code: PROMPTS[4]["texts"][code] for code in LANGUAGES},
        "options": {code: PROMPTS[4]["options"][code] + PROMPTS[6]["options"][code][:5] for code in LANGUAGES}}
WALL = [
    "The doula who came to our house every week", "Rides to the clinic from the church van",
    "Nobody at the front desk spoke Spanish, so I missed two appointments before someone helped me find an interpreter",
    "WIC", "My mother-in-law", "A nurse who called me after the birth to ask how I was sleeping and eating",
    "Childcare for my older kids during visits", "The bus takes two hours each way with a transfer downtown",
    "Group prenatal classes where I met other moms from my neighborhood", "Paperwork in Arabic",
    "Being believed when I said something felt wrong", "Free car seat", "Someone to go with me",
    "A text reminder the day before the appointment, in my language",
]


@pytest.fixture(scope="module")
def room(live_server):
    """A live four-language session (the demo's wording) owned by the demo facilitator, with answers to show."""
    db = connect(str(live_server.app.config["DATABASE"]))
    owner = user_id(db, live_server.email)
    found = queries.create_session(
        db, languages=list(LANGUAGES), mode="live", timezone_name="America/New_York", created_by=owner,
        wall_moderation=False,
        texts={"title": TITLE, "purpose": PURPOSE, "consent": {code: "Taking part is your choice." for code in LANGUAGES}},
    )
    for spec in [PROMPTS[0], PROMPTS[2], MANY, PROMPTS[6]]:
        queries.add_prompt(db, found["id"], kind=spec["kind"], demographic=spec.get("demographic"),
                           texts=spec["texts"], options=spec.get("options"))
    queries.snapshot_consent(db, found["id"])
    live_queries.start_live(db, found["id"])
    session = queries.session_by_id(db, found["id"])
    prompts = queries.prompts_for_session(db, found["id"])
    for index, text in enumerate(WALL):
        person = make_participant(db, session, quote_ok=True, language="en")
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompts[0]["id"],
                              nonce=secrets.token_urlsafe(12), language="en", text=text)
        for prompt in prompts[1:]:
            queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce=secrets.token_urlsafe(12), language="en",
                                  choices=[prompt["options"][index % len(prompt["options"])]["id"]])
    yield db, session, prompts
    db.conn.close()


@pytest.fixture(scope="module")
def projector_page(browser, live_server):
    """One signed-in laptop page, resized for each screen."""
    context = browser.new_context(viewport=SIZES["1280x720"], base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, live_server)
    yield page
    context.close()


def show(db, session, prompt_id) -> None:
    """Put a question (or the join screen, None) on the projector."""
    live_queries.show_prompt(db, session["id"], prompt_id)


def open_projector(page, session, size: str) -> None:
    """Load the projector at a screen size and wait until it has laid itself out."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"/staff/sessions/{session['id']}/projector")
    page.wait_for_function("() => document.documentElement.classList.contains('js')")
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(100)


def scrolls(page) -> dict:
    """Return how far the page would scroll down and sideways (0 when it fits)."""
    return page.evaluate(
        """() => ({down: document.documentElement.scrollHeight - innerHeight,
                   sideways: document.documentElement.scrollWidth - innerWidth})""")


def visible_texts(page, selector: str) -> list[str]:
    """Return the texts of the matching elements that are shown whole, inside the window and their list's box."""
    return page.evaluate(
        """selector => Array.from(document.querySelectorAll(selector)).filter(el => {
             const r = el.getBoundingClientRect();
             if (!r.width || !r.height) return false;
             const box = (el.closest('.question-body') || document.body).getBoundingClientRect();
             return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5
                    && r.bottom <= box.bottom + 0.5 && r.top >= box.top - 0.5
                    && el.scrollWidth <= el.clientWidth + 1;
           }).map(el => el.textContent.trim())""",
        selector,
    )


def every_page(page, selector: str) -> tuple[set[str], list[str]]:
    """Turn through the pages (PageDown, as a clicker does) and return every text seen whole, and the page counters."""
    seen, counters = set(), []
    for _turn in range(12):
        seen.update(visible_texts(page, selector))
        counter = page.locator(".pager .page-of")
        counters.append(counter.inner_text() if counter.count() and counter.first.is_visible() else "")
        assert scrolls(page) == {"down": 0, "sideways": 0}
        page.keyboard.press("PageDown")
    return seen, counters


@pytest.mark.parametrize("size", list(SIZES))
def test_the_join_screen_fits(projector_page, room, size):
    """Before the first question, the title, QR code, code and every language's instructions fit without scrolling."""
    db, session, _prompts = room
    show(db, session, None)
    open_projector(projector_page, session, size)
    assert scrolls(projector_page) == {"down": 0, "sideways": 0}
    qr = projector_page.locator(".qr").bounding_box()
    assert qr["y"] + qr["height"] <= SIZES[size]["height"] and qr["height"] >= 0.2 * min(SIZES[size].values())
    shown = visible_texts(projector_page, ".join h1, .join .code, .blocks p")
    assert len(shown) == 1 + 1 + 3 * len(LANGUAGES) - 1


@pytest.mark.parametrize("size", list(SIZES))
def test_every_option_label_is_shown_whole_on_some_page(projector_page, room, size):
    """A question with twelve options in four languages: each label is readable on a page, pages say "n of m"."""
    db, session, prompts = room
    many = prompts[2]
    show(db, session, many["id"])
    open_projector(projector_page, session, size)
    labels = {o["id"] for o in many["options"]}
    seen, counters = every_page(projector_page, ".bars .label .main")
    expected = {queries.localized(queries.texts_for_session(db, session["id"]), "option", key, "label", "en", "en")
                for key in labels}
    assert expected <= seen
    pages = {c for c in counters if c}
    if pages:
        assert all(" of " in c for c in pages) and any(c.startswith("2 of") for c in pages)
    heading = visible_texts(projector_page, ".question-head h1, .question-head .other-language")
    assert len(heading) == len(LANGUAGES)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_wall_of_fourteen_answers_pages_and_fits(projector_page, room, size):
    """Fourteen answers on the wall: every one is shown whole on some page and nothing scrolls."""
    db, session, prompts = room
    show(db, session, prompts[0]["id"])
    open_projector(projector_page, session, size)
    seen, _counters = every_page(projector_page, ".wall li")
    assert set(WALL) <= seen


def test_the_footer_says_how_to_join_how_many_answered_and_when_answering_closes(projector_page, room):
    """The footer shows the code, the count of answers and, once answering closes, a clear closed state."""
    db, session, prompts = room
    show(db, session, prompts[1]["id"])
    open_projector(projector_page, session, "1280x720")
    footer = projector_page.locator(".room-footer")
    assert session["code"] in footer.inner_text()
    assert f"{len(WALL)} answers so far" in footer.inner_text()
    assert projector_page.locator(".room-footer .is-open").is_visible()
    live_queries.set_answering(db, session["id"], False)
    projector_page.wait_for_selector(".room-footer .is-closed", timeout=5_000)
    assert "Answering is closed" in projector_page.locator(".room-footer .is-closed").inner_text()
    assert scrolls(projector_page) == {"down": 0, "sideways": 0}
    assert axe_violations(projector_page) == []


def test_without_javascript_the_first_page_shows_with_its_page_count(browser, live_server, room):
    """With JavaScript off, a long list shows its first page and "1 of n", and nothing from later pages."""
    db, session, prompts = room
    show(db, session, prompts[2]["id"])
    context = browser.new_context(viewport=SIZES["1920x1080"], base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server)
        page.goto(f"/staff/sessions/{session['id']}/projector")
        rows = page.locator(".bars li")
        shown = [rows.nth(i).is_visible() for i in range(rows.count())]
        assert shown == [True] * 6 + [False] * (len(shown) - 6)
        assert page.locator(".pager").inner_text() == "1 of 2"
    finally:
        context.close()


def test_the_room_thanks_people_when_the_session_closes(projector_page, room, live_server):
    """After the session closes the projector thanks people and says what happens next, not "scan the code"."""
    db, session, prompts = room
    show(db, session, prompts[0]["id"])
    open_projector(projector_page, session, "1920x1080")
    live_queries.close_live(db, session["id"])
    try:
        projector_page.wait_for_selector(".thanks", timeout=5_000)
        text = projector_page.locator(".thanks").inner_text()
        assert "Thank you for taking part." in text and "/withdraw" in text and "Scan the code" not in text
        assert scrolls(projector_page) == {"down": 0, "sideways": 0}
    finally:
        live_queries.start_live(db, session["id"])


TRANSLATED = {
    "Nobody at the front desk spoke Spanish, so I missed two appointments before someone helped me find an interpreter":
        "Nadie en la recepción hablaba español, así que perdí dos citas antes de que alguien me ayudara a encontrar un intérprete",
    "A nurse who called me after the birth to ask how I was sleeping and eating":
        "Una enfermera que me llamó después del parto para preguntarme cómo dormía y comía",
    "Paperwork in Arabic": "Documentos en árabe",
}


@pytest.mark.parametrize("size", list(SIZES))
def test_a_wall_with_translations_beneath_answers_still_pages_and_fits(projector_page, room, size):
    """Answers with an interpreter's translation beneath them: every card, translation included, is shown whole on
    some page, nothing scrolls, and axe finds nothing (run last: it adds translations to the room's answers)."""
    db, session, prompts = room
    with db.conn:
        for text, into in TRANSLATED.items():
            rid = db.execute("SELECT id FROM responses WHERE text = ?", (text,)).fetchone()[0]
            queries.store_answer_translation(db, rid, into, language="es", user_id=None)
    show(db, session, prompts[0]["id"])
    open_projector(projector_page, session, size)
    seen, _counters = every_page(projector_page, ".wall li")
    whole = {" ".join(text.split()) for text in seen}
    expected = {f"{text} Traducción: {TRANSLATED[text]}" if text in TRANSLATED else text for text in WALL}
    assert expected <= whole, expected - whole
    assert axe_violations(projector_page) == []
