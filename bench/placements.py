"""How long a theme run takes to write its placements, alone, on a copy of a big session (issue 19).

    nice -n 10 python bench/placements.py DB [--work DIR] [--result FILE] [--rounds 1] [--check] [--residents]

DB is a bench database (``bench/big_session.py --keep DIR``); it is never written: each round copies it
into `--work` (a new folder under /tmp by default) and migrates the copy. The engine runs once, over the
biggest session's open answers as a theme run reads them, and what it found is kept in `--result` (a
pickle; reused when the file exists, so later rounds and later checkouts write the same result). Each
round then writes that result as a run does (`synthesis._write_run`: the themes' transaction, then every
placement in batches) and prints, as JSON, the wall and CPU seconds of the whole write and of the
placements, the batches and how long each held the write lock (median, 99th percentile, longest), the
load average, and a digest of every placement (answer, theme, status, pin, rank, quote): two checkouts
that write the same placements print the same digest. `--check` also compares the kept counts with a
recount afterwards (`analysis.review.tallies.recount`: every answer read, about a minute at 100,000).
`--residents` also has another process send a new resident's consent and open answer every 20 ms while the
round writes (as `big_session.py --background` does), so the run pauses after the batches they waited for, and
prints how long each answer waited for the write lock (the process turn plus BEGIN IMMEDIATE) while it wrote.
"""
from __future__ import annotations

import argparse
import copyreg
import hashlib
import json
import os
import pickle
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def copy_database(source: Path, folder: Path) -> Path:
    """Copy a database (and its log, if any) into `folder`; return the copy's path."""
    target = folder / source.name
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
        if Path(str(source) + suffix).exists() and suffix != "-shm":
            shutil.copyfile(str(source) + suffix, str(target) + suffix)
    return target


def biggest_session(db) -> int:
    """Return the id of the session with the most answers."""
    return db.execute("SELECT session_id FROM responses GROUP BY session_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def engine_result(path: Path, keep: Path) -> dict:
    """Run the engine over the biggest session's open answers as `run_themes` does; keep and return what it found."""
    from analysis.review import queries as synthesis
    from analysis.themes import find_themes
    from listening.db import connect
    from listening.jobs import _reduce_proxy
    from listening.queries import session_by_id

    db = connect(str(path))
    sid = biggest_session(db)
    scope = synthesis.scope_prompt_ids(db, sid)
    read_at = synthesis.now()
    answers = synthesis.open_answers(db, sid, scope)
    redaction = synthesis.session_redaction(db, sid)
    k_max = min(synthesis.MAX_THEMES, max(2, len(answers) // 8))
    anchors = synthesis.reviewed_anchors(db, sid, {a["id"] for a in answers})
    given = synthesis.engine_answers(db, sid, answers)
    result = find_themes(given, seed=synthesis.SEED, names=redaction.names, vocabulary=redaction.vocabulary, k_max=k_max,
                         question=synthesis.question_texts(db, sid, scope),
                         main_language=session_by_id(db, sid)["default_language"], anchors=anchors)
    db.conn.close()
    state = {"session_id": sid, "scope": scope, "seed": synthesis.SEED, "read_at": read_at, "result": result}
    with open(keep, "wb") as file:
        pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = copyreg.dispatch_table | {MappingProxyType: _reduce_proxy}
        pickler.dump(state)
    return state


def write_round(path: Path, state: dict, check: bool, statements: bool = False, residents: bool = False) -> dict:
    """Write the kept result into one copy as a run does; return the figures (and the statements' time if asked, and
    the answering residents' waits for the write lock)."""
    from analysis.review import queries as synthesis
    from analysis.review import tallies
    from listening.db import connect

    db = connect(str(path))
    sid = state["session_id"]
    answers = synthesis.open_answers(db, sid, state["scope"])
    answers = [{key: a[key] for key in synthesis.KEPT_COLUMNS} for a in answers]
    held: list[float] = []
    spent: dict[str, float] = {}
    real_batch, real_place = synthesis._place_batch, synthesis._place_answers

    def batch(*args, **kwargs) -> float:
        """Write one batch, keeping how long it held the write lock."""
        took = real_batch(*args, **kwargs)
        held.append(took)
        return took

    def place(*args, **kwargs):
        """Write every placement, keeping the wall and CPU seconds."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return real_place(*args, **kwargs)
        finally:
            spent["wall"], spent["cpu"] = time.perf_counter() - wall, time.process_time() - cpu

    synthesis._place_batch, synthesis._place_answers = batch, place
    trace: list[tuple[float, str]] = []
    if statements:  # each statement's start (a trigger's statements are not traced apart from theirs)
        db.conn.set_trace_callback(lambda sql: trace.append((time.perf_counter(), " ".join(sql.split())[:48])))
    load = os.getloadavg()
    answering = start_residents(path, sid, state["scope"][0]) if residents else None
    wall, cpu = time.perf_counter(), time.process_time()
    began_at = time.time()
    try:
        synthesis._write_run(db, sid, answers, state["result"], scope=state["scope"], seed=state["seed"],
                             read_at=state["read_at"], user_id=None, report=lambda done, total, cancellable=True: None)
    finally:
        synthesis._place_batch, synthesis._place_answers = real_batch, real_place
    ended = time.perf_counter()
    ended_at = time.time()
    wall, cpu = ended - wall, time.process_time() - cpu
    db.conn.set_trace_callback(None)
    by_statement: dict[str, list[float]] = {}
    for (began, sql), (after, _next) in zip(trace, trace[1:] + [(ended, "")]):
        kind = re.sub(r"'[^']*'|\b\d+\b", "?", sql)[:44]
        by_statement.setdefault(kind, [0, 0.0])
        by_statement[kind][0] += 1
        by_statement[kind][1] += after - began
    digest = hashlib.sha256()
    for row in db.execute("""SELECT response_id, theme_id, status, pinned, rank, quote FROM theme_assignments
                             WHERE session_id = ? ORDER BY response_id""", (sid,)):
        digest.update(repr(tuple(row)).encode())
    held.sort()
    found = {
        "answers": len(answers), "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "write_s": round(wall, 2), "write_cpu_s": round(cpu, 2),
        "placements_s": round(spent.get("wall", 0), 2), "placements_cpu_s": round(spent.get("cpu", 0), 2),
        "batches": len(held), "held_total_s": round(sum(held), 2),
        "held_ms": {"median": round(1000 * statistics.median(held), 1) if held else 0,
                    "p99": round(1000 * held[int(0.99 * (len(held) - 1))], 1) if held else 0,
                    "max": round(1000 * held[-1], 1) if held else 0},
        "placements_digest": digest.hexdigest()[:16],
    }
    if statements:  # until the next statement began: a statement's own time, or the Python and sleep after it
        found["statements (calls, s)"] = {kind: (calls, round(spent, 2)) for kind, (calls, spent) in
                                          sorted(by_statement.items(), key=lambda item: -item[1][1])[:12]}
    if answering is not None:
        found["residents"] = stop_residents(*answering, began_at, ended_at)
    if check:
        started = time.perf_counter()
        found["recount_differences"] = len(tallies.recount(db))
        found["recount_s"] = round(time.perf_counter() - started, 1)
    db.conn.close()
    return found


def start_residents(path: Path, session_id: int, prompt_id: int) -> tuple:
    """Start a process that answers as a new resident every 20 ms (`answer_every`); return it and its output file."""
    import subprocess

    out = path.with_suffix(".waits.json")
    out.unlink(missing_ok=True)
    stop = path.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, __file__, str(path), "--answer-every", str(session_id), str(prompt_id),
                                str(out), str(stop)])
    deadline = time.monotonic() + 30
    while not out.with_suffix(".ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, out, stop


def stop_residents(process, out: Path, stop: Path, began_at: float, ended_at: float) -> dict:
    """Stop the answering process; return its answers' write-lock waits while the round wrote."""
    stop.touch()
    process.wait(timeout=60)
    found = json.loads(out.read_text())
    during = sorted(wait for at, wait, _total in found if began_at <= at <= ended_at)
    totals = sorted(total for at, _wait, total in found if began_at <= at <= ended_at)
    if not during:
        return {"answers": 0}
    pick = lambda values, q: round(1000 * values[int(q * (len(values) - 1))], 1)  # noqa: E731
    return {"answers": len(during), "lock_wait_ms": {"median": pick(during, 0.5), "p99": pick(during, 0.99),
                                                     "max": round(1000 * during[-1], 1)},
            "lock_waits_over_100_ms": sum(w > 0.1 for w in during),
            "answer_ms": {"median": pick(totals, 0.5), "p99": pick(totals, 0.99), "max": round(1000 * totals[-1], 1)}}


def answer_every(path: Path, session_id: int, prompt_id: int, out: Path, stop: Path) -> None:
    """Send a new resident's consent and open answer every 20 ms until `stop` exists; write each answer's start (epoch
    seconds), its wait for the write lock (Chorus's turn on the lock file plus BEGIN IMMEDIATE) and its total time."""
    from big_session import time_lock_turns
    from listening import queries
    from listening.db import connect

    db = connect(str(path))
    statement = queries.current_consent(db, session_id, "en")
    waited, _untimed = time_lock_turns()
    trace: list[tuple[float, str]] = []
    db.conn.set_trace_callback(lambda sql: trace.append((time.perf_counter(), sql[:5])))
    found: list[tuple[float, float, float]] = []
    out.with_suffix(".ready").touch()
    index = 0
    while not stop.exists():
        trace.clear()
        waited[0] = 0.0
        at, start = time.time(), time.perf_counter()
        person = queries.record_consent(db, session_id, consent_version_id=statement["id"], language="en",
                                        nonce=f"placements-{at}-{index}", quote_ok=True, contact_ok=False,
                                        quote_scope="screen_and_reports")
        queries.save_response(db, session_id=session_id, participant_id=person.id, prompt_id=prompt_id,
                              nonce=f"placements-{at}-{index}-answer", language="en",
                              text=f"Resident {index} would like the buses to come more often ({at:.0f})")
        took = time.perf_counter() - start
        ends = [t for t, _ in trace[1:]] + [start + took]
        begins = sum(end - t for (t, sql), end in zip(trace, ends) if sql.startswith("BEGIN"))
        found.append((at, waited[0] + begins, took))
        index += 1
        time.sleep(0.02)
    db.conn.close()
    out.write_text(json.dumps(found))


def main() -> None:
    """Parse the arguments; get the engine's result once; write it in each round and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--work", type=Path, help="the folder the copies are made in (default: a new one under /tmp)")
    parser.add_argument("--result", type=Path, help="where the engine's result is kept (reused when it exists)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="compare the kept counts with a recount after each round")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="change a setting of the run's module for the rounds, e.g. LOCK_HOLD_S=0.04 SETTLE_EVERY=4")
    parser.add_argument("--statements", action="store_true", help="print the statements that took longest in all")
    parser.add_argument("--residents", action="store_true",
                        help="answer as a new resident every 20 ms from another process while each round writes")
    parser.add_argument("--answer-every", nargs=4, metavar=("SESSION", "PROMPT", "OUT", "STOP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answer_every:
        session_id, prompt_id, out, stop = args.answer_every
        answer_every(args.database, int(session_id), int(prompt_id), Path(out), Path(stop))
        return
    from listening.db import connect
    from listening.migrations import migrate

    from analysis.review import queries as synthesis

    for setting in args.set:
        name, value = setting.split("=", 1)
        setattr(synthesis, name, type(getattr(synthesis, name))(value))
    work = args.work or Path(tempfile.mkdtemp(prefix="chorus-placements-"))
    work.mkdir(parents=True, exist_ok=True)
    keep = args.result or work / "engine-result.pickle"
    for number in range(args.rounds):
        path = copy_database(args.database.resolve(), work)
        db = connect(str(path))
        migrate(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        if keep.exists():
            with open(keep, "rb") as file:
                state = pickle.load(file)  # noqa: S301 - written by this script
        else:
            started = time.perf_counter()
            state = engine_result(path, keep)
            print(f"# engine: {time.perf_counter() - started:.1f} s, kept in {keep}", flush=True)
        print(json.dumps({"round": number + 1, "set": args.set, **write_round(path, state, args.check, args.statements, args.residents)}), flush=True)


if __name__ == "__main__":
    main()
