"""The review, publish and residents' pages of a session from grouped counts, never one object per answer.

A big session (100,000 residents, 200,000 open answers) made these pages read every answer, its
placement and its author into Python and count them there: seconds and hundreds of MB on the first
request after any change. What the pages show is small: each theme's size under disclosure control,
its languages and questions, a few quotes, its claims and sub-topics, the choice results. Here they
come from counts the database keeps up to date on every write (`answer_tallies`, triggers of
migration m036: a few hundred rows per session, never the answers), the disclosure decision
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
from listening.db import one
from listening.queries import TRANSLATION_COLUMNS, TRANSLATION_JOIN

from . import queries as synthesis

TALLY_KEY = "session_id, prompt_id, status, theme_id, has_text, language, choices, no_number, number, foreign_author"


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
    """A session's analysed answers as counts: by group, by theme's language and question (kept by triggers, m036)."""

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
        self._member_ids: dict[int, set[int]] = {}
        self._left: set[int] | None = None
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
        """Read the answers' counts by group, each theme's by question and language (a few hundred rows, never the answers).

        `answer_tallies` (m036) holds, per session, question, placement and language, how many answers
        the pages count; triggers keep it exact on every write. Only a tie between two languages of a
        theme reads answers: the theme lists the one whose first answer comes first (rank, then id).
        """
        marks = ", ".join("?" for _ in self.scope)
        grouped: Counter = Counter()
        languages: dict[int, Counter] = {}
        for prompt_id, status, theme_id, language, foreign, n in self.db.execute(
            f"""SELECT prompt_id, status, theme_id, language, foreign_author, sum(n) FROM answer_tallies
                WHERE session_id = ? AND has_text AND prompt_id IN ({marks})
                GROUP BY prompt_id, status, theme_id, language, foreign_author HAVING sum(n) > 0""",
                [self.session_id, *self.scope]):
            self.foreign_authors = self.foreign_authors or bool(foreign)
            if not status or (status == "theme" and not theme_id):
                grouped["unsorted"] += n
            elif status != "theme":
                grouped[status] += n
            else:
                grouped[theme_id] += n
                languages.setdefault(theme_id, Counter())[language] += n
                self.prompts.setdefault(theme_id, set()).add(prompt_id)
        self.grouped = dict(grouped)
        for theme_id, by_language in languages.items():
            counts = Counter(by_language.values())
            tied = [code for code, n in by_language.items() if counts[n] > 1]
            firsts = self._first_answers(theme_id, tied) if tied else {}
            self.languages[theme_id] = sorted(by_language.items(), key=lambda pair: (-pair[1], firsts.get(pair[0], ())))

    def _first_answers(self, theme_id: int, languages: list[str]) -> dict[str, tuple[int, int]]:
        """Return the (rank, id) of each language's first answer in the theme, walking the rank index only until all are found."""
        where, args = self.members_sql()
        wanted, found = set(languages), {}
        cursor = self.db.execute(
            f"""SELECT r.language, a.rank, a.response_id FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                JOIN participants p ON p.id = r.participant_id
                WHERE a.theme_id = ? AND a.status = 'theme' AND +a.session_id = ? AND {where}
                ORDER BY a.rank, a.response_id""", [theme_id, self.session_id, *args])
        try:
            for language, rank, answer_id in cursor:
                if language in wanted and language not in found:
                    found[language] = (rank, answer_id)
                    if len(found) == len(wanted):
                        break
        finally:
            cursor.close()
        return found

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
        # An answer whose author is another session's person has no known author here: no cap, as in release().
        # Otherwise a person answers each question at most once (UNIQUE (participant_id, prompt_id) on
        # responses), so the most answers one person gave in scope is at most the questions in scope, and
        # release() caps at the larger of the two: the questions in scope.
        most = None if self.foreign_authors else len(self.scope)
        return equity.release_sizes(themes + assemble.SET_ASIDE, themes, dict(sizes), people=self.people,
                                    most_per_person=most,
                                    threshold=self.stored.settings["threshold"])

    def members(self, theme: dict) -> ThemeMembers:
        """Return a theme's members as claims and sub-topics ask about them."""
        return ThemeMembers(self, theme["id"])

    def quotes(self, theme: dict, limit: int = 3, chosen_limit: int = assemble.MAX_CHOSEN_QUOTES) -> list[dict]:
        """Pick a theme's quotes as :func:`analysis.assemble.quotes_for` does, reading its answers only as far as needed."""
        chosen = self._placed(theme["id"], "chosen")
        if chosen:
            ordered = sorted(self.candidates(theme["id"], "AND a.chosen", among=chosen), key=assemble.quote_order)
            if ordered:
                return assemble.pick_quotes(self.stored, ordered, chosen_limit, theme["top_terms"])
        picks = sorted(self.candidates(theme["id"], "AND a.quote IS NOT NULL", among=self._placed(theme["id"], "quote IS NOT NULL")),
                       key=assemble.quote_order)
        rest = self.candidates(theme["id"], "AND a.quote IS NULL")  # through the rank index, most typical first
        return assemble.pick_quotes(self.stored, _chain(picks, rest), limit, theme["top_terms"])

    def _placed(self, theme_id: int, condition: str) -> list[int]:
        """Return the ids of a theme's placements that meet a condition its partial index holds (chosen, or an engine's pick)."""
        return [i for (i,) in self.db.execute(
            f"SELECT response_id FROM theme_assignments WHERE theme_id = ? AND {condition}", (theme_id,))]

    def candidates(self, theme_id: int, extra: str = "", args: Sequence = (), among: Sequence[int] | None = None) -> Iterator[dict]:
        """Yield a theme's answers whose authors allowed quoting, most typical first, one row at a time (the rank index).

        `among`: only these answers (a few: looked up one by one rather than walking the theme).
        """
        where, where_args = self.members_sql()
        theme, theme_args = "a.theme_id = ?", [theme_id]
        if among is not None:
            # The unary + keeps SQLite off the theme's indexes: the few ids are looked up directly.
            theme, theme_args = "a.response_id IN (SELECT value FROM json_each(?)) AND +a.theme_id = ?", [
                json.dumps(sorted(set(among))), theme_id]
        cursor = self.db.execute(
            f"""SELECT r.id, r.prompt_id, r.language, r.text, coalesce(c.quote_ok, 0) AS quote_ok,
                       a.rank, a.quote, a.chosen, {TRANSLATION_COLUMNS}
                FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                JOIN participants p ON p.id = r.participant_id LEFT JOIN consents c ON c.participant_id = p.id
                {TRANSLATION_JOIN}
                WHERE {theme} AND a.status = 'theme' AND +a.session_id = ? AND {where}
                  AND coalesce(c.quote_ok, 0) {extra}
                ORDER BY a.rank, a.response_id""", [*theme_args, self.session_id, *where_args, *args])
        names = [d[0] for d in cursor.description]
        try:
            for row in cursor:
                yield dict(zip(names, row))
        finally:
            cursor.close()

    def member_questions(self, theme_id: int, answer_ids: Sequence[int]) -> dict[int, int]:
        """Return which of these answers are the theme's (ones the pages count), and the question each answered."""
        where, args = self.members_sql()
        wanted = sorted(self.member_ids(theme_id).intersection(answer_ids))
        return dict(self.db.execute(f"""
            SELECT r.id, r.prompt_id FROM json_each(?) j CROSS JOIN theme_assignments a ON a.response_id = j.value
            CROSS JOIN responses r ON r.id = a.response_id CROSS JOIN participants p ON p.id = r.participant_id
            WHERE a.theme_id = ? AND a.status = 'theme' AND a.session_id = r.session_id AND {where}""",
            [json.dumps(wanted), theme_id, *args]).fetchall())

    def member_ids(self, theme_id: int) -> set[int]:
        """Return the ids of a theme's answers the pages count, read from its placements (an index) and its count.

        The theme's placements in this session, less this session's hidden answers and withdrawn
        people's answers, hold every member; when there are as many as the theme's count (m036), they
        are the members. Otherwise (an answer placed, then skipped, blanked, moved out of scope or into
        another session) each placement is checked against the answer and its author.
        """
        if theme_id not in self._member_ids:
            # One string, not one row per answer: half the time for a theme of 46,000 answers.
            joined = self.db.execute(
                "SELECT group_concat(response_id) FROM theme_assignments WHERE theme_id = ? AND status = 'theme' AND session_id = ?",
                (theme_id, self.session_id)).fetchone()[0]
            placed = set(map(int, joined.split(","))) if joined else set()
            placed -= self._left_out()
            if len(placed) != self.size(theme_id):
                where, args = self.members_sql()
                placed = {i for (i,) in self.db.execute(f"""
                    SELECT r.id FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                    JOIN participants p ON p.id = r.participant_id
                    WHERE a.theme_id = ? AND a.status = 'theme' AND a.session_id = r.session_id AND {where}""",
                    [theme_id, *args])}
            self._member_ids[theme_id] = placed
        return self._member_ids[theme_id]

    def _left_out(self) -> set[int]:
        """Return this session's answers that are hidden or whose authors withdrew (indexes: a few rows)."""
        if self._left is None:
            self._left = {i for (i,) in self.db.execute(
                f"""SELECT id FROM responses WHERE session_id = ? AND hidden_at IS NOT NULL
                    UNION SELECT r.id FROM participants p JOIN responses r ON r.participant_id = p.id
                    WHERE p.session_id = ? AND p.withdrawn_at IS NOT NULL""", (self.session_id, self.session_id))}
        return self._left

    def quotable_among(self, theme_id: int, answer_ids: Sequence[int]) -> Iterator[dict]:
        """Yield the texts of the theme's answers among these whose authors allowed quoting, in id order, one row at a time."""
        wanted = sorted(self.member_ids(theme_id).intersection(answer_ids))
        cursor = self.db.execute("""
            SELECT r.id, r.text FROM json_each(?) j CROSS JOIN responses r ON r.id = j.value
            JOIN consents c ON c.participant_id = r.participant_id WHERE coalesce(c.quote_ok, 0)""", [json.dumps(wanted)])
        try:
            for answer_id, text in cursor:
                yield {"id": answer_id, "text": text}
        finally:
            cursor.close()


def recount(db: sqlite_utils.Database) -> dict[tuple, tuple[int, int]]:
    """Return every count that `answer_tallies` keeps and counting the answers now would not give: {key: (kept, counted)}.

    Empty when the triggers (m036) kept every count exact, and the segment counts of m037 too (:func:`recount_heard`,
    whose keys start with their table's name), and the vote counts of m042 and m043 (:func:`recount_votes`). The key is the table's: session, question,
    placement status and theme ('' and 0: none), has text, language, choices ('': none), no number,
    number (0: none), author of another session. Reads every answer: for tests and checks, not pages.
    """
    kept = {tuple(row[:-1]): row[-1] for row in db.execute(
        f"SELECT {TALLY_KEY}, n FROM answer_tallies WHERE n != 0")}
    counted = {tuple(row[:-1]): row[-1] for row in db.execute(f"""
        SELECT r.session_id, r.prompt_id, coalesce(a.status, ''), coalesce(a.theme_id, 0),
               r.text IS NOT NULL AND trim(r.text) != '', r.language, coalesce(r.choices, ''),
               r.number IS NULL, coalesce(r.number, 0), p.session_id != r.session_id, count(*)
        FROM responses r JOIN participants p ON p.id = r.participant_id
        LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
        WHERE p.withdrawn_at IS NULL AND r.skipped = 0 {synthesis.visible_filter(db)}
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10""")}
    found = {key: (kept.get(key, 0), counted.get(key, 0)) for key in kept.keys() | counted.keys()
             if kept.get(key, 0) != counted.get(key, 0)}
    return {**found, **recount_heard(db), **recount_votes(db)}


def recount_votes(db: sqlite_utils.Database) -> dict[tuple, tuple]:
    """Return every kept vote count (m042 `vote_counts`, m043 `vote_people` and `vote_totals.voters`) that counting the
    votes now would not give, and every stored opinion groups' summary computed before a vote was deleted since
    (a withdrawn person's votes left in them): {(table, *key): (kept, counted)}. Worked out here from the votes and
    statements in Python, not by the triggers' SQL. Empty when everything is exact. For tests and checks, not pages.
    """
    approved = {sid for sid, status in db.execute("SELECT id, status FROM statements") if status == "approved"}
    counts: Counter = Counter()
    people: Counter = Counter()
    for prompt_id, statement_id, participant_id, vote in db.execute(
            "SELECT prompt_id, statement_id, participant_id, vote FROM votes"):
        counts[(prompt_id, statement_id, vote)] += 1
        if statement_id in approved:
            people[(prompt_id, participant_id)] += 1
    voters: Counter = Counter(prompt_id for prompt_id, _person in people)
    found: dict[tuple, tuple] = {}

    def compare(table: str, kept: dict, counted: dict) -> None:
        """Add the keys whose kept and counted values differ."""
        for key in kept.keys() | counted.keys():
            if kept.get(key, 0) != counted.get(key, 0):
                found[(table, *key)] = (kept.get(key, 0), counted.get(key, 0))

    compare("vote_counts", {(p, s, v): n for p, s, v, n in db.execute(
        "SELECT prompt_id, statement_id, vote, n FROM vote_counts")}, counts)
    compare("vote_people", {(p, x): n for p, x, n in db.execute(
        "SELECT prompt_id, participant_id, n FROM vote_people")}, people)
    compare("vote_totals", {(p,): n for p, n in db.execute("SELECT prompt_id, voters FROM vote_totals")},
            {(p,): n for p, n in voters.items()})
    compare("opinion_groups", {(p,): stored for p, stored in db.execute(
        "SELECT prompt_id, removed FROM opinion_groups WHERE summary IS NOT NULL")},
            {(p,): now for p, now in db.execute(
                """SELECT g.prompt_id, coalesce(t.removed, 0) FROM opinion_groups g LEFT JOIN vote_totals t
                   ON t.prompt_id = g.prompt_id WHERE g.summary IS NOT NULL""")})
    return found


def _choice(value) -> object:
    """Return a first choice as a profile keeps it: a JSON array or object as its compact text, any other value itself."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else value


def _profile_key(pairs) -> tuple:
    """Return a profile's pairs as a comparable tuple."""
    return tuple((int(prompt_id), _choice(value)) for prompt_id, value in pairs)


def recount_heard(db: sqlite_utils.Database) -> dict[tuple, tuple]:
    """Return every row of the segment counts (m037) that counting the answers now would not give: {(table, *key): (kept, counted)}.

    Profiles are worked out here in Python from the "about you" answers, not by the triggers' SQL:
    `heard_profiles` (a kept profile is compared as its pairs), `heard_people` and `heard_answers`.
    Empty when the triggers kept everything exact. Reads every answer: for tests and checks, not pages.
    """
    people = {pid: (session_id, language, source, withdrawn) for pid, session_id, language, source, withdrawn in db.execute(
        "SELECT id, session_id, language, source, withdrawn_at IS NOT NULL FROM participants")}
    chosen: dict[tuple[int, int], list] = {}
    for person, session_id, prompt_id, choices in db.execute(f"""
            SELECT q.participant_id, q.session_id, q.prompt_id, q.choices FROM responses q JOIN prompts pr ON pr.id = q.prompt_id
            WHERE pr.kind = 'about' AND q.skipped = 0 AND q.choices IS NOT NULL AND q.choices != '' {synthesis.visible_filter(db, 'q')}
            ORDER BY q.prompt_id"""):
        try:
            value = json.loads(choices)
        except ValueError:
            continue
        if isinstance(value, list) and value and value[0] is not None:
            chosen.setdefault((person, session_id), []).append((prompt_id, value[0]))
    profiles = {pair: _profile_key(found) for pair, found in chosen.items()
                if pair[0] in people and not people[pair[0]][3]}
    found: dict[tuple, tuple] = {}

    def compare(table: str, kept: dict, counted: dict) -> None:
        """Add the keys whose kept and counted values differ."""
        for key in kept.keys() | counted.keys():
            if kept.get(key, 0) != counted.get(key, 0):
                found[(table, *key)] = (kept.get(key, 0), counted.get(key, 0))

    compare("heard_profiles", {(x, s): _profile_key(json.loads(profile)) for x, s, profile in db.execute(
        "SELECT participant_id, session_id, profile FROM heard_profiles")}, profiles)
    counted_people: Counter = Counter()
    for pid, (session_id, language, source, withdrawn) in people.items():
        if not withdrawn:
            counted_people[(session_id, language, source, profiles.get((pid, session_id), ()))] += 1
    compare("heard_people", {(s, language, source, _profile_key(json.loads(profile))): n for s, language, source, profile, n
                             in db.execute("SELECT session_id, language, source, profile, n FROM heard_people")},
            counted_people)
    counted_answers: Counter = Counter()
    for session_id, prompt_id, status, theme_id, language, person, n in db.execute(f"""
            SELECT r.session_id, r.prompt_id, coalesce(a.status, ''), coalesce(a.theme_id, 0), r.language, r.participant_id, count(*)
            FROM responses r JOIN participants p ON p.id = r.participant_id
            LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
            WHERE p.withdrawn_at IS NULL AND r.skipped = 0 AND r.text IS NOT NULL AND trim(r.text) != '' {synthesis.visible_filter(db)}
            GROUP BY 1, 2, 3, 4, 5, 6"""):
        own_session, person_language = people[person][0], people[person][1]
        counted_answers[(session_id, prompt_id, status, theme_id, language, person_language,
                         profiles.get((person, session_id), ()), int(own_session != session_id))] += n
    compare("heard_answers", {(*key, _profile_key(json.loads(profile)), foreign): n for *key, profile, foreign, n in db.execute(
        "SELECT session_id, prompt_id, status, theme_id, language, author_language, profile, foreign_author, n FROM heard_answers")},
        counted_answers)
    return found


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
        return len(self.counted.member_ids(self.theme_id).intersection(answer_ids))

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
        members = self.counted.member_questions(self.theme_id, answer_ids)
        return tuple(sorted({numbers[prompt] for prompt in members.values() if numbers.get(prompt)}))


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


def report_data(db: sqlite_utils.Database, session_id: int, language: str, *, translations=None):
    """Build a session's synthesis report (every report format, and the data exports' codebook) from counts.

    The same report as `queries.report_from` of the session's full load, which
    `tests/review/test_tallies.py` compares it with, without one object per answer or per person:
    the release is the one decision :func:`analysis.equity.release` makes from the counts "who was
    heard" reads (:func:`heard_counts`: people and answers grouped by their lenses), the theme
    sections ask :class:`Counted` (sizes kept by triggers, a theme's quotes, claims and sub-topics
    read through the rank index only as far as they need), the choice results :func:`choice_tallies`.
    The worker's memory then no longer grows with the number of answers (issue 19: under 500 MB at
    100,000 residents). Returns the report and the session read without its answers.
    """
    with read_snapshot(db):
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        if stored is None:
            raise ValueError(f"No session with id {session_id}")
        counts = heard_counts(db, stored)
        rel = equity.release(counts, threshold=stored.settings["threshold"])
        report = synthesis.report_from(db, stored, language, translations=translations, rel=rel,
                                       tallies=choice_tallies(db, stored), people=counts.people, counted=Counted(db, stored))
        return report, stored


def choice_tallies(db: sqlite_utils.Database, stored: SessionData) -> dict[int, tuple[Counter, int, int]]:
    """Count each choice or scale question's answers, as :func:`analysis.assemble.choice_tallies` does from the load.

    The counts come from `answer_tallies` (m036): one row per distinct answer (its choices, or its
    number) with how many people gave it, which SQLite unpacks (``json_each``) and weighs. A person
    answers a question at most once (``UNIQUE (participant_id, prompt_id)`` on responses), so the people
    who answered are the answers, and the most values one person counted is the most one answer counted.
    """
    out = {}
    for prompt in stored.prompts:
        if prompt["kind"] not in ("single", "multiple", "scale"):
            continue
        keys = assemble.choice_keys(prompt)
        marks = ", ".join("?" for _ in keys) or "NULL"
        where = "FROM answer_tallies t WHERE t.session_id = ? AND t.prompt_id = ? AND t.n > 0"
        args = (stored.session["id"], prompt["id"])
        if prompt["kind"] == "scale":
            value = "CASE WHEN t.no_number THEN NULL ELSE t.number END"
            counts = Counter(dict(db.execute(f"SELECT {value}, sum(t.n) {where} GROUP BY 1 HAVING sum(t.n) > 0", args).fetchall()))
            ticked = f"{value} IN ({marks})"
        else:
            values = "json_each(CASE WHEN t.choices = '' THEN '[]' ELSE t.choices END)"
            counts = Counter(dict(db.execute(
                f"SELECT j.value, sum(t.n) FROM answer_tallies t, {values} j {where[where.index('WHERE'):]} "
                "GROUP BY j.value HAVING sum(t.n) > 0", args).fetchall()))
            ticked = f"(SELECT count(*) FROM {values} j WHERE j.value IN ({marks}))"
        answering, most = db.execute(f"SELECT coalesce(sum(t.n), 0), coalesce(max({ticked}), 0) {where}", (*keys, *args)).fetchone()
        counts.pop(None, None)
        out[prompt["id"]] = (counts, answering, most)
    return out


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


def profile_values(profile: str) -> dict[int, object]:
    """Return a kept profile (m037: JSON pairs of an "about you" question and its first choice) as {question id: choice}."""
    return {int(prompt_id): value for prompt_id, value in json.loads(profile)}


def heard_counts(db: sqlite_utils.Database, stored: SessionData) -> equity.Counts:
    """Count what "who was heard" releases (:func:`analysis.equity.count` of `assemble.snapshot`) from the kept segment counts.

    `heard_people` and `heard_answers` (m037, kept by triggers) hold the session's people by language,
    way of taking part and "about you" answers (a profile: each "about you" question's first choice),
    and its counted answers by question, placement, language, their author's language and profile,
    and whether their author is another session's person (none, unless the data were edited by hand):
    a few thousand rows at 100,000 residents, never the answers. Everything the release needs follows
    from them: theme sizes, each lens's people and answers by theme, the priority groups' answers, and
    whether answers follow people (every answer's author is known, and answered in the language they
    joined in). A person answers a question at most once (UNIQUE (participant_id, prompt_id)), so no one
    gave more answers than the questions counted: the cap is ``per_person``.
    """
    session_id = stored.session["id"]
    people_lenses, answer_lenses, priority = assemble.lenses_of(stored)
    about = [p["id"] for p in assemble.about_prompts(stored)]
    about_keys = [assemble.about_lens(prompt_id) for prompt_id in about]
    per_person = max(1, len(stored.scope))
    wanted = {key: set(categories) for key, categories in priority if categories}
    marks = ", ".join("?" for _ in stored.scope) or "NULL"
    value_of = functools.lru_cache(maxsize=None)(equity.segment_value)

    @functools.lru_cache(maxsize=None)
    def about_of(profile: str) -> dict[str, str]:
        """Return a profile's value in each "about you" lens of the session (a question not answered: missing)."""
        chosen = profile_values(profile)
        return {key: value_of(None if chosen.get(prompt_id) is None else str(chosen[prompt_id]))
                for key, prompt_id in zip(about_keys, about)}

    people_counts: dict[str, Counter] = {lens.key: Counter() for lens in people_lenses}
    people = 0
    for language, source, profile, n in db.execute(
            "SELECT language, source, profile, n FROM heard_people WHERE session_id = ? AND n > 0", (session_id,)):
        people += n
        found = {**about_of(profile), "language": value_of(language), "source": value_of(source)}
        for lens in people_lenses:
            people_counts[lens.key][found[lens.key]] += n

    kinds = {t["id"]: t for t in stored.themes}
    by_key: Counter = Counter()  # theme_answers' keys: a theme's id, or 'off_topic', 'contentless', 'unsorted'
    answer_counts: dict[str, Counter] = {lens.key: Counter() for lens in answer_lenses}
    priority_counts: Counter = Counter()
    foreign, same_language = False, True
    for status, theme_id, language, person_language, profile, other, n in db.execute(
            f"""SELECT status, theme_id, language, author_language, profile, foreign_author, sum(n) FROM heard_answers
                WHERE session_id = ? AND prompt_id IN ({marks}) GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) > 0""",
            [session_id, *stored.scope]):
        key: int | str = "unsorted" if not status or (status == "theme" and not theme_id) else (
            status if status != "theme" else theme_id)
        by_key[key] += n
        group = assemble.group_of(key, kinds)
        found = {**about_of(profile), "language": value_of(language)}
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
