"""Time a withdrawal (secure delete, ledger, WAL checkpoint) and a restore that re-applies withdrawals.

Usage: python bench/withdrawal.py [PEOPLE]   (default 2000). Each person gives 5 answers, one of
them a few hundred characters of text. Prints the median and slowest withdrawal, the -wal size
before and after, and how long restoring a backup taken before 50 withdrawals takes.
It builds a throwaway database in a temporary folder from made-up answers; nothing is downloaded.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(people: int) -> None:
    """Fill a session with `people` residents, then time withdrawals and a restore."""
    from listening import queries
    from listening.backup import backup, restore
    from listening.db import connect
    from listening.migrations import migrate
    from tests.factories import make_participant, make_session

    folder = Path(tempfile.mkdtemp())
    path = folder / "bench.db"
    db = connect(str(path))
    migrate(db)
    session = make_session(db)
    prompts = queries.prompts_for_session(db, session["id"])
    receipts = []
    for n in range(people):
        person = make_participant(db, session, contact={"email": f"person{n}@example.org"})
        receipts.append(person.receipt)
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompts[0]["id"],
                              nonce=f"bench-{n}-open", language="en", text=f"answer {n} " + "words " * 60)
        for prompt in prompts[1:3]:
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce=f"bench-{n}-{prompt['id']}", language="en", choices=[prompt["options"][0]["id"]])
    wal = Path(f"{path}-wal")
    copy = backup(path, folder / "before.db")
    print(f"{people} people, database {path.stat().st_size // 1024} KiB, -wal {wal.stat().st_size // 1024} KiB")
    times = []
    for receipt in receipts[:50]:
        # Another resident's answer first, so each checkpoint has fresh log pages to copy, as in a live room.
        queries.save_response(db, session_id=session["id"], participant_id=queries.participant_by_receipt(db, receipts[-1])["id"],
                              prompt_id=prompts[3]["id"], nonce=f"bench-w-{receipt}", language="en", number=3)
        started = time.perf_counter()
        queries.withdraw(db, receipt)
        times.append((time.perf_counter() - started) * 1000)
    print(f"withdrawal (50): median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms; "
          f"-wal after each: {wal.stat().st_size} bytes")
    db.conn.close()
    started = time.perf_counter()
    result = restore(copy.path, path, force=True)
    print(f"restore of a backup from before them: {time.perf_counter() - started:.2f} s, "
          f"re-applied {result.withdrawals} withdrawals")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
