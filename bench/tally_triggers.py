"""What the answer-count triggers (m036) cost on the answer path and in a theme's placements (issue 19).

    python bench/tally_triggers.py DB [--answers 2000] [--placements 20000]

DB is a bench database (``bench/big_session.py --keep DIR``); it is not changed: two copies are made
beside it, one as migrated (with the triggers) and one with the m036 triggers dropped. In each, in one
process: `--answers` residents consent and answer an open question through ``queries.save_response``
(one transaction each, as on a phone), then `--placements` of the largest theme's placements are moved
to another theme and back in one transaction (what a theme run or a merge writes). Prints CPU seconds
per answer and per placement, with and without the triggers, and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(path: Path, answers: int, placements: int) -> dict:
    """Answer and re-place in one copy; return CPU seconds per answer and per placement."""
    from listening import queries
    from listening.db import connect

    db = connect(str(path))
    sid = db.execute("SELECT session_id FROM participants GROUP BY session_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    session = queries.session_by_id(db, sid)
    prompt = next(p for p in queries.prompts_for_session(db, sid) if p["kind"] == "open")
    statement = queries.current_consent(db, sid, session["default_language"])
    start = time.process_time()
    for n in range(answers):
        person = queries.record_consent(db, sid, consent_version_id=statement["id"], language=session["default_language"],
                                        nonce=secrets.token_urlsafe(12), quote_ok=n % 2 == 0, contact_ok=False, contact=None,
                                        quote_scope="screen_and_reports")
        queries.save_response(db, session_id=sid, participant_id=person.id, prompt_id=prompt["id"],
                              nonce=secrets.token_urlsafe(12), language=session["default_language"],
                              text=f"A bench answer {n} about the bus")
    per_answer = (time.process_time() - start) / max(answers, 1)
    largest, other = [row[0] for row in db.execute(
        """SELECT theme_id FROM theme_assignments WHERE session_id = ? AND status = 'theme'
           GROUP BY theme_id ORDER BY count(*) DESC LIMIT 2""", (sid,))]
    ids = [row[0] for row in db.execute(
        "SELECT response_id FROM theme_assignments WHERE theme_id = ? LIMIT ?", (largest, placements))]
    start = time.process_time()
    with db.conn:
        marks = json.dumps(ids)
        db.conn.execute("UPDATE theme_assignments SET theme_id = ? WHERE response_id IN (SELECT value FROM json_each(?))",
                        (other, marks))
        db.conn.execute("UPDATE theme_assignments SET theme_id = ? WHERE response_id IN (SELECT value FROM json_each(?))",
                        (largest, marks))
    per_placement = (time.process_time() - start) / max(2 * len(ids), 1)
    db.conn.close()
    return {"ms_per_answer": round(per_answer * 1000, 3), "us_per_placement": round(per_placement * 1e6, 1),
            "placements": 2 * len(ids)}


def main() -> None:
    """Measure with and without the triggers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--placements", type=int, default=20000)
    args = parser.parse_args()
    from listening.db import connect
    from listening.migrations import migrate

    found = {"load": os.getloadavg()[0]}
    for name in ("without", "with"):
        copy = args.database.with_name(f"{args.database.stem}-triggers-{name}.db")
        shutil.copyfile(args.database, copy)
        db = connect(str(copy))
        migrate(db)
        if name == "without":
            for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_tally_%'").fetchall():
                db.execute(f"DROP TRIGGER {trigger}")
        db.conn.close()
        found[name] = measure(copy, args.answers, args.placements)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    found["load_after"] = os.getloadavg()[0]
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
