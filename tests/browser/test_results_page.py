"""The residents' "we heard" page with claims, sub-topics and a translated quote, in a real browser, in Arabic and Spanish."""
from __future__ import annotations

import json
import secrets

import pytest

from .pages import axe_violations, page_facts

ARABIC = "الحافلة إلى العيادة تتأخر دائمًا ولا أصل إلى موعدي"
TRANSLATION = "The bus to the clinic is always late and I miss my appointment"


@pytest.fixture(scope="module")
def published(live_server):
    """A session of its own in the live server's database: themed, one theme reviewed with claims and sub-topics,
    an Arabic quote with a staff translation, and the residents' page published. Returns its code."""
    from analysis.review import queries as synthesis
    from listening import queries
    from listening.accounts import create_user, user_by_email
    from listening.db import connect
    from tests.factories import make_participant, make_session
    from tests.review.conftest import TOPICS

    db = connect(live_server.app.config["DATABASE"])
    try:
        create_user(db, "results-page@example.org", "a long password", "planner")
        planner = user_by_email(db, "results-page@example.org")["id"]
        session = make_session(db, languages=("en", "es", "ar"))
        prompt = queries.prompts_for_session(db, session["id"])[0]

        def say(text: str, language: str = "en", quote_ok: bool = True) -> int:
            """Save one resident's answer to the open question."""
            person = make_participant(db, session, language=language, quote_ok=quote_ok)
            return queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                         nonce=secrets.token_urlsafe(12), language=language, text=text).response_id

        for round_ in range(4):
            for texts in TOPICS.values():
                for n, text in enumerate(texts):
                    say(f"{text} ({round_}-{n})", quote_ok=n % 2 == 0)
        synthesis.run_themes(db, session["id"], user_id=planner)
        members = synthesis.current_members(db, session["id"])
        answers = {a["id"]: a for a in synthesis.open_answers(db, session["id"])}
        theme = next(t for t in synthesis.active_themes(db, session["id"])
                     if any(answers[r]["text"].startswith("The bus to the clinic") for r in members.get(t["id"], ())))
        arabic = say(ARABIC, "ar")
        db.execute("""INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at)
                      VALUES (?, ?, ?, 'theme', 1, 0, '2026-01-01')""", (arabic, session["id"], theme["id"]))
        db.conn.commit()
        synthesis.set_answer_translation(db, session["id"], arabic, TRANSLATION, language="en", user_id=planner)
        synthesis.choose_quotes(db, session["id"], theme["id"], [arabic], chosen=True, user_id=planner)
        ids = sorted(synthesis.current_members(db, session["id"])[theme["id"]])
        db.execute("UPDATE themes SET claims = ?, subthemes = ? WHERE id = ?", (
            json.dumps([{"text": "The bus to the clinic is always late", "count": len(ids), "answer_ids": ids},
                        {"text": "Always late", "count": 3, "answer_ids": ids[:3]}]),
            json.dumps([{"label": "Always late", "size": 3, "terms": [], "answer_ids": ids[:3]},
                        {"label": "The bus to the clinic is always late", "size": len(ids) - 3, "terms": [],
                         "answer_ids": ids[3:]}]),
            theme["id"]))
        db.conn.commit()
        synthesis.set_reviewed(db, session["id"], theme["id"], True, user_id=planner)
        synthesis.save_settings(db, session["id"], published=True, published_by=planner)
        return session["code"]
    finally:
        db.conn.close()


@pytest.mark.parametrize("lang", ["ar", "es"])
def test_the_results_page_with_claims_sub_topics_and_a_translation_passes_axe(open_page, published, lang):
    """The page shows the theme's claims with their count, its sub-topics and the Arabic quote with "Translation:" beneath,
    in the page's language and direction, without sideways scrolling, and axe finds nothing at any impact."""
    page, _meter = open_page(lang=lang)
    page.goto(f"/s/{published}/results?lang={lang}")
    assert page_facts(page) == {"lang": lang, "dir": "rtl" if lang == "ar" else "ltr", "sideways": 0}
    assert page.locator("ul.claims li").count() == 2
    assert page.locator("ul.subthemes li").count() == 2
    quote = page.locator("figure.quote", has_text=ARABIC)
    assert quote.locator("blockquote").get_attribute("lang") == "ar"
    assert TRANSLATION in quote.inner_text()
    assert axe_violations(page) == []
