"""Tables of a design session: the small groups a facilitator splits the room into.

A table has a name ("Table 2"), the language it works in and a short note ("with an
interpreter"). Its notetaker types the table's ideas, answers (priorities too) and each person's votes
in through staff entry; those carry the table's id, so the projector and reports can show each table's ideas together.
Removing a table keeps what was typed in for it (only the tag goes). Functions take `db` first.
"""
from __future__ import annotations

import sqlite_utils

from .db import one, rows, transaction
from .queries import now

MAX_TABLE_NAME = 60
MAX_TABLE_NOTE = 120


def add_table(db: sqlite_utils.Database, session_id: int, *, name: str, language: str, note: str = "",
              created_by: int | None = None) -> int:
    """Add a table at the end of a session's list and return its id."""
    name, note = name.strip(), note.strip()
    if not name or len(name) > MAX_TABLE_NAME or len(note) > MAX_TABLE_NOTE:
        raise ValueError("A table needs a short name (and at most a short note)")
    with transaction(db):
        position = one(db, "SELECT coalesce(max(position), 0) + 1 AS p FROM session_tables WHERE session_id = ?",
                       (session_id,))["p"]
        return db.execute(
            """INSERT INTO session_tables (session_id, name, language, note, position, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (session_id, name, language, note, position, created_by, now()),
        ).lastrowid


def tables_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's tables in the order they were added, each with how many ideas, answers and votes it holds."""
    return rows(
        db,
        """SELECT t.*, (SELECT count(*) FROM statements s WHERE s.table_id = t.id) AS ideas,
                  (SELECT count(*) FROM responses r WHERE r.table_id = t.id) AS answers,
                  (SELECT count(*) FROM votes v WHERE v.table_id = t.id) AS votes
           FROM session_tables t WHERE t.session_id = ? ORDER BY t.position, t.id""",
        (session_id,),
    )


def table_in_session(db: sqlite_utils.Database, session_id: int, table_id: int | None) -> dict | None:
    """Return one table only if it belongs to this session."""
    if table_id is None:
        return None
    return one(db, "SELECT * FROM session_tables WHERE id = ? AND session_id = ?", (table_id, session_id))


def remove_table(db: sqlite_utils.Database, session_id: int, table_id: int) -> bool:
    """Remove a table of this session (its ideas and answers stay, untagged); return False if there is none."""
    with transaction(db):
        return bool(db.execute("DELETE FROM session_tables WHERE id = ? AND session_id = ?",
                               (table_id, session_id)).rowcount)


def tag_response(db: sqlite_utils.Database, response_id: int, table_id: int | None) -> None:
    """Tag an answer typed in for a table with that table, inside the caller's transaction."""
    if table_id is not None:
        db.execute("UPDATE responses SET table_id = ? WHERE id = ?", (table_id, response_id))
