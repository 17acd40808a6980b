"""Many placements written in one transaction with their counts moved once, not once per row (issue 19).

Every placement written runs the triggers on `theme_assignments` (the data version of m019, the
placements' counter of m029, `answer_tallies` of m036 and `heard_answers` of m037): a dozen
statements a row, most of the time a theme run spent writing its 218,287 placements. Inside the
caller's write transaction, `counted_once` turns them off for that transaction only (m045: a row in
`bulk_placing`, inserted and deleted before the commit, so no other connection ever sees it), takes
away what the answers about to be placed count, lets the caller write, then adds back what they
count now with the same grouped statements and bumps both counters once.

The statements are the triggers' own, over a list of answers instead of one row: an answer counts
in `answer_tallies` and `heard_answers` by its placement (status and theme, '' and 0 for none),
read as the recount reads it (`analysis.review.tallies.recount`). Taking an answer's count away and
adding it back as it is now gives what the triggers give whatever the writes in between did;
``tests/review/test_bulk_placing.py`` compares the two.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator, Sequence

import sqlite_utils

# The answers given (a JSON list of ids), their authors and their placements in their own session.
_ANSWERS = ("FROM responses r JOIN participants p ON p.id = r.participant_id "
            "LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id "
            "WHERE r.id IN (SELECT value FROM json_each(:ids)) AND p.withdrawn_at IS NULL AND r.skipped = 0 "
            "AND r.hidden_at IS NULL")
_TALLY_KEY = "session_id, prompt_id, status, theme_id, has_text, language, choices, no_number, number, foreign_author"
_MOVE_TALLIES = (
    f"INSERT INTO answer_tallies ({_TALLY_KEY}, n) "
    "SELECT r.session_id, r.prompt_id, coalesce(a.status, ''), coalesce(a.theme_id, 0), "
    "(r.text IS NOT NULL AND trim(r.text) != ''), r.language, coalesce(r.choices, ''), "
    "r.number IS NULL, coalesce(r.number, 0), p.session_id != r.session_id, :sign * count(*) "
    f"{_ANSWERS} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 "
    f"ON CONFLICT ({_TALLY_KEY}) DO UPDATE SET n = n + excluded.n"
)
_HEARD_KEY = "session_id, prompt_id, status, theme_id, language, author_language, profile, foreign_author"
_MOVE_HEARD = (
    f"INSERT INTO heard_answers ({_HEARD_KEY}, n) "
    "SELECT r.session_id, r.prompt_id, coalesce(a.status, ''), coalesce(a.theme_id, 0), r.language, p.language, "
    "coalesce((SELECT profile FROM heard_profiles WHERE participant_id = p.id AND session_id = r.session_id), '[]'), "
    "p.session_id != r.session_id, :sign * count(*) "
    f"{_ANSWERS} AND r.text IS NOT NULL AND trim(r.text) != '' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 "
    f"ON CONFLICT ({_HEARD_KEY}) DO UPDATE SET n = n + excluded.n"
)
_BUMPS = (
    "INSERT INTO data_versions (session_id, version) VALUES (:session_id, 1) "
    "ON CONFLICT (session_id) DO UPDATE SET version = version + 1",
    "INSERT INTO placement_versions (session_id, version) VALUES (:session_id, 1) "
    "ON CONFLICT (session_id) DO UPDATE SET version = version + 1",
)


@contextmanager
def counted_once(db: sqlite_utils.Database, session_id: int, moved: Sequence[int]) -> Iterator[None]:
    """Let the block write placements of one session without the per-row triggers (inside the caller's transaction).

    `moved` lists the answers whose placement's status or theme the block may change (added, moved or
    deleted): their counts are taken away before it and added back after it. A placement whose rank or
    quote alone changes counts nothing. The session's data version and placements' counter go up once.
    Raises RuntimeError outside a transaction: the flag must never be committed.
    """
    if not db.conn.in_transaction:
        raise RuntimeError("counted_once writes inside the caller's transaction only")
    ids = {"ids": json.dumps(list(moved))}
    db.execute("INSERT INTO bulk_placing (id) VALUES (1)")
    try:
        if moved:
            _move(db, ids, -1)
        yield
        if moved:
            _move(db, ids, 1)
            db.execute("DELETE FROM answer_tallies WHERE n = 0")
            db.execute("DELETE FROM heard_answers WHERE n = 0")
        for bump in _BUMPS:
            db.execute(bump, {"session_id": session_id})
    finally:
        db.execute("DELETE FROM bulk_placing")


def _move(db: sqlite_utils.Database, ids: dict, sign: int) -> None:
    """Add (1) or take away (-1) what these answers count now, by their placements, in both kept tables."""
    db.execute(_MOVE_TALLIES, {**ids, "sign": sign})
    db.execute(_MOVE_HEARD, {**ids, "sign": sign})
