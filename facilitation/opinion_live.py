"""Opinion groups while a design session runs: the engine's groups for a react question, cached,
and the statement a phone should see next (installed into the residents' side by the app factory,
since the residents' package may not import the engine itself).

Groups are computed by the staff screens (projector, console, review) when the votes changed and
the last computation is older than GROUPS_REFRESH_SECONDS: choosing the groups takes one to two
seconds on a hall's votes (held-out checks of each number of groups). A phone asking for its next
statement never waits for that: it uses the groups last computed for the question, or, before any,
Pol.is's rule without groups (few votes first, then agreement).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping, Sequence

from analysis.opinions import OpinionGroups, StatementTally, VoteMatrix, find_opinion_groups, group_size_table, next_statement, statement_priorities

GROUPS_REFRESH_SECONDS = 20.0
# Below this many voters groups are not formed: the engine needs people to compare.
MIN_VOTERS_FOR_GROUPS = 6

_lock = threading.Lock()
_cache: dict[int, tuple[float, int, tuple, OpinionGroups | None]] = {}


def matrix_of(votes: Sequence[tuple[int, int, int]], statements: Sequence[int]) -> VoteMatrix:
    """Build the engine's vote matrix from (participant, statement, vote) rows, keeping every statement."""
    return VoteMatrix.from_votes(votes, statements=statements)


def groups_for(prompt_id: int, votes: Sequence[tuple[int, int, int]], statements: Sequence[int], *,
               fresh: bool = False) -> OpinionGroups | None:
    """Return the opinion groups of a react question's votes (cached per question), or None with too few voters."""
    key = (len(votes), hash(tuple(votes[-50:])), tuple(statements))
    now = time.monotonic()
    with _lock:
        cached = _cache.get(prompt_id)
    if cached is not None and not fresh:
        at, _n, old_key, groups = cached
        if old_key == key or now - at < GROUPS_REFRESH_SECONDS:
            return groups
    matrix = matrix_of(votes, statements)
    voters = len({p for p, _s, _v in votes})
    groups = find_opinion_groups(matrix, seed=0) if voters >= MIN_VOTERS_FOR_GROUPS and matrix.n_votes else None
    with _lock:
        _cache[prompt_id] = (now, len(votes), key, groups)
    return groups


def choose_next(prompt_id: int, votes: Sequence[tuple[int, int, int]], statements: Sequence[int],
                done: Collection[int], draw: float) -> int | None:
    """Return the statement a participant sees next: the engine's priorities (few votes, separating or uniting) drawn."""
    matrix = matrix_of(votes, statements)
    priorities = statement_priorities(matrix.tallies(), cached_groups(prompt_id, statements))
    return next_statement(priorities, done, draw=min(max(draw, 0.0), 0.999999))


def choose_next_counted(prompt_id: int, counts: Mapping[int, tuple[int, int, int]], statements: Sequence[int],
                        done: Collection[int], draw: float) -> int | None:
    """Return the statement a participant sees next, as `choose_next`, from each statement's kept (agree, disagree,
    pass) counts (`statements.vote_tallies`) instead of every vote of the question."""
    tallies = tuple(StatementTally(sid, *counts.get(sid, (0, 0, 0))) for sid in dict.fromkeys(statements))
    priorities = statement_priorities(tallies, cached_groups(prompt_id, statements))
    return next_statement(priorities, done, draw=min(max(draw, 0.0), 0.999999))


def cached_groups(prompt_id: int, statements: Sequence[int]) -> OpinionGroups | None:
    """Return the groups last computed for a question, if they cover the same statements; never compute them."""
    with _lock:
        cached = _cache.get(prompt_id)
    if cached is None or cached[2][2] != tuple(statements):
        return None
    return cached[3]


def forget(prompt_id: int | None = None) -> None:
    """Drop cached groups (one question's, or all), for tests and after moderation."""
    with _lock:
        if prompt_id is None:
            _cache.clear()
            _summaries.clear()
        else:
            _cache.pop(prompt_id, None)
            for key in [k for k in _summaries if k[0] == prompt_id]:
                _summaries.pop(key, None)


# A question whose votes numbered more than this when last read is read again by the staff screens at
# most once per GROUPS_REFRESH_SECONDS (in each worker): at 100,000 residents its 875,000 votes take
# seconds to read, and the projector and console poll every 2 to 3 s. What is kept is only what the
# screens show (group sizes, counts), never the votes; a smaller question is read on every request.
BIG_VOTES = 20_000
_summaries: dict[tuple[int, str], tuple[float, tuple, int, object]] = {}


def summary_of(prompt_id: int, name: str, statements: Sequence[int], compute) -> object:
    """Return `compute()`'s summary of a question's votes, computed again unless the question is big (its last
    read held more than BIG_VOTES votes), its statements are the same and the last one is under GROUPS_REFRESH_SECONDS old.

    `compute()` returns (summary, number of votes read).
    """
    key, now = (prompt_id, name), time.monotonic()
    with _lock:
        cached = _summaries.get(key)
    if cached is not None and cached[1] == tuple(statements) and cached[2] > BIG_VOTES \
            and now - cached[0] < GROUPS_REFRESH_SECONDS:
        return cached[3]
    summary, read = compute()
    with _lock:
        _summaries[key] = (now, tuple(statements), read, summary)
    return summary


def room_view(prompt_id: int, votes: Sequence[tuple[int, int, int]], statements: Sequence[int], *, threshold: int) -> dict:
    """Return what the room's screen may show of a react question: group sizes (None: hidden), consensus so far, counts.

    Never individuals: only groups, their sizes through the disclosure control, and statements.
    """
    groups = groups_for(prompt_id, votes, statements)
    sizes = group_size_table(groups, threshold=threshold) if groups is not None and len(groups.groups) >= 2 else {}
    consensus = [(c.statement, c.direction) for c in groups.consensus] if groups is not None and sizes else []
    return {"groups": list(sizes.items()), "consensus": consensus[:5], "statements": len(statements),
            "votes": len(votes), "voters": len({p for p, _s, _v in votes})}
