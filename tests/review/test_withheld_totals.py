"""A number of people shown as "fewer than 10" stays that vague in every output (issue 18).

Each person answers each open question at most once, so a count of answers says how many people
there are at least: 36 answers to 4 questions from "fewer than 10 people" means exactly 9. The rule
(docs/privacy.md, "A total shown as fewer than 10"): everything one output shows may narrow a
withheld number of people to "at least 1" and no further. These tests read what each output
prints -- the reports (Markdown, HTML, Word), the data exports, the residents' page -- and hand it
to an attacker's integer program (tests/attack.py), as the engine's own property tests do.
"""
from __future__ import annotations

import csv
import io
import json
import re
import secrets

from docx import Document
from openpyxl import load_workbook

from analysis.reports import markdown_plain
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries
from listening.accounts import create_user
from tests.attack import Attack
from tests.conftest import download, page, sign_in
from tests.factories import make_participant, make_session, share
from tests.review.small_counts import build, read_markdown

PLANNER = ("totals@example.org", "a long password")
QUESTIONS = 4


def capped_session(db, n: int):
    """``n`` people (5 Black, the rest White), each answering all four open questions: half "Rides", half "Food"."""
    people = [{"about": ["Black"]}] * 5 + [{"about": ["White"]}] * (n - 5)
    answers = [(p, "Rides" if q % 2 == 0 else "Food") for p in range(n) for q in range(QUESTIONS)]
    made = build(db, people=people, answers=answers, about=[["Black", "White"]], open_questions=QUESTIONS)
    if not any(row["email"] == PLANNER[0] for row in db.execute("SELECT email FROM users").fetchall()):
        create_user(db, PLANNER[0], PLANNER[1], "planner")
    share(db, made.session, PLANNER[0])
    return made


def least_people(sizes: list[int | None], answers: int | None, t: int, *, people: int | None = None) -> int:
    """Return the least number of people an attacker can prove from printed answer counts (integer programming).

    ``sizes`` are the printed group sizes (``None``: the mark); the groups not printed at all are
    one more unknown, so printed sizes only bound the total from below.
    """
    attack = Attack()
    n = people if people is not None else attack.unknown("people", upper=t - 1)
    total = answers if answers is not None else attack.unknown("answers")
    terms = [(1, s if s is not None else attack.unknown(f"size{i}")) for i, s in enumerate(sizes)]
    attack.equal(terms + [(1, attack.unknown("unprinted")), (-1, total)])
    attack.at_most([(1, total), (-QUESTIONS, n)])
    return attack.range("people")[0] if people is None else people


def markdown_of(db, made, language: str = "en") -> str:
    """Return a session's Markdown report."""
    buffer = io.BytesIO()
    reporting.export(db, made.session["id"], buffer, fmt="md", language=language)
    return buffer.getvalue().decode("utf-8")


def test_nine_people_with_thirty_six_answers_read_as_at_least_one_in_the_markdown_report(db):
    """9 people, 4 answers each: the report says "fewer than 10" and prints no answer count that narrows it."""
    made = capped_session(db, 9)
    text = markdown_of(db, made)
    read = read_markdown(text)
    assert "Fewer than 10 people took part." in text
    assert read.people is None and not read.answers_stated and "36" not in text
    assert read.sizes == {"Rides": None, "Food": None}
    assert least_people(list(read.sizes.values()) + [read.off_topic, read.contentless], read.answers, 10) <= 1


def test_ten_people_keep_every_count(db):
    """10 people, 4 answers each: the number of people, of answers and the themes' sizes are printed (the control)."""
    made = capped_session(db, 10)
    read = read_markdown(markdown_of(db, made))
    assert read.people == 10 and read.answers == 40 and read.sizes == {"Rides": 20, "Food": 20}


def without_dates(text: str) -> str:
    """The text without the report's date and time ("2026-12-01 15:36 UTC"), whose digits are no count."""
    return re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}( UTC)?)?", " ", text)


def test_html_and_word_reports_print_no_answer_count_beside_fewer_than_ten_people(client, db):
    """HTML and Word, downloaded as a planner: "fewer than 10 people", no number of answers, theme sizes hidden."""
    made = capped_session(db, 9)
    sign_in(client, *PLANNER)
    html = page(download(client, made.session["id"], "html"))
    sizes = {s.h3.get_text(strip=True): s.p.get_text(" ", strip=True) for s in html.select("section.theme")}
    assert all(v.startswith("Number of answers hidden") for v in sizes.values()) and set(sizes) == {"Rides", "Food"}
    text = html.get_text(" ", strip=True)
    assert "Fewer than 10 people took part." in text and "answers to open questions" not in text
    assert not re.search(r"\b(18|36)\b", without_dates(text))
    document = Document(io.BytesIO(download(client, made.session["id"], "docx").data))
    words = "\n".join([p.text for p in document.paragraphs] + [c.text for tb in document.tables for r in tb.rows for c in r.cells])
    assert "Fewer than 10 people took part." in words and "answers to open questions" not in words
    assert not re.search(r"\b(18|36)\b", without_dates(words))


def test_data_exports_give_no_theme_size_beside_fewer_than_ten_people(client, db):
    """Codebook CSV, Excel and JSON: every theme's number of answers is the mark (or null), the people number null."""
    made = capped_session(db, 9)
    sign_in(client, *PLANNER)
    sid = made.session["id"]
    codebook = {r["label"]: r["answers"] for r in csv.DictReader(io.StringIO(download(client, sid, "codebook").data.decode("utf-8-sig")))}
    assert codebook == {"Rides": "*", "Food": "*"}
    book = load_workbook(io.BytesIO(download(client, sid, "xlsx").data))
    assert {row[1]: row[4] for row in book["Codebook"].iter_rows(min_row=2, values_only=True)} == {"Rides": "*", "Food": "*"}
    data = json.loads(download(client, sid, "json").data)
    assert {c["label"]: c["answers"] for c in data["codebook"]} == {"Rides": None, "Food": None}
    assert data["session"]["participants"] is None
    assert least_people([None, None], None, 10) <= 1


def test_the_residents_page_shows_themes_without_numbers_beside_fewer_than_ten_people(client, db):
    """The residents' page: "fewer than 10 people", each reviewed theme without its number of answers."""
    made = capped_session(db, 9)
    sid = made.session["id"]
    for label in ("Rides", "Food"):
        synthesis.set_reviewed(db, sid, made.themes[label], True, user_id=None)
    synthesis.save_settings(db, sid, published=True)
    shown = page(client.get(f"/s/{made.session['code']}/results?lang=en"))
    sizes = {a.h3.get_text(strip=True): a.select_one("p.small").get_text(strip=True) for a in shown.select("article")}
    assert sizes == {label: "Number of answers not shown, to protect the people who gave them" for label in ("Food", "Rides")}
    assert "Fewer than 10 people shared their views." in shown.get_text(" ", strip=True)


def test_the_method_note_drops_the_runs_number_of_answers_beside_fewer_than_ten_people(db):
    """A Spanish report's method note says how many answers the program read; beside "fewer than 10" it prints the mark."""
    for n, expect in ((9, False), (10, True)):
        made = capped_session(db, n)
        db.execute("INSERT INTO theme_runs (session_id, prompt_ids, seed, k_chosen, answer_count, method, created_by, created_at) "
                   "VALUES (?, '[]', 7, 2, ?, 'The engine read the answers.', NULL, ?)",
                   (made.session["id"], QUESTIONS * n, queries.now()))
        db.conn.commit()
        text = markdown_of(db, made, "es")
        assert (str(QUESTIONS * n) in text) is expect, n


def multiple_choice_session(db, n: int):
    """``n`` people each ticking both answers of a two-answer multiple-choice question (and answering one open question)."""
    session = make_session(db, prompts=[{"kind": "open", "text": "Open question"},
                                        {"kind": "multiple", "text": "Which buses?", "options": ["Line 1", "Line 2"]}])
    prompt = next(p for p in queries.prompts_for_session(db, session["id"]) if p["kind"] == "multiple")
    for _ in range(n):
        person = make_participant(db, session, language="en", quote_ok=True)
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                              nonce=secrets.token_urlsafe(9), language="en", choices=[o["id"] for o in prompt["options"]])
    return session


def test_a_multiple_choice_question_beside_fewer_than_ten_people_is_withheld(db):
    """9 people ticking 2 of 2 answers make 18 choices (at least 9 people): the question's table is not shown; 10 people's is."""
    for n, shown in ((9, False), (10, True)):
        session = multiple_choice_session(db, n)
        buffer = io.BytesIO()
        reporting.export(db, session["id"], buffer, fmt="md", language="en")
        read = read_markdown(buffer.getvalue().decode("utf-8"))
        assert ("Which buses? [en]" in read.tables) is shown, n
        if shown:
            assert [row[1] for row in read.tables["Which buses? [en]"][1]] == [str(n), str(n)]
        else:
            assert "18" not in buffer.getvalue().decode("utf-8")
            assert "Which buses? [en]" in next(markdown_plain(line) for line in buffer.getvalue().decode("utf-8").splitlines()
                                              if "Not shown, because" in line)


def test_answers_capped_per_person_on_every_output_read_at_least_one_for_nine_people_of_three_questions(db):
    """The same with 3 answers each over 2 themes (27 answers): the engine's own audit of the release agrees."""
    from analysis import assemble, equity

    made = build(db, people=[{"about": ["Black"]}] * 9, open_questions=3,
                 answers=[(p, "Rides" if q else "Food") for p in range(9) for q in range(3)])
    stored = synthesis.load(db, made.session["id"])
    rel = assemble.release(stored)
    assert rel.people is None and rel.answers_covered and rel.answers is None
    ranges = equity.audit(assemble.snapshot(stored), rel)
    assert ranges[("total", equity.EVERYONE_LINE)].low <= 1
