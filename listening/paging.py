"""Keyset pagination: one page of a long list, newest first, with "older" and "newer" cursors.

Big sessions have hundreds of thousands of answers, so no staff list loads a whole table:
each page is `ORDER BY <key> DESC LIMIT n` from an index, and the links carry the last key
seen (`?before=`) or the first (`?after=`) rather than an offset that SQLite would have to
count through. The caller gives the SELECT and its WHERE conditions (plain SQL with bound
parameters); this module adds the key condition, the order and the limit.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from .db import rows

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of rows, newest first, with the cursors of the neighbouring pages (None at an end)."""

    rows: list
    older: int | None
    newer: int | None


def cursor(raw: str | None) -> int | None:
    """Return a positive whole-number cursor from a query string, or None for anything else."""
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 < value <= 2**63 - 1 else None  # beyond SQLite's integers: no cursor, not an OverflowError


def keyset_page(db: sqlite_utils.Database, select: str, conditions: list[str], params: list, *, key: str,
                before: int | None = None, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """Return the page of `select ... WHERE conditions` just older than `before`, just newer than `after`, or the newest."""
    where = list(conditions)
    values = list(params)
    if after is not None and before is None:
        where.append(f"{key} > ?")
        values.append(after)
        order = "ASC"
    else:
        if before is not None:
            where.append(f"{key} < ?")
            values.append(before)
        order = "DESC"
    sql = f"{select} WHERE {' AND '.join(where) or '1'} ORDER BY {key} {order} LIMIT ?"
    found = rows(db, sql, (*values, size + 1))
    more = len(found) > size
    found = found[:size]
    if order == "ASC":
        found.reverse()
    column = key.split(".")[-1]
    first = found[0][column] if found else None
    last = found[-1][column] if found else None
    if order == "ASC":
        older = last if found and _exists(db, select, conditions, params, key, "<", last) else None
        newer = first if more else None
    else:
        older = last if more else None
        newer = first if found and before is not None and _exists(db, select, conditions, params, key, ">", first) else None
    return Page(found, older, newer)


def _exists(db: sqlite_utils.Database, select: str, conditions: list[str], params: list, key: str, op: str, value) -> bool:
    """Say whether any row past `value` (in the direction `op`) matches the conditions."""
    where = [*conditions, f"{key} {op} ?"]
    sql = f"SELECT EXISTS ({select} WHERE {' AND '.join(where)})"
    return bool(db.execute(sql, (*params, value)).fetchone()[0])
