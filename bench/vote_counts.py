"""Time what a resident's phone asking for its next statement reads in a big react question: every vote (before m042)
or the per-statement counts the triggers keep (issue 19).

Usage:
    nice -n 10 python bench/vote_counts.py DB [--repeat 5] [--work DIR]

DB is a big session's database (`bench/big_session.py --keep`); it is never written: it is copied into
`--work` (a new folder under /tmp unless given) and migrated, and, when its biggest session has no react
question, one with 30 statements and every resident's votes is added to the copy as bench/live_panels.py
does. Times, in one process, `--repeat` times each: the old path (`statements.votes_for_prompt` and
`opinion_live.choose_next`, what `listening.views.choose_statement` did) and the new one
(`statements.vote_tallies` and `opinion_live.choose_next_counted`), with the same draws, and checks
they pick the same statements. Then `--writes` residents' votes per round are cast, in six rounds alternating
between the triggers kept and dropped (what the counts cost a vote). Prints median ms and the load average. Figures: docs/scaling.md.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live_panels import copy_database, with_react_question  # noqa: E402


def main() -> None:
    """Copy and migrate the database, add react votes if needed, time both paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--writes", type=int, default=300, help="votes cast per round when timing the triggers (0: skip)")
    parser.add_argument("--triggers", default="votes_count_%",
                        help="which triggers the rounds without drop (SQL LIKE on their names): m042's by default, "
                             "'votes_people_%%' for m043's voters and versions")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vote-counts-", dir="/tmp"))
    copy = copy_database(args.database, work)

    from facilitation import opinion_live
    from listening import statements as st
    from listening.db import connect
    from listening.migrations import migrate

    db = connect(str(copy), synchronous="NORMAL")
    migrate(db)
    conn, facts = with_react_question(copy)
    conn.close()
    pid = facts["by_kind"]["react"]
    ids = [s["id"] for s in st.statements_for_prompt(db, pid, status="approved")]
    votes = db.execute("SELECT count(*) FROM votes WHERE prompt_id = ?", (pid,)).fetchone()[0]
    print(f"question {pid}: {len(ids)} statements, {votes:,} votes; load average {os.getloadavg()[0]:.1f}")
    rng = random.Random(19)
    draws = [rng.random() for _ in range(args.repeat)]
    timings: dict[str, list[float]] = {"old": [], "new": []}
    picks: dict[str, list] = {"old": [], "new": []}
    for draw in draws:
        for name in ("old", "new"):
            start = time.perf_counter()
            if name == "old":
                picked = opinion_live.choose_next(pid, st.votes_for_prompt(db, pid), ids, set(), draw)
            else:
                picked = opinion_live.choose_next_counted(pid, st.vote_tallies(db, pid), ids, set(), draw)
            timings[name].append((time.perf_counter() - start) * 1000)
            picks[name].append(picked)
    for name, label in (("old", "every vote (before m042)"), ("new", "kept counts (m042)")):
        print(f"{label}: median {statistics.median(timings[name]):.1f} ms, first {timings[name][0]:.1f} ms")
    print(f"same picks: {picks['old'] == picks['new']}; load average {os.getloadavg()[0]:.1f}")
    if args.writes:
        time_writes(db, pid, ids, args.writes, args.triggers)


def time_writes(db, pid: int, ids: list[int], writes: int, pattern: str = "votes_count_%") -> None:
    """Time residents' votes (`statements.cast_vote`, one transaction each, most of them changes of a vote) in rounds
    alternating between the triggers kept (m042) and dropped; the copy's counts are wrong afterwards."""
    from listening import statements as st

    sid = db.execute("SELECT session_id FROM prompts WHERE id = ?", (pid,)).fetchone()[0]
    people = [r[0] for r in db.execute("SELECT id FROM participants WHERE session_id = ? AND withdrawn_at IS NULL "
                                       "ORDER BY id LIMIT 5000", (sid,))]
    found = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?", (pattern,)).fetchall()
    names, triggers = [r[0] for r in found], [r[1] for r in found]
    rng = random.Random(42)
    per: dict[str, list[float]] = {"with triggers": [], "without": []}
    for round_ in range(6):
        name = "with triggers" if round_ % 2 == 0 else "without"
        if name == "without":
            for trigger in names:
                db.execute(f"DROP TRIGGER {trigger}")
        start = time.process_time()
        for i in range(writes):
            st.cast_vote(db, session_id=sid, participant_id=rng.choice(people), statement_id=rng.choice(ids),
                         vote=rng.choice((-1, 0, 1)), nonce=f"bench-votes-{round_}-{i}", language="en")
        per[name].append((time.process_time() - start) * 1000 / writes)
        if name == "without":
            for sql in triggers:
                db.execute(sql)
    for name, values in per.items():
        print(f"a vote cast, {name} ({', '.join(names)}): median {statistics.median(values):.2f} ms of CPU")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
