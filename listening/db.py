"""The database connection: one sqlite_utils.Database per request, with Chorus's pragmas.

Writes go through `transaction(db)`, which takes the write lock up front (BEGIN IMMEDIATE)
so concurrent writers queue on the busy timeout instead of failing half way.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator

import sqlite_utils
from flask import Flask, current_app, g


def connect(path: str, *, busy_timeout_ms: int = 5000, synchronous: str = "FULL") -> sqlite_utils.Database:
    """Open the database at `path` with WAL, foreign keys and a busy timeout."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"Unknown SQLite synchronous setting: {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    return sqlite_utils.Database(conn)


def get_db() -> sqlite_utils.Database:
    """Return this request's database connection, opening it on first use."""
    if "db" not in g:
        g.db = connect(
            str(current_app.config["DATABASE"]),
            busy_timeout_ms=current_app.config["BUSY_TIMEOUT_MS"],
            synchronous=current_app.config["SQLITE_SYNCHRONOUS"],
        )
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Close this request's connection, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction: all of it is committed, or none of it."""
    conn = db.conn
    if conn.in_transaction:
        # Nested use joins the outer transaction through a savepoint.
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.execute("COMMIT")


def rows(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Run a query and return its rows as plain dicts."""
    return [dict(row) for row in db.execute(sql, params).fetchall()]


def one(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> dict | None:
    """Run a query and return its first row as a dict, or None."""
    row = db.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


def init_app(app: Flask) -> None:
    """Close the connection at the end of every request."""
    app.teardown_appcontext(close_db)
