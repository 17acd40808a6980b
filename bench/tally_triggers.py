"""What the answer-count triggers (m036) cost on the answer path and in a theme's placements (issue 19).

    python bench/tally_triggers.py DB [--answers 3000] [--placements 20000] [--rounds 6] [--about] [--triggers LIKE]

DB is a bench database (``bench/big_session.py --keep DIR``); it is not changed: two copies are made
beside it, one as migrated (with the triggers) and one with the m036 triggers dropped. In rounds that
alternate between the two copies (so a busy moment on a shared machine falls on both): new residents
consent and answer an open question through ``queries.save_response`` (one transaction each, as on a
phone; `--answers` in all), then `--placements` of the largest theme's placements are moved to another
theme and back in one transaction (what a theme run or a merge writes). Prints the median CPU
milliseconds per answer and microseconds per placement, with and without the triggers, and the load
average. `--triggers` names the triggers dropped in the second copy as a SQL LIKE pattern (default
`%_tally_%`, m036's; `%_wall_ok_%` measures m040's wall marks); `--placements 0` skips the placements.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def answer_round(path: Path, answers: int, about: bool = False) -> float:
    """Have `answers` new residents consent and answer in one copy (and an "about you" question); return CPU seconds per resident."""
    from listening import queries
    from listening.db import connect

    db = connect(str(path))
    sid = db.execute("SELECT session_id FROM participants GROUP BY session_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    session = queries.session_by_id(db, sid)
    prompt = next(p for p in queries.prompts_for_session(db, sid) if p["kind"] == "open")
    about_prompt = next((p for p in queries.prompts_for_session(db, sid) if p["kind"] == "about"), None) if about else None
    statement = queries.current_consent(db, sid, session["default_language"])
    start = time.process_time()
    for n in range(answers):
        person = queries.record_consent(db, sid, consent_version_id=statement["id"], language=session["default_language"],
                                        nonce=secrets.token_urlsafe(12), quote_ok=n % 2 == 0, contact_ok=False, contact=None,
                                        quote_scope="screen_and_reports")
        queries.save_response(db, session_id=sid, participant_id=person.id, prompt_id=prompt["id"],
                              nonce=secrets.token_urlsafe(12), language=session["default_language"],
                              text=f"A bench answer {n} about the bus")
        if about_prompt is not None:
            queries.save_response(db, session_id=sid, participant_id=person.id, prompt_id=about_prompt["id"],
                                  nonce=secrets.token_urlsafe(12), language=session["default_language"],
                                  choices=[about_prompt["options"][n % len(about_prompt["options"])]["id"]])
    spent = time.process_time() - start
    db.conn.close()
    return spent / max(answers, 1)


def placement_round(path: Path, placements: int) -> float:
    """Move up to `placements` of the largest theme's placements to another theme and back; return CPU seconds per placement."""
    from listening.db import connect

    db = connect(str(path))
    largest, other = [row[0] for row in db.execute(
        """SELECT theme_id FROM theme_assignments WHERE status = 'theme' AND theme_id IS NOT NULL
           GROUP BY theme_id ORDER BY count(*) DESC LIMIT 2""")]
    ids = json.dumps([row[0] for row in db.execute(
        "SELECT response_id FROM theme_assignments WHERE theme_id = ? LIMIT ?", (largest, placements))])
    start = time.process_time()
    with db.conn:
        for theme in (other, largest):
            db.conn.execute("UPDATE theme_assignments SET theme_id = ? WHERE response_id IN (SELECT value FROM json_each(?))",
                            (theme, ids))
    spent = time.process_time() - start
    db.conn.close()
    return spent / max(2 * len(json.loads(ids)), 1)


def main() -> None:
    """Measure with and without the triggers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--answers", type=int, default=3000)
    parser.add_argument("--placements", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--about", action="store_true", help='each resident also answers an "about you" question')
    parser.add_argument("--triggers", default="%_tally_%", help="LIKE pattern of the triggers to drop")
    args = parser.parse_args()
    from listening.db import connect
    from listening.migrations import migrate

    found: dict = {"load": os.getloadavg()[0]}
    copies = {}
    for name in ("without", "with"):
        copy = copies[name] = args.database.with_name(f"{args.database.stem}-triggers-{name}.db")
        shutil.copyfile(args.database, copy)
        db = connect(str(copy))
        migrate(db)
        if name == "without":
            for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
                                      (args.triggers,)).fetchall():
                db.execute(f"DROP TRIGGER {trigger}")
        db.conn.close()
    # Rounds alternate between the copies, so a busy moment on a shared machine falls on both alike; medians.
    timed: dict = {name: {"answer": [], "placement": []} for name in copies}
    for _round in range(args.rounds):
        for name, copy in copies.items():
            timed[name]["answer"].append(answer_round(copy, args.answers // args.rounds, args.about))
            if args.placements:
                timed[name]["placement"].append(placement_round(copy, args.placements))
    for name, copy in copies.items():
        found[name] = {"ms_per_resident" if args.about else "ms_per_answer": round(statistics.median(timed[name]["answer"]) * 1000, 3),
                       "us_per_placement": round(statistics.median(timed[name]["placement"]) * 1e6, 1)
                       if timed[name]["placement"] else None}
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    found["load_after"] = os.getloadavg()[0]
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
