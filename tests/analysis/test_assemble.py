"""Report assembly as a pure function: a SessionData built by hand, no app and no database, becomes a Report."""

from __future__ import annotations

import gettext
import io
import re

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
