"""Small counts stay hidden in a whole report: random sessions, read back from one export, attacked.

Each example makes a session in the database, exports its Markdown report, reads every number
and mark the report shows, writes them down as integer linear constraints together with what
anyone knows about how the tables fit (people tables add up to the people, group tables to the
theme sizes, answers of a group are at most one per question per person, a priority group's
answers lie between its parts and their sum), and asks for the least and most every hidden count
can be. None may be pinned; none below the threshold may be narrowed to less than the threshold.
"""
from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.review import queries as synthesis
from analysis.review import reporting
from listening.db import connect
from tests.attack import Attack
from tests.conftest import migrated_app
from tests.review.small_counts import build, count_of, percent_of, read_markdown

THEMES = ("Rides", "Doulas", "Food")
RACES = ["Black", "White", "Asian"]
AGES = ["Young", "Older"]
LANGUAGES = {"en": "English", "es": "Spanish"}


@pytest.fixture(scope="module")
def fast_db(tmp_path_factory):
    """One database for many generated sessions, written without waiting for the disk."""
    path = tmp_path_factory.mktemp("small") / "s.db"
    app = migrated_app(path, SQLITE_SYNCHRONOUS="OFF")
    conn = connect(app.config["DATABASE"], synchronous="OFF")
    with app.app_context():
        yield conn
    conn.conn.close()


@st.composite
def sessions(draw):
    """Draw people (language, race, age) and their answers (theme or set aside), perhaps priority groups."""
    n = draw(st.integers(0, 36))
    people = [{"language": draw(st.sampled_from(["en", "en", "es"])),
               "about": [draw(st.sampled_from(RACES + RACES[:1] + [None])), draw(st.sampled_from(AGES + [None]))]}
              for _ in range(n)]
    open_questions = draw(st.integers(1, 2))
    answers = []
    for i in range(n):
        for _ in range(draw(st.integers(0, open_questions))):
            answers.append((i, draw(st.sampled_from(THEMES + THEMES + ("other", "off_topic", "contentless", "unsorted")))))
    priority = draw(st.sampled_from([[], [(0, "Asian")], [(0, "Black"), (1, "Young")]]))
    return people, answers, open_questions, priority


def truth_of(made, read=None) -> dict:
    """Return the true value behind every count a report may show, keyed as the attacker names them.

    A theme-by-group table has a row only for each theme whose size the report shows, and its
    "All themes" row adds up those rows: a column's truth counts the answers of those themes only.
    """
    in_tables = set(THEMES) if read is None else {label for label, n in read.sizes.items() if n}
    truth: Counter = Counter()
    prompts = {p["id"]: f"About question {i + 1} [en]" for i, p in enumerate(made.about)}
    for person in made.people:
        truth[("people", "By language they answered in", LANGUAGES[person["language"]])] += 1
        truth[("people", "By how they took part", "Own phone")] += 1
        for prompt_id, title in prompts.items():
            truth[("people", title, person["about"].get(prompt_id, "No answer"))] += 1
    for answer in made.answers:
        truth[("size", answer["group"])] += 1
        if answer["group"] not in THEMES:
            continue
        person = made.people[answer["person"]]
        lenses = {"Language of the answer": LANGUAGES[answer["language"]]}
        lenses.update({title: person["about"].get(prompt_id, "No answer") for prompt_id, title in prompts.items()})
        for lens, group in lenses.items():
            truth[("cell", lens, answer["group"], group)] += 1
            if answer["group"] in in_tables:
                truth[("column", lens, group)] += 1
    return truth


def attack_report(made, read, per_person: int, priority_labels: list[tuple[str, str]]) -> tuple[Attack, dict]:
    """Write down everything one Markdown report shows, and how its tables fit together."""
    t = 10
    attack = Attack()
    hidden: dict = {}

    def value(cell: str, name: str, key: tuple) -> str | int:
        """Return the number a cell shows, or an unknown standing for the hidden count."""
        number = count_of(cell)
        if number is not None:
            return number
        hidden[key] = attack.unknown(name)
        return name

    people = read.people if read.people is not None else attack.unknown("people", upper=t - 1)
    answers = read.answers if read.answers is not None else attack.unknown("answers", upper=t - 1)
    attack.at_most([(1, answers), (-per_person, people)])
    people_tables: dict[str, dict[str, str | int]] = {}
    for title, (header, rows) in read.tables.items():
        if header[:2] != ["Group", "People"]:
            continue
        cells = {r[0]: value(r[1], f"people:{title}:{r[0]}", ("people", title, r[0])) for r in rows}
        for r in rows:
            if percent_of(r[2]) is not None:
                attack.share(cells[r[0]], people, percent_of(r[2]))
        attack.equal([(1, x) for x in cells.values()] + [(-1, people)])
        people_tables[title] = cells
    # Theme sizes, "other", off-topic and no-content, and answers not yet sorted, add up to the answers.
    sizes = {}
    for label in (*THEMES, "other"):
        if label in read.sizes:
            sizes[label] = read.sizes[label] if read.sizes[label] is not None else attack.unknown(f"size:{label}")
            if read.sizes[label] is None:
                hidden[("size", label)] = sizes[label]
        else:
            sizes[label] = 0
    for label, shown in (("off_topic", read.off_topic), ("contentless", read.contentless)):
        sizes[label] = shown if shown is not None else attack.unknown(f"size:{label}")
        if shown is None:
            hidden[("size", label)] = sizes[label]
    sizes["unsorted"] = attack.unknown("size:unsorted")
    attack.equal([(1, x) for x in sizes.values()] + [(-1, answers)])
    grids: dict[str, dict] = {}
    for title, (header, rows) in read.tables.items():
        if not title.endswith(" — answers in each theme"):
            continue
        lens = title.removesuffix(" — answers in each theme")
        groups = header[1:-1]
        cells: dict = {}
        for r in rows[:-1]:
            theme = r[0]
            for group, cell in zip(groups, r[1:-1]):
                cells[(theme, group)] = value(cell, f"cell:{lens}:{theme}:{group}", ("cell", lens, theme, group))
            attack.equal([(1, cells[(theme, g)]) for g in groups] + [(-1, int(r[-1]))])
            attack.equal([(1, sizes[theme]), (-1, int(r[-1]))])
        totals = rows[-1]
        for group, cell in zip(groups, totals[1:-1]):
            cells[(None, group)] = value(cell, f"column:{lens}:{group}", ("column", lens, group))
            attack.equal([(1, cells[(r[0], group)]) for r in rows[:-1]] + [(-1, cells[(None, group)])])
        attack.equal([(1, cells[(None, g)]) for g in groups], int(totals[-1]))
        for r in rows[:-1]:
            for group, cell in zip(groups, r[1:-1]):
                if percent_of(cell) is not None:
                    attack.share(cells[(r[0], group)], cells[(None, group)], percent_of(cell))
        # Each person answers each question at most once: a group's answers are capped by its people.
        linked = "By language they answered in" if lens == "Language of the answer" else f"{lens}"
        for group in groups:
            if group in people_tables.get(linked, {}):
                attack.at_most([(1, cells[(None, group)]), (-per_person, people_tables[linked][group])])
        grids[lens] = cells
        raised = read.tables.get(f"{lens} — themes a group raised more often than everyone else")
        for theme, group, share_in, share_out in (raised[1] if raised else []):
            attack.share(cells[(theme, group)], cells[(None, group)], percent_of(share_in))
            # Everyone else's share: (theme's answers - the group's) / (all answers - the group's).
            theme_total, everything, elsewhere = int(next(r[-1] for r in rows[:-1] if r[0] == theme)), int(totals[-1]), percent_of(share_out)
            for bound, sign in ((elsewhere + 0.5, 1), (elsewhere - 0.5, -1)):
                attack.at_most([(sign * 100, theme_total), (-sign * 100, cells[(theme, group)]),
                                (-sign * bound, everything), (sign * bound, cells[(None, group)])])
    ranking = next(((title, rows) for title, (header, rows) in read.tables.items() if title.startswith("Priority groups:")), None)
    if ranking is not None:
        title, rows = ranking
        prio = {r[1]: value(r[2], f"priority:{r[1]}", ("priority", r[1])) for r in rows}
        total = attack.unknown("priority:total")
        attack.equal([(1, x) for x in prio.values()] + [(-1, total)])
        for r in rows:
            if percent_of(r[3]) is not None:
                attack.share(prio[r[1]], total, percent_of(r[3]))
        for theme, p in prio.items():
            parts = [[grids[lens][(theme, g)] for lens_, g in priority_labels if lens_ == lens and (theme, g) in grids.get(lens, {})]
                     for lens in {lens for lens, _ in priority_labels}]
            attack.at_most([(1, p)] + [(-1, x) for part in parts for x in part])
            for part in parts:
                attack.at_most([(1, x) for x in part] + [(-1, p)])
        everyone = [people_tables[lens][g] for lens, g in priority_labels if g in people_tables.get(lens, {})]
        attack.at_most([(1, total)] + [(-per_person, x) for x in everyone])
    return attack, hidden


@settings(max_examples=18, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=sessions())
def test_no_hidden_count_can_be_recovered_from_a_whole_report(fast_db, drawn) -> None:
    """Random sessions: nothing below 10 is printed, and no hidden count of one Markdown report can be
    pinned -- nor a small one narrowed below 10 -- from everything that report shows (property test)."""
    people, answers, open_questions, priority = drawn
    made = build(fast_db, people=people, answers=answers, about=[RACES, AGES], open_questions=open_questions,
                 priority=priority)
    buffer = io.BytesIO()
    reporting.export(fast_db, made.session["id"], buffer, fmt="md", language="en")
    text = buffer.getvalue().decode("utf-8")
    read = read_markdown(text)
    t = 10
    for title, (header, rows) in read.tables.items():
        for row in rows:
            cells = [row[2]] if title.startswith("Priority groups:") else row[1:]
            for cell in cells:
                number = re.match(r"^(\d+)( \(\d+%\))?$", cell)
                assert not (number and 0 < int(number.group(1)) < t), (title, row)
    for size in read.sizes.values():
        assert size is None or not 0 < size < t
    titles = [f"About question {q + 1} [en]" for q in range(2)]
    labels = [(titles[q], f"{label} [en]") for q, label in priority]
    attack, hidden = attack_report(made, read, open_questions, labels)
    truth = truth_of(made, read)
    wanted = {(made.about[q]["id"], f"{label} [en]") for q, label in priority}
    for answer in made.answers:
        person = made.people[answer["person"]]
        if answer["group"] in THEMES and any((pid, value) in wanted for pid, value in person["about"].items()):
            truth[("priority", answer["group"])] += 1
    for key, name in hidden.items():
        true = truth.get(key, 0)
        low, high = attack.range(name)
        assert low <= true <= high, (key, low, high, true)
        if key[0] == "size" and read.answers is None:
            assert (low, high) == (0, t - 1)
            continue
        assert high - low >= (t if 0 < true < t else 1), f"{key}: true {true}, the report pins it to {low}..{high}"


def check_report(db, made, open_questions: int = 1, priority=()) -> None:
    """Export a session's Markdown report and attack it: no hidden count pinned, no small one narrowed."""
    buffer = io.BytesIO()
    reporting.export(db, made.session["id"], buffer, fmt="md", language="en")
    read = read_markdown(buffer.getvalue().decode("utf-8"))
    attack, hidden = attack_report(made, read, open_questions, list(priority))
    truth = truth_of(made, read)
    assert hidden
    for key, name in hidden.items():
        low, high = attack.range(name)
        assert high - low >= (10 if 0 < truth.get(key, 0) < 10 else 1), (key, low, high, truth.get(key, 0))


def test_the_answers_of_a_big_group_do_not_reveal_a_small_one(db):
    """Eleven people of one group answer and one of another does not: the report cannot tell that one apart."""
    people = [{"about": ["Black", "Young"]}] * 11 + [{"about": ["Asian", "Young"]}]
    made = build(db, people=people, answers=[(i, "Rides") for i in range(11)], about=[RACES, AGES])
    check_report(db, made)


def test_every_report_format_shows_the_same_counts(db):
    """HTML, Word and Markdown of one session print the same numbers and marks in their people tables."""
    people = [{"about": ["Black", "Young"]}] * 30 + [{"about": ["Asian", "Older"]}] * 4 + [{"about": ["White", "Older"]}] * 12
    made = build(db, people=people, answers=[(i, THEMES[i % 3]) for i in range(46)], about=[RACES, AGES])
    out = {}
    for fmt in ("md", "html", "docx"):
        buffer = io.BytesIO()
        reporting.export(db, made.session["id"], buffer, fmt=fmt, language="en")
        out[fmt] = buffer.getvalue()
    read = read_markdown(out["md"].decode("utf-8"))
    markdown = {title: rows for title, (header, rows) in read.tables.items()}
    soup = BeautifulSoup(out["html"], "html.parser")
    html = {tb.caption.get_text(strip=True): [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in tb.select("tbody tr")]
            for tb in soup.select("table")}
    assert markdown == html
    word = [[c.text for c in row.cells] for tb in Document(io.BytesIO(out["docx"])).tables for row in tb.rows[1:]]
    assert [row for rows in markdown.values() for row in rows] == word
    assert markdown["About question 1 [en]"][:3] == [["Black [en]", "30", "65%"], ["White [en]", "*", ""], ["Asian [en]", "*", ""]]
