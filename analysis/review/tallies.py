"""The review, publish and residents' pages of a session from grouped counts, never one object per answer.

A big session (100,000 residents, 200,000 open answers) made these pages read every answer, its
placement and its author into Python and count them there: seconds and hundreds of MB on the first
request after any change. What the pages show is small: each theme's size under disclosure control,
its languages and questions, a few quotes, its claims and sub-topics, the choice results. Here the
database counts them (a few grouped queries over the session's answers), the disclosure decision
is the same one (:func:`analysis.equity.release_sizes`, fed the counts :func:`analysis.equity.release`
would make), and quotes, claims and sub-topics read a theme's answers through the rank index only
as far as they need (:class:`ThemeMembers`). The pure functions that build the pages
(:func:`analysis.assemble.pick_quotes`, :func:`analysis.assemble.report_claims`,
:func:`analysis.assemble.public_page_from`...) are the ones the full load uses, so the pages are the
same; ``tests/review/test_tallies.py`` compares them with the full load's on varied sessions.

Every answer counted here is one the full load would read: in the analysed questions, not skipped,
not blank, not hidden, its author not withdrawn. All of a page's queries run in one read snapshot.
"""
from __future__ import annotations

import functools
import json
from collections import Counter
from contextlib import contextmanager
from typing import Iterator, Sequence

import sqlite_utils

from analysis import assemble, equity
from analysis.assemble import SessionData
from listening.db import one, rows
from listening.queries import TRANSLATION_COLUMNS, TRANSLATION_JOIN

from . import queries as synthesis

CHUNK = 500  # ids per query: SQLite caps a statement's bound values


@contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """Run a page's queries in one read snapshot (WAL: writers carry on), unless a transaction is already open."""
    started = not db.conn.in_transaction
    if started:
        db.execute("BEGIN")
    try:
        yield
    finally:
        if started:
            db.conn.rollback()


class Counted:
    """A session's analysed answers as counts: by group, by theme's language and question, and per person."""

    def __init__(self, db: sqlite_utils.Database, stored: SessionData) -> None:
        """Count the answers `load` would read for this session (`stored`: the session read without answers)."""
        self.db, self.stored = db, stored
        self.session_id = stored.session["id"]
        self.scope = list(stored.scope)
        self.visible = synthesis.visible_filter(db)
        # grouped: what theme_answers keys its groups by (a theme's id, 'off_topic', 'contentless', 'unsorted').
        self.grouped: dict[int | str, int] = {}
        self.languages: dict[int, list[tuple[str, int]]] = {}  # theme id -> (language, answers), most first
        self.prompts: dict[int, set[int]] = {}  # theme id -> the questions its answers answered
        self.foreign_authors = False
        self._members: dict[int, dict[int, int]] = {}
        if self.scope:
            self._count()
        self.people = one(
            db, "SELECT count(*) AS n FROM participants WHERE session_id = ? AND withdrawn_at IS NULL", (self.session_id,))["n"]

    def members_sql(self) -> tuple[str, list]:
        """Return the conditions (and their values) that make an answer of `r` (joined to its author `p`) one the pages count."""
        marks = ", ".join("?" for _ in self.scope)
        return (f"""r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0 AND r.text IS NOT NULL
                    AND trim(r.text) != '' AND r.prompt_id IN ({marks}) {self.visible}""", [self.session_id, *self.scope])

    def _count(self) -> None:
        """Count the answers by group, and each theme's by question and language: one pass.

        The answers are read as plain tuples (no text), one at a time, and only counts and each theme's
        answer ids are kept.
        """
        where, args = self.members_sql()
        grouped: Counter = Counter()
        languages: dict[int, Counter] = {}
        firsts: dict[int, dict] = {}
        for answer_id, prompt_id, language, status, theme_id, rank, foreign in self.db.execute(
            f"""SELECT r.id, r.prompt_id, r.language, a.status, a.theme_id, a.rank,
                       p.session_id != r.session_id
                FROM responses r JOIN participants p ON p.id = r.participant_id
                LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
                WHERE {where}""", args):
            self.foreign_authors = self.foreign_authors or bool(foreign)
            if status is None or (status == "theme" and theme_id is None):
                grouped["unsorted"] += 1
            elif status != "theme":
                grouped[status] += 1
            else:
                grouped[theme_id] += 1
                if theme_id not in self._members:
                    self._members[theme_id], languages[theme_id], firsts[theme_id] = {}, Counter(), {}
                self._members[theme_id][answer_id] = prompt_id
                languages[theme_id][language] += 1
                # Ties in a theme's languages keep the order the theme lists its answers (rank, then id), as Counter.most_common does.
                seen = firsts[theme_id]
                if language not in seen or (rank, answer_id) < seen[language]:
                    seen[language] = (rank, answer_id)
        self.grouped = dict(grouped)
        for theme_id, by_language in languages.items():
            self.languages[theme_id] = sorted(by_language.items(), key=lambda pair: (-pair[1], firsts[theme_id][pair[0]]))
            self.prompts[theme_id] = set(self._members[theme_id].values())

    def size(self, theme_id: int) -> int:
        """Return how many answers a theme has."""
        return self.grouped.get(theme_id, 0)

    def release(self):
        """Release the theme sizes and the number of people as :func:`analysis.assemble.release` without lenses would."""
        kinds = {t["id"]: t for t in self.stored.themes}
        sizes: Counter = Counter()
        for key, n in self.grouped.items():
            if isinstance(key, int):
                sizes["unsorted" if key not in kinds else assemble.theme_key(kinds[key])] += n
            else:
                sizes[key if key in assemble.SET_ASIDE else "unsorted"] += n
        themes = tuple(assemble.theme_key(t) for t in self.stored.themes if t["kind"] == "theme" and self.grouped.get(t["id"]))
        # A person answers each question at most once (UNIQUE (participant_id, prompt_id) on responses), so no one
        # gave more answers than there are questions in scope: the cap release() uses (its per_person). An answer
        # whose author is another session's person has no known author here: no cap, as in release().
        most = None if self.foreign_authors else len(self.scope)
        return equity.release_sizes(themes + assemble.SET_ASIDE, themes, dict(sizes), people=self.people,
                                    most_per_person=most,
                                    threshold=self.stored.settings["threshold"])

    def members(self, theme: dict) -> ThemeMembers:
        """Return a theme's members as claims and sub-topics ask about them."""
        return ThemeMembers(self, theme["id"])

    def quotes(self, theme: dict, limit: int = 3, chosen_limit: int = assemble.MAX_CHOSEN_QUOTES) -> list[dict]:
        """Pick a theme's quotes as :func:`analysis.assemble.quotes_for` does, reading its answers only as far as needed."""
        chosen = self.candidates(theme["id"], "AND a.chosen")
        first = next(chosen, None)
        if first is not None:
            ordered = sorted([first, *chosen], key=assemble.quote_order)
            return assemble.pick_quotes(self.stored, ordered, chosen_limit, theme["top_terms"])
        picks = sorted(self.candidates(theme["id"], "AND a.quote IS NOT NULL"), key=assemble.quote_order)
        rest = self.candidates(theme["id"], "AND a.quote IS NULL")  # through the rank index, most typical first
        return assemble.pick_quotes(self.stored, _chain(picks, rest), limit, theme["top_terms"])

    def candidates(self, theme_id: int, extra: str = "", args: Sequence = ()) -> Iterator[dict]:
        """Yield a theme's answers whose authors allowed quoting, most typical first, one row at a time (the rank index)."""
        where, where_args = self.members_sql()
        cursor = self.db.execute(
            f"""SELECT r.id, r.prompt_id, r.language, r.text, coalesce(c.quote_ok, 0) AS quote_ok,
                       a.rank, a.quote, a.chosen, {TRANSLATION_COLUMNS}
                FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                JOIN participants p ON p.id = r.participant_id LEFT JOIN consents c ON c.participant_id = p.id
                {TRANSLATION_JOIN}
                WHERE a.theme_id = ? AND a.status = 'theme' AND +a.session_id = ? AND {where}
                  AND coalesce(c.quote_ok, 0) {extra}
                ORDER BY a.rank, a.response_id""", [theme_id, self.session_id, *where_args, *args])
        names = [d[0] for d in cursor.description]
        try:
            for row in cursor:
                yield dict(zip(names, row))
        finally:
            cursor.close()

    def member_questions(self, theme_id: int) -> dict[int, int]:
        """Return a theme's answers and the question each answered, {answer id: question id}."""
        return self._members.get(theme_id, {})

    def quotable_among(self, theme_id: int, answer_ids: Sequence[int]) -> Iterator[dict]:
        """Yield the texts of the theme's answers among these whose authors allowed quoting, a few hundred at a time."""
        members = self.member_questions(theme_id)
        wanted = sorted(i for i in set(answer_ids) if i in members)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            yield from rows(self.db, f"""
                SELECT r.id, r.text FROM responses r JOIN consents c ON c.participant_id = r.participant_id
                WHERE r.id IN ({", ".join("?" for _ in chunk)}) AND coalesce(c.quote_ok, 0)""", chunk)


def _chain(first: list[dict], rest: Iterator[dict]) -> Iterator[dict]:
    """Yield the engine's picks, then the rest."""
    yield from first
    yield from rest


class ThemeMembers(assemble.Members):
    """A theme's current members for its claims and sub-topics, asked of the database (see :class:`analysis.assemble.Members`)."""

    def __init__(self, counted: Counted, theme_id: int) -> None:
        """Ask about one theme of the counted session."""
        super().__init__(counted.stored, [])
        self.counted, self.theme_id = counted, theme_id
        self._rest: Iterator[dict] | None = None
        self._words: list[str] = []

    def count(self) -> int:
        """Return how many answers the theme has."""
        return self.counted.size(self.theme_id)

    def count_among(self, answer_ids: Sequence[int]) -> int:
        """Return how many of these answers are the theme's."""
        members = self.counted.member_questions(self.theme_id)
        return sum(1 for i in set(answer_ids) if i in members)

    def holds(self, words: str, answer_ids: Sequence[int] = ()) -> bool:
        """Tell whether a consenting member's redacted answer holds the words: the given answers first, then the others in rank order."""
        redaction = self.stored.redaction
        if any(words in assemble.words_of(redaction(a["text"])) for a in self.counted.quotable_among(self.theme_id, answer_ids)):
            return True
        if any(words in known for known in self._words):
            return True
        if self._rest is None:
            self._rest = self.counted.candidates(self.theme_id)
        for answer in self._rest:  # read once per theme, and only as far as a claim or sub-topic needs
            known = assemble.words_of(redaction(answer["text"]))
            self._words.append(known)
            if words in known:
                return True
        return False

    def questions(self, answer_ids: Sequence[int], numbers: dict) -> tuple[int, ...]:
        """Return the numbers of the questions these answers answered, when the theme spans several."""
        if len(self.counted.prompts.get(self.theme_id, ())) < 2:
            return ()
        members = self.counted.member_questions(self.theme_id)
        return tuple(sorted({numbers[members[i]] for i in set(answer_ids) if i in members and numbers.get(members[i])}))


# --- the pages ------------------------------------------------------------------------------------


def themes_by_size(counted: Counted) -> list[dict]:
    """Return the themes with answers, largest first (true sizes: staff only), as `assemble.theme_sizes` does."""
    themes = [t for t in counted.stored.themes if t["kind"] == "theme" and counted.size(t["id"])]
    themes.sort(key=lambda t: (-counted.size(t["id"]), t["id"]))
    return themes


def review_data(db: sqlite_utils.Database, session_id: int, ui: str) -> dict:
    """Compute what the review page shows (see `views.review_data`, which computes the same from the full load)."""
    with read_snapshot(db):
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        counted = Counted(db, stored)
        themes = [t for t in stored.themes if t["kind"] == "theme"]
        themes.sort(key=lambda t: (-counted.size(t["id"]), t["id"]))
        other = next((t for t in stored.themes if t["kind"] == "other"), None)
        quotes = {t["id"]: counted.quotes(t) for t in themes}
        pairs = {t["id"]: counted.languages.get(t["id"], []) for t in themes}
        several_languages = len({code for found in pairs.values() for code, _n in found}) > 1
        heard_in = {tid: [assemble.language_label(code, ui) for code, _n in found] for tid, found in pairs.items()}
        sizes = counted.release().sizes
        hidden_in_reports = assemble.hidden_theme_ids(themes, sizes)
        insights = assemble.insights_by_theme(stored)
        numbers = {p["id"]: p["number"] for p in stored.prompts}
        claim_questions = {t["id"]: [list(counted.members(t).questions(c.get("answer_ids", []), numbers))
                                     for c in t.get("claims") or []] for t in themes}
        return {
            "stored": stored, "themes": themes, "other": other, "quotes": quotes, "heard_in": heard_in,
            "several_languages": several_languages, "hidden_in_reports": hidden_in_reports, "insights": insights,
            "grouped": {key: range(n) for key, n in counted.grouped.items()},
            "numbers": numbers, "claim_questions": claim_questions,
        }


def publish_data(db: sqlite_utils.Database, session_id: int) -> tuple:
    """Return the themes with answers (largest first) and the session without its answers: the publish page's."""
    with read_snapshot(db):
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        return themes_by_size(Counted(db, stored)), stored


def choice_tallies(db: sqlite_utils.Database, stored: SessionData) -> dict[int, tuple[Counter, int, int]]:
    """Count each choice or scale question's answers, as :func:`analysis.assemble.choice_tallies` does from the load.

    One grouped query over the choice questions' answers: the database counts the answers with the
    same choices (a handful of distinct lists, a few dozen when several may be chosen) and each list
    is read once. A person answers a question at most once (``UNIQUE (participant_id, prompt_id)``
    on responses), so the people who answered are the answers, and the most values one person
    counted is the most one answer counted.
    """
    asked = {p["id"]: p for p in stored.prompts if p["kind"] in ("single", "multiple", "scale")}
    found: dict[int, tuple[Counter, int, int]] = {pid: (Counter(), 0, 0) for pid in asked}
    if not asked:
        return found
    marks = ", ".join("?" for _ in asked)
    listed = {pid: set(assemble.choice_keys(prompt)) for pid, prompt in asked.items()}
    for prompt_id, choices, number, n in db.execute(
            f"""SELECT r.prompt_id, r.choices, r.number, count(*) FROM responses r JOIN participants p ON p.id = r.participant_id
                WHERE r.session_id = ? AND r.prompt_id IN ({marks}) AND p.withdrawn_at IS NULL AND r.skipped = 0
                {synthesis.visible_filter(db)} GROUP BY 1, 2, 3""", (stored.session["id"], *asked)):
        values = [number] if asked[prompt_id]["kind"] == "scale" else (json.loads(choices) if choices else [])
        counts, answering, most = found[prompt_id]
        for value in values:
            counts[value] += n
        ticked = sum(1 for v in values if v in listed[prompt_id])
        found[prompt_id] = (counts, answering + n, max(most, ticked))
    for counts, _answering, _most in found.values():
        counts.pop(None, None)
    return found


def public_summary(db: sqlite_utils.Database, session_id: int, language: str) -> dict | None:
    """Return what the residents' results page shows (see `queries.public_summary`, the same from the full load)."""
    with read_snapshot(db):
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        if stored is None or not stored.settings["published"]:
            return None
        counted = Counted(db, stored)
        return assemble.public_page_from(
            stored, language, themes_by_size(counted), counted.release(), members_of=counted.members,
            quotes_of=lambda theme: counted.quotes(theme, limit=2, chosen_limit=2),
            choices=assemble.public_choices(stored, language, tallies=choice_tallies(db, stored), people=counted.people))


# --- who was heard ---------------------------------------------------------------------------------


def _about_joins(db: sqlite_utils.Database, stored: SessionData, person: str) -> tuple[str, list[str], list]:
    """Return the joins that read a person's first "about you" choice per question (as `participant_segments` does),
    the values they select, and the joins' bound values. UNIQUE (participant_id, prompt_id) makes each join one row at most."""
    joins, values, args = [], [], []
    for n, prompt in enumerate(assemble.about_prompts(stored)):
        alias = f"q{n}"
        joins.append(f"""LEFT JOIN responses {alias} ON {alias}.participant_id = {person} AND {alias}.prompt_id = ?
                         AND {alias}.session_id = ? AND {alias}.skipped = 0 AND {alias}.choices IS NOT NULL
                         AND {alias}.choices != '' {synthesis.visible_filter(db, alias)}""")
        values.append(f"json_extract({alias}.choices, '$[0]')")
        args += [prompt["id"], stored.session["id"]]
    return " ".join(joins), values, args


def heard_counts(db: sqlite_utils.Database, stored: SessionData) -> equity.Counts:
    """Count what "who was heard" releases (:func:`analysis.equity.count` of `assemble.snapshot`) in grouped queries.

    One statement reads each taking-part person's language, way of taking part and "about you"
    answers once (a materialized table the answers then find by person), and returns the people
    grouped by those, and the counted answers grouped by placement, language, their author's
    language and "about you" answers; a second finds any counted answer whose author is another
    session's person (none, unless the data were edited by hand). Everything the release needs
    follows from these few thousand rows: theme sizes, each lens's people and answers by theme, the
    priority groups' answers, and whether answers follow people (every answer's author is known, and
    answered in the language they joined in). A person answers a question at most once (UNIQUE
    (participant_id, prompt_id)), so no one gave more answers than the questions counted: the cap
    is ``per_person``.
    """
    session_id = stored.session["id"]
    visible = synthesis.visible_filter(db)
    people_lenses, answer_lenses, priority = assemble.lenses_of(stored)
    about_keys = [assemble.about_lens(p["id"]) for p in assemble.about_prompts(stored)]
    per_person = max(1, len(stored.scope))
    wanted = {key: set(categories) for key, categories in priority if categories}
    marks = ", ".join("?" for _ in stored.scope) or "NULL"
    counted = f"""r.session_id = ? AND r.skipped = 0 AND r.text IS NOT NULL AND trim(r.text) != ''
                  AND r.prompt_id IN ({marks}) {visible}"""

    joins, values, args = _about_joins(db, stored, "p.id")
    chosen = "".join(f", v{n}" for n in range(len(about_keys)))
    by = ", ".join(str(i) for i in range(4, 8 + len(about_keys)))
    rows_found = db.execute(
        f"""WITH about AS MATERIALIZED (
                SELECT p.id AS pid, p.language AS language, p.source AS source{"".join(f", {v} AS v{n}" for n, v in enumerate(values))}
                FROM participants p {joins} WHERE p.session_id = ? AND p.withdrawn_at IS NULL)
            SELECT 0, NULL, NULL, NULL, language, source, 0{chosen}, count(*) FROM about GROUP BY {by}
            UNION ALL
            SELECT 1, a.status, a.theme_id, r.language, ab.language, NULL, 0{"".join(f", ab.v{n}" for n in range(len(about_keys)))}, count(*)
            FROM about ab JOIN responses r ON r.participant_id = ab.pid
            LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
            WHERE {counted} GROUP BY 2, 3, {by}""",
        [*args, session_id, session_id, *stored.scope]).fetchall()
    # An answer by someone not among the session's people: the full load counts it, with no known author.
    foreign_joins, foreign_values, foreign_args = _about_joins(db, stored, "r.participant_id")
    rows_found += db.execute(
        f"""SELECT 1, a.status, a.theme_id, r.language, p.language, NULL, 1{"".join(f", {v}" for v in foreign_values)}, count(*)
            FROM responses r JOIN participants p ON p.id = r.participant_id
            LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
            {foreign_joins}
            WHERE {counted} AND p.session_id != r.session_id AND p.withdrawn_at IS NULL GROUP BY 2, 3, {by}""",
        [*foreign_args, session_id, *stored.scope]).fetchall()

    people_counts: dict[str, Counter] = {lens.key: Counter() for lens in people_lenses}
    kinds = {t["id"]: t for t in stored.themes}
    by_key: Counter = Counter()  # theme_answers' keys: a theme's id, or 'off_topic', 'contentless', 'unsorted'
    answer_counts: dict[str, Counter] = {lens.key: Counter() for lens in answer_lenses}
    priority_counts: Counter = Counter()
    people, foreign, same_language = 0, False, True
    value_of = functools.lru_cache(maxsize=None)(equity.segment_value)
    for is_answer, status, theme_id, language, person_language, source, other, *row in rows_found:
        *about, n = row
        found = {key: value_of(None if v is None else str(v)) for key, v in zip(about_keys, about)}
        if not is_answer:
            people += n
            found.update({"language": value_of(person_language), "source": value_of(source)})
            for lens in people_lenses:
                people_counts[lens.key][found[lens.key]] += n
            continue
        if status is None or (status == "theme" and theme_id is None):
            key: int | str = "unsorted"
        else:
            key = status if status != "theme" else theme_id
        by_key[key] += n
        group = assemble.group_of(key, kinds)
        found["language"] = value_of(language)
        for lens in answer_lenses:
            answer_counts[lens.key][(group, found[lens.key])] += n
        if wanted:
            priority_counts[(group, any(found[k] in cats for k, cats in wanted.items()))] += n
        foreign = foreign or bool(other)
        same_language = same_language and value_of(person_language) == found["language"]
    themes = tuple(assemble.theme_key(t) for t in stored.themes if t["kind"] == "theme" and by_key.get(t["id"]))
    sizes: Counter = Counter()
    for key, n in by_key.items():
        sizes[assemble.group_of(key, kinds)] += n
    answer_keys = {lens.key for lens in answer_lenses}
    follow = {lens.key: not foreign and (same_language if lens.key == "language" else True)
              for lens in people_lenses if lens.key in answer_keys}
    return equity.Counts(
        groups=themes + assemble.SET_ASIDE, themes=themes, sizes=dict(sizes), people=people,
        most_per_person=None if foreign else per_person, per_person=per_person,
        people_lenses=people_lenses, people_counts={k: dict(c) for k, c in people_counts.items()},
        answer_lenses=answer_lenses, answer_counts={k: dict(c) for k, c in answer_counts.items()},
        priority=priority, priority_counts=dict(priority_counts), follow=follow,
    )


def heard_data(db: sqlite_utils.Database, session_id: int, language: str) -> tuple:
    """Build "who was heard"'s report in a language, and the session without its answers, from grouped counts.

    The same report as `report_from` of the session's load without texts (``themes=False``), which
    `tests/review/test_tallies.py` compares it with: the same release (:func:`analysis.equity.release_counts`
    of the same counts), the choice results from :func:`choice_tallies`.
    """
    with read_snapshot(db):
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        counts = heard_counts(db, stored)
        rel = equity.release_counts(counts, threshold=stored.settings["threshold"])
        report = synthesis.report_from(db, stored, language, themes=False, rel=rel,
                                       tallies=choice_tallies(db, stored), people=counts.people)
        return report, stored
