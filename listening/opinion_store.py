"""Opinion groups kept in the database (`opinion_groups`, m043): a question's stored row, whether it may be shown,
whether it is out of date, and asking the job consumer to work them out again.

Shared by the staff screens of a running design session (`facilitation.opinion_live`, which also works the groups
out) and the planners' opinion pages (`analysis.review`), which show a big question's stored groups instead of
working them out from every vote in the request. The stored summary is the engine's JSON (`analysis.opinions.
summary_of`); this module never reads inside it.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timezone

import sqlite_utils

from .db import one, transaction

log = logging.getLogger("chorus.opinions")

# The least time between two computations of one question's groups (across every worker).
GROUPS_REFRESH_SECONDS = 20.0
# A big question's groups are worked out again once this share of its votes changed since, or once they are
# GROUPS_MAX_AGE_SECONDS old with any change: about every 20 to 60 s while a hall votes, never when it does not.
GROUPS_CHANGED_SHARE = 0.02
GROUPS_MAX_AGE_SECONDS = 60.0
# Up to this many votes the staff request that finds the groups out of date works them out itself (the engine
# took 120 to 400 ms for 100 to 10,000 votes on this 2-core machine, 2 December, after its imports); above it
# the job consumer does.
GROUPS_IN_REQUEST_VOTES = 2_000
# A request to the job consumer not answered in this long (the consumer was down) is made again.
GROUPS_LEASE_SECONDS = 300.0


def stored_row(db: sqlite_utils.Database, prompt_id: int) -> dict | None:
    """Return the question's row of `opinion_groups`, if any."""
    return one(db, "SELECT * FROM opinion_groups WHERE prompt_id = ?", (prompt_id,))


def usable(row: dict | None, statements: Sequence[int], totals: dict) -> bool:
    """Tell whether a stored row may be shown: it has groups, for these statements, and no vote was deleted since."""
    return (row is not None and row["summary"] is not None and json.loads(row["statements"]) == list(statements)
            and row["removed"] == totals["removed"])


def age(row: dict) -> float:
    """Seconds since the row's groups were worked out (infinite if never)."""
    if not row or not row["computed_at"]:
        return float("inf")
    return (datetime.now(timezone.utc) - datetime.fromisoformat(row["computed_at"])).total_seconds()


def wanted(row: dict | None, statements: Sequence[int], totals: dict, *, in_request: int = GROUPS_IN_REQUEST_VOTES) -> bool:
    """Tell whether a question's groups should be worked out again: none usable (never, another set of statements,
    a vote deleted since), or the votes changed and, for a big question (over `in_request` votes), enough of them
    or long enough ago."""
    if not usable(row, statements, totals):
        return totals["votes"] > 0
    if row["version"] == totals["version"]:
        return False
    since = age(row)
    if since < GROUPS_REFRESH_SECONDS:
        return False
    if totals["votes"] <= in_request:
        return True
    return totals["version"] - row["version"] >= GROUPS_CHANGED_SHARE * max(row["votes"], 1) or since >= GROUPS_MAX_AGE_SECONDS


def ask_consumer(db: sqlite_utils.Database, prompt_id: int, row: dict | None) -> None:
    """Ask the job consumer for a question's groups, unless a worker asked already (less than GROUPS_LEASE_SECONDS ago)."""
    from listening import jobs

    moment = time.time()
    if row is not None and row["requested_at"] is not None and row["requested_at"] >= moment - GROUPS_LEASE_SECONDS:
        return  # asked already: every poll until the groups come stays a read (no wait for residents' votes' write lock)
    with transaction(db):
        claimed = db.execute(
            """INSERT INTO opinion_groups (prompt_id, requested_at) VALUES (?, ?)
               ON CONFLICT (prompt_id) DO UPDATE SET requested_at = excluded.requested_at
               WHERE requested_at IS NULL OR requested_at < ?""",
            (prompt_id, moment, moment - GROUPS_LEASE_SECONDS),
        ).rowcount
    if claimed:
        try:
            jobs.enqueue_quiet("opinion_groups", {"prompt_id": prompt_id})
        except jobs.CannotStart:
            log.warning("Opinion groups of question %s could not be queued; asked again in %s s", prompt_id,
                        GROUPS_LEASE_SECONDS)
