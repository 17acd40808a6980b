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
they pick the same statements. Prints median ms and the load average. Figures: docs/scaling.md.
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live_panels import add_react_question, copy_database, session_facts  # noqa: E402


def main() -> None:
    """Copy and migrate the database, add react votes if needed, time both paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vote-counts-", dir="/tmp"))
    copy = copy_database(args.database, work)

    from facilitation import opinion_live
    from listening import statements as st
    from listening.db import connect
    from listening.migrations import migrate

    db = connect(str(copy), synchronous="NORMAL")
    migrate(db)
    conn = sqlite3.connect(str(copy))
    conn.execute("PRAGMA foreign_keys = ON")
    facts = session_facts(conn)
    if "react" not in facts["by_kind"]:
        print("adding a react question with votes ...", file=sys.stderr)
        facts["by_kind"]["react"] = add_react_question(conn, facts)
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


if __name__ == "__main__":
    main()
