"""A theme drafted across questions: each of its claims ("12 people said: …") names the questions its people answered,
as its quotes do ("— Question 2 · Spanish"), in every report, on the residents' page and on the review page; a theme
of one question's answers has no such mark."""
from __future__ import annotations

from bs4 import BeautifulSoup

from analysis.review import queries as synthesis
from listening import queries
from tests.conftest import page, sign_in, submit
from tests.factories import make_participant
from tests.review.conftest import answer
from tests.review.test_report_claims import QUOTED, _grown_bus_theme, _report, _set

SECOND = "Nobody answers the clinic phone"  # said only in answer to the second question
BOTH = "Getting to the clinic takes all day"  # said in answer to both


def across_questions(themed, db) -> tuple[dict, int, int]:
    """Analyse a second open question too, put eight answers to it in the bus theme, and give the theme three claims:
    one said to the first question only, one to the second only, one to both. Return (theme, first number, second number)."""
    sid = themed.session["id"]
    second = queries.add_prompt(db, sid, kind="open", texts={"en": "What was hard?", "es": "¿Qué fue difícil?"})
    db.conn.commit()
    synthesis.save_settings(db, sid, prompt_ids=[themed.prompts[0]["id"], second])
    theme, members = _grown_bus_theme(themed, db)
    later = []
    for n in range(8):
        person = make_participant(db, themed.session, quote_ok=True)
        words = f"{SECOND}, week {n}" if n < 4 else f"{BOTH}, week {n}"
        rid = answer(db, themed.session, person, {"id": second}, text=words)
        db.execute("""INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at)
                      VALUES (?, ?, ?, 'theme', 1, 200, '2026-01-01')""", (rid, sid, theme["id"]))
        later.append(rid)
    db.conn.commit()
    first_ids = [a["id"] for a in members if a["text"].startswith("Buses to the clinic are late")]
    _set(db, theme["id"], claims=[
        {"text": QUOTED, "count": 3, "answer_ids": first_ids[:3]},
        {"text": SECOND, "count": 4, "answer_ids": later[:4]},
        {"text": BOTH, "count": 4, "answer_ids": later[4:6] + first_ids[3:5]},
    ])
    numbers = {p["id"]: p["number"] for p in queries.prompts_for_session(db, sid)}
    return theme, numbers[themed.prompts[0]["id"]], numbers[second]


def test_claims_of_a_theme_across_questions_name_their_questions_in_every_report(themed, db):
    """HTML, Word, Markdown and the codebook print each claim with the question (or questions) its people answered."""
    sid = themed.session["id"]
    _theme, one, two = across_questions(themed, db)
    expected = {QUOTED: f"— Question {one}", SECOND: f"— Question {two}", BOTH: f"— Questions {one}, {two}"}
    html = BeautifulSoup(_report(db, sid, "raw-html"), "html.parser")
    lines = [li.get_text(" ", strip=True) for li in html.select("ul.claims li")]
    for claim, source in expected.items():
        assert any(line.startswith(claim) and line.endswith(source) for line in lines), (claim, lines)
    for fmt in ("docx", "md"):
        text = _report(db, sid, fmt)
        for claim, source in expected.items():
            assert any(line.lstrip("- ").startswith(claim) and line.endswith(source) for line in text.splitlines()), (fmt, claim)


def test_claims_across_questions_name_them_on_the_residents_page_and_the_review_page(client, themed, db):
    """The residents' page (in English and Spanish) and the planner's theme card name each claim's questions."""
    sid = themed.session["id"]
    theme, one, two = across_questions(themed, db)
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    sign_in(client, "lead@example.org", "a long password")
    assert submit(client, f"/staff/review/{sid}/publish", {"published": "1"}, form_index=1).status_code == 303
    for lang, word, words in (("en", "Question", "Questions"), ("es", "Pregunta", "Preguntas")):
        soup = page(client.get(f"/s/{themed.session['code']}/results?lang={lang}"))
        article = next(a for a in soup.select("article") if a.select("ul.claims"))
        marks = {li.get_text(" ", strip=True).split(" — ")[0].rsplit(": ", 1)[-1]: li.select_one(".claim-source").get_text(" ", strip=True)
                 for li in article.select("ul.claims li")}
        assert marks == {SECOND: f"— {word} {two}", BOTH: f"— {words} {one}, {two}"} | (
            {QUOTED: f"— {word} {one}"} if QUOTED in marks else {}), (lang, marks)
    card = next(c for c in page(client.get(f"/staff/review/{sid}?lang=en")).select("article.theme-card") if c.select("ul.claims"))
    shown = {li.span.get_text(strip=True): li.select_one(".claim-source").get_text(" ", strip=True) for li in card.select("ul.claims li")}
    assert shown == {QUOTED: f"— Question {one}", SECOND: f"— Question {two}", BOTH: f"— Questions {one}, {two}"}


def test_claims_of_a_theme_of_one_question_carry_no_question_mark(themed, db):
    """When every answer of a theme answered the same question, its claims print as before, without a question."""
    from tests.review.test_report_claims import _grown_bus_theme as grown

    sid = themed.session["id"]
    theme, members = grown(themed, db)
    _set(db, theme["id"], claims=[{"text": QUOTED, "count": 3, "answer_ids": [a["id"] for a in members][:3]}])
    html = BeautifulSoup(_report(db, sid, "raw-html"), "html.parser")
    assert [li.get_text(" ", strip=True) for li in html.select("ul.claims li") if QUOTED in li.get_text()] == [QUOTED]
    assert not html.select(".claim-source")
