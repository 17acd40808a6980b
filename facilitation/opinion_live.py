"""Opinion groups while a design session runs: the engine's groups for a react question, computed off the staff
screens' requests and kept in the database (`opinion_groups`, m043), and the statement a phone should see next
(installed into the residents' side by the app factory, since the residents' package may not import the engine).

Choosing the groups takes a tenth of a second on a few voters and about ten seconds on 100,000 (held-out checks
of each number of groups), while the projector polls every 2 s and the console every 3 s. So a screen never
waits for them: it shows the groups last stored for the question, with when they were worked out, and asks
for new ones when the votes changed enough (`wanted`): a question of at most GROUPS_IN_REQUEST_VOTES votes has
them worked out in that request (a few hundred milliseconds at most), a bigger one asks the job consumer
(`jobs.enqueue_quiet`, claimed in the table so that one worker of one machine asks, once). Every worker, the
console, the projector and the phones read the same stored groups: there is no copy in a worker's memory.

Stored groups hold what the screens and the chooser need (group sizes, each group's agree / disagree / pass
counts per statement, consensus), never who is in which group. A deleted vote (a withdrawal, an erasure)
empties them at once (a trigger of m043), and a computation that read votes since deleted is not stored, so a
withdrawn person's votes never stay in them; the screen then says the groups are being worked out again.
"""
from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlite_utils

from analysis.opinions import (OpinionGroups, StatementTally, VoteMatrix, consensus_shown, find_opinion_groups, group_size_table,
                               groups_from_summary, next_statement, statement_priorities, summary_of)
from listening import statements as st
from listening.db import transaction
from listening.opinion_store import (GROUPS_IN_REQUEST_VOTES, ask_consumer, stored_row, usable,  # noqa: F401 - the names
                                      wanted)  # the screens and tests use here

# Below this many voters groups are not formed: the engine needs people to compare.
MIN_VOTERS_FOR_GROUPS = 6


def matrix_of(votes: Sequence[tuple[int, int, int]], statements: Sequence[int]) -> VoteMatrix:
    """Build the engine's vote matrix from (participant, statement, vote) rows, keeping every statement."""
    return VoteMatrix.from_votes(votes, statements=statements)


def compute_groups(votes: Sequence[tuple[int, int, int]], statements: Sequence[int]) -> OpinionGroups | None:
    """Return the opinion groups of a react question's votes, or None with too few voters."""
    matrix = matrix_of(votes, statements)
    voters = len({p for p, _s, _v in votes})
    return find_opinion_groups(matrix, seed=0) if voters >= MIN_VOTERS_FOR_GROUPS and matrix.n_votes else None


def choose_next(prompt_id: int, votes: Sequence[tuple[int, int, int]], statements: Sequence[int],
                done: Collection[int], draw: float, groups: OpinionGroups | None = None) -> int | None:
    """Return the statement a participant sees next: the engine's priorities (few votes, separating or uniting) drawn."""
    matrix = matrix_of(votes, statements)
    priorities = statement_priorities(matrix.tallies(), groups)
    return next_statement(priorities, done, draw=min(max(draw, 0.0), 0.999999))


def choose_next_counted(prompt_id: int, counts: Mapping[int, tuple[int, int, int]], statements: Sequence[int],
                        done: Collection[int], draw: float, groups: OpinionGroups | None = None) -> int | None:
    """Return the statement a participant sees next, as `choose_next`, from each statement's kept (agree, disagree,
    pass) counts (`statements.vote_tallies`) instead of every vote of the question."""
    tallies = tuple(StatementTally(sid, *counts.get(sid, (0, 0, 0))) for sid in dict.fromkeys(statements))
    priorities = statement_priorities(tallies, groups)
    return next_statement(priorities, done, draw=min(max(draw, 0.0), 0.999999))


def choose_next_stored(prompt_id: int, counts: Mapping[int, tuple[int, int, int]], statements: Sequence[int],
                       done: Collection[int], draw: float) -> int | None:
    """The phones' chooser (installed by the app factory): `choose_next_counted` with the question's stored groups,
    if they cover these statements; never computes them."""
    from listening.db import get_db

    found = stored_groups(get_db(), prompt_id, statements)
    return choose_next_counted(prompt_id, counts, statements, done, draw, found.groups if found else None)


# --- what is stored ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A question's stored groups: the groups (None: too few voters), when and from how many votes and voters they
    were worked out, and whether the votes changed since."""

    groups: OpinionGroups | None
    computed_at: str
    votes: int
    voters: int
    current: bool


def _as_stored(row: dict, totals: dict) -> Stored:
    """Return a usable row as Stored."""
    return Stored(groups_from_summary(json.loads(row["summary"])), row["computed_at"], row["votes"], row["voters"],
                  row["version"] == totals["version"])


def stored_groups(db: sqlite_utils.Database, prompt_id: int, statements: Sequence[int]) -> Stored | None:
    """Return the groups stored for a question if they cover these statements and no vote was deleted since; never
    compute or ask for them."""
    totals = st.vote_totals(db, prompt_id)
    row = stored_row(db, prompt_id)
    return _as_stored(row, totals) if usable(row, statements, totals) else None


def refresh_groups(db: sqlite_utils.Database, prompt_id: int) -> str:
    """Work out a question's groups from its votes now and store them; return "stored", or "stale" when a vote was
    deleted while they were worked out (nothing is stored: a withdrawn person's votes were in them).

    What the job consumer runs (`opinion_groups`), and the request itself for a small question.
    """
    # Stamped before the votes are read (in short chunks, never one long snapshot): a vote deleted meanwhile raises
    # `removed` past the stamp and nothing is stored; a vote cast meanwhile only makes the stamp older than the data.
    totals = st.vote_totals(db, prompt_id)
    statements = [s["id"] for s in st.statements_for_prompt(db, prompt_id, status="approved")]
    covered = set(statements)
    votes = [v for v in st.votes_for_prompt_in_chunks(db, prompt_id) if v[1] in covered]
    groups = compute_groups(votes, statements)
    summary = json.dumps(summary_of(groups), separators=(",", ":"))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with transaction(db):
        stored = db.execute(
            """INSERT INTO opinion_groups (prompt_id, version, removed, statements, votes, voters, summary, computed_at, requested_at)
               SELECT ?, ?, ?, ?, ?, ?, ?, ?, NULL WHERE coalesce((SELECT removed FROM vote_totals WHERE prompt_id = ?), 0) = ?
               ON CONFLICT (prompt_id) DO UPDATE SET version = excluded.version, removed = excluded.removed,
                 statements = excluded.statements, votes = excluded.votes, voters = excluded.voters,
                 summary = excluded.summary, computed_at = excluded.computed_at, requested_at = NULL""",
            (prompt_id, totals["version"], totals["removed"], json.dumps(statements), len(votes),
             len({p for p, _s, _v in votes}), summary, stamp, prompt_id, totals["removed"]),
        ).rowcount
        if not stored:
            db.execute("UPDATE opinion_groups SET requested_at = NULL WHERE prompt_id = ?", (prompt_id,))
    return "stored" if stored else "stale"


def opinion_groups_task(db: sqlite_utils.Database, params: dict) -> None:
    """The job consumer's work for a screen's request (`jobs.register_quiet("opinion_groups", ...)`)."""
    refresh_groups(db, int(params["prompt_id"]))


def groups_for_screen(db: sqlite_utils.Database, prompt_id: int, statements: Sequence[int]) -> tuple[Stored | None, bool]:
    """Return what a staff screen shows of a question's groups: the stored ones (or None) and whether new ones are on
    their way. Works them out in the request only for a question of at most GROUPS_IN_REQUEST_VOTES votes."""
    totals = st.vote_totals(db, prompt_id)
    row = stored_row(db, prompt_id)
    if wanted(row, statements, totals, in_request=GROUPS_IN_REQUEST_VOTES):
        if totals["votes"] <= GROUPS_IN_REQUEST_VOTES:
            refresh_groups(db, prompt_id)
            totals, row = st.vote_totals(db, prompt_id), stored_row(db, prompt_id)
        else:
            ask_consumer(db, prompt_id, row)
    shown = usable(row, statements, totals)
    return (_as_stored(row, totals) if shown else None), not shown or row["version"] != totals["version"]


def room_view(db: sqlite_utils.Database, prompt_id: int, statements: Sequence[int], *, threshold: int) -> dict:
    """Return what the room's screen may show of a react question: group sizes (None: hidden), consensus so far, counts,
    when the groups shown were worked out, and whether they are being worked out (none to show yet).

    Never individuals: only groups, their sizes through the disclosure control, and statements.
    """
    stored, _coming = groups_for_screen(db, prompt_id, statements)
    groups = stored.groups if stored is not None else None
    sizes = group_size_table(groups, threshold=threshold) if groups is not None and len(groups.groups) >= 2 else {}
    # No consensus while a group is too small to show: it would say how most of that group voted (`consensus_shown`).
    consensus = [(c.statement, c.direction) for c in consensus_shown(groups, sizes)] if groups is not None else []
    totals = st.vote_totals(db, prompt_id)
    return {"groups": list(sizes.items()), "consensus": consensus[:5], "statements": len(statements),
            "votes": totals["votes"], "voters": totals["voters"],
            "computed_at": stored.computed_at if sizes else None,
            "regrouping": stored is None and totals["voters"] >= MIN_VOTERS_FOR_GROUPS}
