"""Report assembly as a pure function: a SessionData built by hand, no app and no database, becomes a Report."""

from __future__ import annotations

import gettext
import io
import re
from dataclasses import replace

from bs4 import BeautifulSoup

from analysis import reports
from analysis.assemble import SessionData, assemble_report, public_page

THRESHOLD = 10


def session(sizes: dict[int, int], *, consented_every: int = 2, published: bool = True) -> SessionData:
    """Return a one-question English session whose themes (id -> number of answers) each hold that many people's answers."""
    answers, assignments, participants, themes = [], {}, [], []
    next_id = 1
    for theme_id, size in sizes.items():
        themes.append({"id": theme_id, "kind": "theme", "label": f"Theme <b>{theme_id}</b>", "definition": "",
                       "reviewed": True, "top_terms": ["bus"]})
        for rank in range(size):
            quote_ok = int(rank % consented_every == 0)
            text = f"Dr. Smith said the bus is late, write me at me{next_id}@example.org" if rank == 0 else f"answer {next_id} in theme {theme_id}"
            answers.append({"id": next_id, "prompt_id": 1, "participant_id": next_id, "language": "en", "source": "phone",
                            "text": text, "created_at": "", "quote_ok": quote_ok})
            assignments[next_id] = {"response_id": next_id, "theme_id": theme_id, "status": "theme", "rank": rank,
                                    "quote": None, "pinned": 0, "chosen": 0}
            participants.append({"id": next_id, "language": "en", "source": "phone", "quote_ok": quote_ok})
            next_id += 1
    return SessionData(
        session={"id": 7, "code": "ABC123", "default_language": "en", "languages": ["en"]},
        texts={("session", 7, "title"): {"en": "Bus <script>alert(1)</script>"}, ("session", 7, "purpose"): {"en": "Why"},
               ("prompt", 1, "text"): {"en": "What is hard?"}},
        prompts=[{"id": 1, "number": 1, "kind": "open", "demographic": None, "options": []}], scope=[1],
        answers=answers, assignments=assignments, themes=themes, insights=[], participants=participants, segments={},
        reference={}, priority=set(), settings={"threshold": THRESHOLD, "name_list": [], "published": published},
        run=None, public={}, sources=("phone",),
    )


def build(data: SessionData) -> reports.Report:
    """Assemble an English report of a session."""
    return assemble_report(data, "en", gettext.NullTranslations(), generated_at="2026-01-01 00:00 UTC")


def test_a_report_is_built_without_an_app_or_a_database() -> None:
    """assemble_report turns plain rows into a Report with the session's title, question and themes in published order."""
    report = build(session({1: 30, 2: 20}))
    assert report.title.startswith("Bus") and report.questions == ("What is hard?",)
    assert [(t.id, t.size) for t in report.themes] == [("T1", 30), ("T2", 20)]
    assert report.participants == 50 and report.threshold == THRESHOLD


def test_only_consented_answers_are_quoted_and_quotes_are_redacted() -> None:
    """Quotes come from answers whose authors allowed quoting, with the email and a titled name replaced."""
    data = session({1: 30, 2: 20}, consented_every=2)
    consented = {a["id"] for a in data.answers if a["quote_ok"]}
    report = build(data)
    texts = [q.text for t in report.themes for q in t.quotes]
    numbers = [int(m.group(1)) for q in texts if (m := re.search(r"answer (\d+)", q))]
    assert texts and numbers and set(numbers) <= consented
    assert not any("@example.org" in q or "Smith" in q for q in texts)
    assert any("[email]" in q and "[name]" in q for q in texts)


def test_a_size_below_the_threshold_is_hidden_and_one_at_it_shown() -> None:
    """A theme of threshold-1 answers has no size (nor languages); with every count at or above the threshold all are shown."""
    hidden = build(session({1: 30, 2: 25, 3: THRESHOLD - 1}))
    sizes = {t.id: t.size for t in hidden.themes}
    assert sizes["T3"] is None and hidden.themes[-1].id == "T3" and hidden.themes[-1].languages == ()
    shown = build(session({1: 30, 2: 25, 3: THRESHOLD}))
    assert {t.id: t.size for t in shown.themes}["T3"] == THRESHOLD


def test_every_writer_escapes_what_people_and_planners_wrote() -> None:
    """The HTML report shows a title's script and a label's tag as text; the Markdown shows no raw HTML."""
    report = build(session({1: 30, 2: 20}))
    out = io.BytesIO()
    reports.write(report, "html", out)
    soup = BeautifulSoup(out.getvalue().decode(), "html.parser")
    assert soup.find("script") is None and soup.find("b") is None
    assert "<script>alert(1)</script>" in soup.find("h1").get_text()
    out = io.BytesIO()
    reports.write(report, "md", out)
    assert "<script>" not in out.getvalue().decode() and "&lt;script>" in out.getvalue().decode()


def test_the_public_page_shows_reviewed_themes_only_when_published() -> None:
    """public_page gives nothing for an unpublished session, and hides a small theme's size on a published one."""
    assert public_page(session({1: 30}, published=False), "en") is None
    page = public_page(session({1: 30, 2: 25, 3: THRESHOLD - 1}), "en")
    assert page is not None and page["participants"] == 64
    assert [t["size"] for t in page["themes"]][-1] is None
    assert all("Smith" not in q["text"] for t in page["themes"] for q in t["quotes"])


def with_choices(data: SessionData, single: dict[int, int], scale_answers: int) -> SessionData:
    """Add a single-choice question (option id -> people who chose it) and a 1-5 scale question answered by `scale_answers` people."""
    from dataclasses import replace

    prompts = [*data.prompts,
               {"id": 2, "number": 2, "kind": "single", "demographic": None, "options": [{"id": o, "prefer_not": 0} for o in single]},
               {"id": 3, "number": 3, "kind": "scale", "demographic": None, "options": [], "scale_min": 1, "scale_max": 5}]
    texts = {**data.texts, ("prompt", 2, "text"): {"en": "How do you travel?"}, ("prompt", 3, "text"): {"en": "How well were you heard?"},
             **{("option", o, "label"): {"en": f"Option {o}"} for o in single}}
    choices, person = [], 1
    for option, n in single.items():
        for _ in range(n):
            choices.append({"id": 1000 + person, "prompt_id": 2, "participant_id": person, "choices": [option], "number": None})
            person += 1
    choices += [{"id": 5000 + i, "prompt_id": 3, "participant_id": i + 1, "choices": [], "number": 4} for i in range(scale_answers)]
    return replace(data, prompts=prompts, texts=texts, choices=choices)


def test_choice_results_hide_small_counts_and_withhold_a_question_few_answered() -> None:
    """A choice with threshold-1 people shows the mark (and so does one more, so it cannot be worked out); a question fewer than the threshold answered is withheld and named."""
    report = build(with_choices(session({1: 30, 2: 20}), {1: 20, 2: 15, 3: THRESHOLD - 1}, THRESHOLD - 1))
    [table] = report.choice_results
    assert table.title == "How do you travel?" and table.columns == ("Answer", "People", "Share")
    counts = {row[0]: row[1] for row in table.rows}
    assert counts["Option 3"] == reports.MARK and list(counts.values()).count(reports.MARK) >= 2
    assert all(row[2] == "" for row in table.rows if row[1] == reports.MARK)  # no share for a hidden count
    assert "How well were you heard?" in report.withheld and any("How well were you heard?" in c for c in report.caveats)
    shown = build(with_choices(session({1: 30, 2: 20}), {1: 20, 2: 15, 3: THRESHOLD}, THRESHOLD))
    assert [row[1] for row in shown.choice_results[0].rows] == ["20", "15", str(THRESHOLD)]
    assert [row[0] for row in shown.choice_results[1].rows] == ["1", "2", "3", "4", "5"]


def test_every_report_format_has_the_overview_and_the_choice_results() -> None:
    """HTML, Markdown and Word each show "What people chose" and the overview of themes with each theme's size and status."""
    from docx import Document

    report = build(with_choices(session({1: 30, 2: 20}), {1: 20, 2: 15}, 12))
    assert [row[:2] for row in report.overview.rows] == [("Theme <b>1</b>", "30"), ("Theme <b>2</b>", "20")]
    html, md, docx = (io.BytesIO() for _ in range(3))
    reports.write(report, "html", html)
    reports.write(report, "md", md)
    reports.write(report, "docx", docx)
    soup = BeautifulSoup(html.getvalue().decode(), "html.parser")
    assert [c.get_text() for c in soup.select("#chosen caption")] == ["How do you travel?", "How well were you heard?"]
    assert soup.select_one("#themes table caption").get_text() == "Overview of themes"
    assert "## What people chose" in md.getvalue().decode() and "**Overview of themes**" in md.getvalue().decode()
    document = Document(io.BytesIO(docx.getvalue()))
    assert {"What people chose", "Overview of themes", "How do you travel?"} <= {p.text for p in document.paragraphs}


def test_an_arabic_quote_reads_right_to_left_in_an_english_word_report() -> None:
    """In a left-to-right Word report, a quote in Arabic is its own right-to-left paragraph; English quotes are not."""
    from dataclasses import replace

    from docx import Document
    from docx.oxml.ns import qn

    data = session({1: 30})
    answers = [dict(a, text="الحافلة متأخرة دائما", language="ar") if a["id"] == 3 else a for a in data.answers]
    report = build(replace(data, answers=answers))
    out = io.BytesIO()
    reports.write(report, "docx", out)
    quotes = [p for p in Document(io.BytesIO(out.getvalue())).paragraphs if p.style.name == "Quote"]
    rtl = {p.text: p._p.pPr.find(qn("w:bidi")) is not None for p in quotes}
    assert rtl["الحافلة متأخرة دائما"] and not any(v for text, v in rtl.items() if text.isascii())


def test_the_public_page_shows_choice_results_with_the_same_hiding() -> None:
    """The residents' page lists each choice question's answers with counts, a small one hidden (None) with no share, and leaves out a question few answered."""
    page = public_page(with_choices(session({1: 30, 2: 20}), {1: 20, 2: 15, 3: THRESHOLD - 1}, THRESHOLD - 1), "en")
    assert [c["title"] for c in page["choices"]] == ["How do you travel?"]
    rows = {r["label"]: (r["count"], r["percent"]) for r in page["choices"][0]["rows"]}
    assert rows["Option 3"] == (None, None) and rows["Option 1"][0] == 20


def with_other(data: SessionData, size: int, *, reviewed: bool) -> SessionData:
    """Add an "Other or unclear" theme holding `size` more people's answers, listed after the themes as the database
    lists them (``ORDER BY kind = 'other', id``)."""
    other_id = max(t["id"] for t in data.themes) + 1
    answers, assignments, participants = list(data.answers), dict(data.assignments), list(data.participants)
    for rank in range(size):
        next_id = len(answers) + 1
        answers.append({"id": next_id, "prompt_id": 1, "participant_id": next_id, "language": "en", "source": "phone",
                        "text": f"unclear answer {next_id}", "created_at": "", "quote_ok": 1})
        assignments[next_id] = {"response_id": next_id, "theme_id": other_id, "status": "theme", "rank": rank,
                                "quote": None, "pinned": 0, "chosen": 0}
        participants.append({"id": next_id, "language": "en", "source": "phone", "quote_ok": 1})
    themes = [*data.themes, {"id": other_id, "kind": "other", "label": "Other", "definition": "", "reviewed": reviewed,
                             "top_terms": []}]
    return replace(data, answers=answers, assignments=assignments, participants=participants, themes=themes)


def test_the_other_section_is_the_other_themes_own_and_never_one_of_the_themes() -> None:
    """With Other listed after the themes: the report's Other section has Other's size and review state (not the first
    theme's), Other is not also listed among the themes, and a session with no Other answers has no Other section."""
    report = build(with_other(session({1: 30, 2: 20}), 12, reviewed=False))
    assert [t.id for t in report.themes] == ["T1", "T2"]
    assert report.other is not None and (report.other.size, report.other.reviewed) == (12, False)
    assert build(with_other(session({1: 30, 2: 20}), 0, reviewed=True)).other is None
    assert build(session({1: 30, 2: 20})).other is None


def test_only_the_answers_export_carries_each_answer_and_it_carries_every_one() -> None:
    """A synthesis report (every format planners and residents read) holds no answer rows; asked for the records (the
    in-memory answers export, which the streamed exports are held to) it holds one row per answer."""
    data = session({1: 30, 2: 20})
    assert build(data).records == ()
    exported = assemble_report(data, "en", gettext.NullTranslations(), records=True)
    assert sorted(r.id for r in exported.records) == sorted(a["id"] for a in data.answers)


def test_the_residents_page_shows_two_quotes_a_theme_two_of_those_planners_chose_else_the_most_typical() -> None:
    """public_page (the full load's residents' page, which the page counted in SQL is held to): two of three quotes
    planners chose in one theme; in a theme with none chosen, the two most typical answers whose authors allowed quoting."""
    data = session({1: 30, 2: 20})
    by_theme = {t: [a["id"] for a in data.answers if data.assignments[a["id"]]["theme_id"] == t and a["quote_ok"]] for t in (1, 2)}
    chosen = by_theme[1][-3:]
    assignments = {rid: {**placed, "chosen": int(rid in chosen)} for rid, placed in data.assignments.items()}
    page = public_page(replace(data, assignments=assignments), "en")
    first, second = ([q["id"] for q in theme["quotes"]] for theme in page["themes"])
    assert len(first) == 2 and set(first) <= set(chosen)
    assert second == by_theme[2][:2]


def with_priority(data: SessionData, young: int) -> SessionData:
    """Add an "about you" question (under 30 / 30 or older) whose first `young` people are under 30, the priority group."""
    prompts = [*data.prompts, {"id": 4, "number": 2, "kind": "about", "demographic": None,
                               "options": [{"id": 41, "prefer_not": 0}, {"id": 42, "prefer_not": 0}]}]
    texts = {**data.texts, ("prompt", 4, "text"): {"en": "How old are you?"}, ("option", 41, "label"): {"en": "Under 30"},
             ("option", 42, "label"): {"en": "30 or older"}}
    segments = {p["id"]: {4: 41 if n < young else 42} for n, p in enumerate(data.participants)}
    return replace(data, prompts=prompts, texts=texts, segments=segments, priority={41})


def test_the_priority_ranking_is_named_as_withheld_only_when_it_is() -> None:
    """Three people in the priority group: no ranking, and the report says it was withheld; twenty-five: the ranking
    is shown and not named as withheld; without priority groups nothing is named."""
    ranking = "Themes ranked by what priority groups said"
    few = build(with_priority(session({1: 30, 2: 20}), 3))
    assert few.priority is None and ranking in few.withheld
    enough = build(with_priority(session({1: 30, 2: 20}), 25))
    assert enough.priority is not None and ranking not in enough.withheld
    assert ranking not in build(session({1: 30, 2: 20})).withheld


def test_a_report_quotes_three_answers_a_theme_when_planners_chose_none() -> None:
    """As the report counted in SQL does (`tallies.Counted.quotes`), the full load's report (the CLI's, and the one the
    streamed exports are held to) quotes a theme's three most typical answers whose authors allowed quoting."""
    data = session({1: 30, 2: 20})
    quotable = {t: [a["id"] for a in data.answers if data.assignments[a["id"]]["theme_id"] == t and a["quote_ok"]] for t in (1, 2)}
    report = build(data)
    # The most typical (rank 0) is the one with an email and a titled name, redacted; then "answer N in theme T".
    assert [len(t.quotes) for t in report.themes] == [3, 3] and all("[email]" in t.quotes[0].text for t in report.themes)
    assert [[int(re.search(r"answer (\d+)", q.text).group(1)) for q in t.quotes[1:]] for t in report.themes] == [
        quotable[1][1:3], quotable[2][1:3]]


def with_claim(data: SessionData, theme_id: int, people: int) -> SessionData:
    """Give a theme one claim made by `people` of its answers (after its most typical), in words they all used."""
    ids = [a["id"] for a in data.answers if data.assignments[a["id"]]["theme_id"] == theme_id][1:people + 1]
    return replace(data, themes=[{**t, "claims": [{"text": f"in theme {theme_id}", "answer_ids": ids}]} if t["id"] == theme_id
                                 else t for t in data.themes])


def test_a_claims_count_is_printed_only_beside_a_published_theme_size() -> None:
    """A claim twelve people made counts 12 in a theme whose size is shown; in a theme of 12 whose size is hidden to
    protect a smaller one beside it (9), a claim eleven made prints no number: 11 beside a hidden size would narrow it."""
    shown = build(with_claim(session({1: 30, 2: 20}), 1, 12)).themes[0]
    assert shown.size == 30 and [c.count for c in shown.claims] == [12]
    hidden = {t.id: t for t in build(with_claim(session({1: 30, 2: 12, 3: 9}), 2, 11)).themes}["T2"]
    assert hidden.size is None and [c.count for c in hidden.claims] == [None]
