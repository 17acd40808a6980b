"""The long lists staff read, a page at a time: a session's answers (filtered) and the audit log.

Every filter is a WHERE condition in SQL and every count an SQL aggregate, so a page costs the
same with 100 answers or 800,000 (see docs/scaling.md). Answers come newest first, paged by
their id through the `responses_by_session` / `responses_by_prompt` indexes (SQLite keeps the
row id at the end of every index, so both are ordered by it within a session or a question).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from .db import one, rows
from .queries import TRANSLATION_COLUMNS, TRANSLATION_JOIN
from .paging import PAGE_SIZE, Page, keyset_page

HIDDEN_FILTERS = ("", "shown", "hidden")


@dataclass(frozen=True)
class AnswerFilter:
    """What a staff member narrowed the answers to; empty values mean "all"."""

    prompt_id: int | None = None
    language: str = ""
    source: str = ""
    hidden: str = ""
    option_id: int | None = None      # an "about you" answer: only people who gave it
    theme_id: int | None = None       # only answers the planners' themes put in this theme

    def args(self) -> dict:
        """Return the filter as query-string arguments (empty ones left out), for links that keep it."""
        found = {"prompt": self.prompt_id, "language": self.language, "source": self.source,
                 "hidden": self.hidden, "segment": self.option_id, "theme": self.theme_id}
        return {k: v for k, v in found.items() if v not in (None, "")}


def _answer_conditions(db: sqlite_utils.Database, session_id: int, chosen: AnswerFilter) -> tuple[list[str], list]:
    """Return the WHERE conditions and parameters for a session's written answers under a filter."""
    conditions = ["r.session_id = ?", "r.skipped = 0", "r.text IS NOT NULL", "p.withdrawn_at IS NULL",
                  "r.prompt_id IN (SELECT id FROM prompts WHERE session_id = ? AND kind = 'open')"]
    params: list = [session_id, session_id]
    if chosen.prompt_id is not None:
        conditions.append("r.prompt_id = ?")
        params.append(chosen.prompt_id)
    if chosen.language:
        conditions.append("r.language = ?")
        params.append(chosen.language)
    if chosen.source:
        conditions.append("r.source = ?")
        params.append(chosen.source)
    if chosen.hidden == "shown":
        conditions.append("r.hidden_at IS NULL")
    elif chosen.hidden == "hidden":
        conditions.append("r.hidden_at IS NOT NULL")
    if chosen.option_id is not None:
        about = one(db, """SELECT o.prompt_id FROM options o JOIN prompts q ON q.id = o.prompt_id
                           WHERE o.id = ? AND q.session_id = ?""", (chosen.option_id, session_id))
        conditions.append("""EXISTS (SELECT 1 FROM responses s, json_each(s.choices) j
                                     WHERE s.participant_id = r.participant_id AND s.prompt_id = ?
                                       AND s.skipped = 0 AND j.value = ?)""")
        params += [about["prompt_id"] if about else 0, chosen.option_id]
    if chosen.theme_id is not None:
        # Start from the theme's own assignments (their index is ordered by answer id within a
        # theme): a small theme's page and count then read its answers, not the session's.
        conditions.append("r.id IN (SELECT response_id FROM theme_assignments WHERE theme_id = ?)")
        params.append(chosen.theme_id)
    return conditions, params


# With any staff translation, shown beneath its answer (the staff see every answer's words here).
ANSWER_SELECT = f"""SELECT r.id, r.participant_id, r.prompt_id, r.language, r.source, r.text, r.created_at,
                          r.updated_at, r.hidden_at, r.hidden_reason, {TRANSLATION_COLUMNS}
                   FROM responses r JOIN participants p ON p.id = r.participant_id {TRANSLATION_JOIN}"""


def answers_page(db: sqlite_utils.Database, session_id: int, chosen: AnswerFilter, *, before: int | None = None,
                 after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """Return one page of a session's written answers matching the filter, newest first."""
    conditions, params = _answer_conditions(db, session_id, chosen)
    return keyset_page(db, ANSWER_SELECT, conditions, params, key="r.id", before=before, after=after, size=size)


COUNT_CAP = 10_000


def count_answers(db: sqlite_utils.Database, session_id: int, chosen: AnswerFilter, cap: int | None = None) -> int:
    """Count a session's written answers matching the filter in SQL, stopping past `cap` (the page then says "more than")."""
    cap = cap or COUNT_CAP
    conditions, params = _answer_conditions(db, session_id, chosen)
    sql = f"""SELECT count(*) FROM (SELECT 1 FROM responses r JOIN participants p ON p.id = r.participant_id
              WHERE {' AND '.join(conditions)} LIMIT ?)"""
    return db.execute(sql, (*params, cap + 1)).fetchone()[0]


# Withdrawal deletes a person's answers in the same transaction that marks them withdrawn
# (`queries.erase_participant`), so counts need no join to participants and read an index alone.


def answer_counts(db: sqlite_utils.Database, session_id: int) -> dict[int, int]:
    """Count the answers (not skipped) to each of a session's questions, from the `responses_live_counts` index."""
    return {row["prompt_id"]: row["n"] for row in rows(
        db, """SELECT r.prompt_id, count(*) AS n FROM responses r
               WHERE r.prompt_id IN (SELECT id FROM prompts WHERE session_id = ?) AND r.skipped = 0
               GROUP BY r.prompt_id""",
        (session_id,))}


def choice_counts(db: sqlite_utils.Database, session_id: int) -> dict[int, dict]:
    """Count each option chosen (or scale point given) per question, from the `responses_tallies` index: {prompt id: {option id or number: n}}.

    Answers are grouped by their stored list of choices first (a question has few distinct
    lists), and only those few lists are decoded: far cheaper than expanding every answer in SQL.
    """
    found: dict[int, dict] = {}
    for row in rows(
        db, """SELECT r.prompt_id, r.choices, r.number, count(*) AS n FROM responses r
               WHERE r.prompt_id IN (SELECT id FROM prompts WHERE session_id = ? AND kind != 'open') AND r.skipped = 0
               GROUP BY r.prompt_id, r.choices, r.number""", (session_id,)):
        counts = found.setdefault(row["prompt_id"], {})
        values = json.loads(row["choices"]) if row["choices"] else []
        if row["number"] is not None:
            values = [*values, row["number"]]
        for value in values:
            counts[value] = counts.get(value, 0) + row["n"]
    return found


OWN_WORDS_SHOWN = 500


def own_words(db: sqlite_utils.Database, session_id: int) -> dict[int, dict]:
    """Return the words people gave with a self-described choice, per question: {prompt id: {"words": [...], "total": n}}.

    Not hidden, not skipped, not blank; in alphabetical order so no list order points to a person;
    at most `OWN_WORDS_SHOWN` per question (the internal export has them all).
    """
    found: dict[int, dict] = {}
    for row in rows(
        db, """SELECT r.prompt_id, r.described AS words, r.language FROM responses r
               WHERE r.prompt_id IN (SELECT id FROM prompts WHERE session_id = ? AND self_describe = 1)
                 AND r.skipped = 0 AND r.hidden_at IS NULL AND r.described IS NOT NULL AND trim(r.described) != ''
               ORDER BY r.prompt_id, r.described COLLATE NOCASE, r.language""", (session_id,)):
        entry = found.setdefault(row["prompt_id"], {"words": [], "total": 0})
        entry["total"] += 1
        if len(entry["words"]) < OWN_WORDS_SHOWN:
            entry["words"].append({"words": row["words"], "language": row["language"]})
    return found


def people_count(db: sqlite_utils.Database, session_id: int) -> int:
    """Count the people taking part in a session (not withdrawn)."""
    return db.execute("SELECT count(*) FROM participants WHERE session_id = ? AND withdrawn_at IS NULL",
                      (session_id,)).fetchone()[0]


def answer_languages(db: sqlite_utils.Database, session_id: int) -> list[str]:
    """Return the languages a session's answers were given in (for the filter's choices)."""
    return [row["language"] for row in rows(
        db, "SELECT DISTINCT language FROM participants WHERE session_id = ? ORDER BY language", (session_id,))]


def answer_sources(db: sqlite_utils.Database, session_id: int) -> list[str]:
    """Return how a session's answers came in (phone, paper...), for the filter's choices."""
    return [row["source"] for row in rows(
        db, "SELECT DISTINCT source FROM participants WHERE session_id = ? ORDER BY source", (session_id,))]


def session_themes(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's active themes (id and label), for the theme filter."""
    return rows(db, """SELECT id, label FROM themes WHERE session_id = ? AND retired_at IS NULL
                       AND kind = 'theme' ORDER BY label COLLATE NOCASE, id""", (session_id,))


AUDIT_SELECT = "SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id"


def audit_page(db: sqlite_utils.Database, *, action: str = "", before: int | None = None, after: int | None = None,
               size: int = 100) -> Page:
    """Return one page of the audit log, newest first, optionally of one kind of action."""
    conditions, params = (["a.action = ?"], [action]) if action else ([], [])
    return keyset_page(db, AUDIT_SELECT, conditions, params, key="a.id", before=before, after=after, size=size)


def audit_actions(db: sqlite_utils.Database) -> list[str]:
    """Return the kinds of action the audit log holds (for its filter)."""
    return [row["action"] for row in rows(db, "SELECT DISTINCT action FROM audit_log ORDER BY action")]
