"""Time every panel a live room polls, in the hard states of a big session, with each query's plan.

Usage:
    nice -n 10 python bench/live_panels.py DB [--repeat 5] [--work DIR] [--only STATE ...]

DB is a big session's database, e.g. the 100,000-resident one `bench/big_session.py --keep` builds.
It is never written: the script copies it (and its `-jobs.db`) into `--work` (a new folder under
/tmp unless given), migrates the copy and changes only the copy. In the session with the most
residents it puts each hard state in place in turn:

- an open question, the one with most answers: nobody allowed the wall / everybody allowed it,
  with the wall's approval queue on (all waiting, or all already decided) and off;
- the same with nine in ten of its answers hidden;
- a single-choice, a multiple-choice, a scale and an "about you" question;
- a react question (the design session's opinion groups) with every resident voting on some of
  30 statements, when the session has none, built in the copy.

For each state it requests the console panel, the projector panel (what the pages poll every 2 to 3
seconds) and the console page in one warm worker (the app made once, signed in), `--repeat` times,
and prints the first and the median time in ms, the bytes, and the load average. Every SQL
statement the panels ran is captured, run again alone and timed, and listed with its query plan's
indexes (SCAN without an index, and a TEMP B-TREE for sorting, are what make a query grow with the
session). Figures and what they mean: docs/scaling.md, "Live panels at 100,000".
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.big_session import ADMIN, PASSWORD, SECRET, make_app  # noqa: E402

STATEMENTS = 30
TARGET_MS = 300


def copy_database(source: Path, work: Path) -> Path:
    """Copy a database and its side files into `work`; return the copy's path."""
    work.mkdir(parents=True, exist_ok=True)
    target = work / source.name
    for suffix in ("", "-jobs.db", "-wal", "-shm"):
        if Path(str(source) + suffix).exists():
            shutil.copyfile(str(source) + suffix, str(target) + suffix)
    return target


def plan_of(conn: sqlite3.Connection, sql: str) -> str:
    """Return the parts of a statement's query plan that say how tables are reached, in one line."""
    steps = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    keep = [s for s in steps if re.match(r"(SEARCH|SCAN|USE TEMP|CORRELATED|LIST)", s)]
    return " | ".join(keep) or " | ".join(steps)


class Recorder:
    """Collect the SQL statements every connection of the app runs (with their parameters in place)."""

    def __init__(self):
        self.statements: list[str] = []
        self.on = False

    def __call__(self, sql: str) -> None:
        if self.on and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append(sql)

    def install(self) -> None:
        """Make every connection the app opens report its statements here."""
        import listening.db as dbmod

        original = dbmod.connect

        def connect(*args, **kwargs):
            db = original(*args, **kwargs)
            db.conn.set_trace_callback(self)
            return db

        dbmod.connect = connect


def session_facts(conn: sqlite3.Connection) -> dict:
    """Find the session with most residents and its questions by kind (the open one with most answers first)."""
    sid = conn.execute("SELECT session_id, count(*) FROM participants GROUP BY session_id ORDER BY 2 DESC LIMIT 1").fetchone()[0]
    prompts = conn.execute(
        """SELECT p.id, p.kind, p.position, (SELECT count(*) FROM responses r WHERE r.prompt_id = p.id) AS n
           FROM prompts p WHERE p.session_id = ? ORDER BY n DESC, p.position""", (sid,)).fetchall()
    by_kind: dict[str, int] = {}
    for pid, kind, _number, _n in prompts:
        by_kind.setdefault(kind, pid)
    return {"session_id": sid, "by_kind": by_kind, "residents": conn.execute(
        "SELECT count(*) FROM participants WHERE session_id = ?", (sid,)).fetchone()[0],
        "answers": {pid: n for pid, _k, _num, n in prompts}}


def execute(conn: sqlite3.Connection, sql: str, params=()) -> None:
    """Run one change in its own transaction."""
    with conn:
        conn.execute(sql, params)


def add_react_question(conn: sqlite3.Connection, facts: dict) -> int:
    """Add a react question with 30 approved statements and votes from every resident (3 to 12 each); return its id."""
    import random

    sid = facts["session_id"]
    stamp = "2026-12-01T00:00:00+00:00"
    rng = random.Random(19)
    with conn:
        position = conn.execute("SELECT coalesce(max(position), 0) + 1 FROM prompts WHERE session_id = ?", (sid,)).fetchone()[0]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(prompts)")}
        values = {"session_id": sid, "kind": "react", "position": position, "created_at": stamp}
        values = {k: v for k, v in values.items() if k in columns}
        cursor = conn.execute(f"INSERT INTO prompts ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                              tuple(values.values()))
        pid = cursor.lastrowid
        lang = json.loads(conn.execute("SELECT languages FROM sessions WHERE id = ?", (sid,)).fetchone()[0])[0]
        statements = []
        scols = {row[1] for row in conn.execute("PRAGMA table_info(statements)")}
        for i in range(STATEMENTS):
            row = {"session_id": sid, "prompt_id": pid, "language": lang, "body": f"Statement {i}", "status": "approved",
                   "created_at": stamp, "updated_at": stamp, "source": "staff"}
            row = {k: v for k, v in row.items() if k in scols}
            statements.append(conn.execute(f"INSERT INTO statements ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                           tuple(row.values())).lastrowid)
        vcols = {row[1] for row in conn.execute("PRAGMA table_info(votes)")}
        people = [r[0] for r in conn.execute("SELECT id FROM participants WHERE session_id = ? AND withdrawn_at IS NULL", (sid,))]
        batch = []
        for person in people:
            group = person % 3
            for statement in rng.sample(range(STATEMENTS), rng.randint(3, 12)):
                vote = 1 if (statement + group) % 3 else -1
                if rng.random() < 0.2:
                    vote = 0
                row = {"session_id": sid, "prompt_id": pid, "participant_id": person, "statement_id": statements[statement],
                       "vote": vote, "created_at": stamp, "updated_at": stamp, "source": "phone", "language": lang}
                batch.append(tuple(row[k] for k in row if k in vcols))
        names = [k for k in row if k in vcols]
        conn.executemany(f"INSERT INTO votes ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", batch)
    return pid


def with_react_question(copy: Path) -> tuple[sqlite3.Connection, dict]:
    """Open a migrated bench copy and give its session a react question with votes if it has none: (connection, facts)."""
    conn = sqlite3.connect(str(copy))
    conn.execute("PRAGMA foreign_keys = ON")
    facts = session_facts(conn)
    if "react" not in facts["by_kind"]:
        print("adding a react question with votes ...", file=sys.stderr)
        facts["by_kind"]["react"] = add_react_question(conn, facts)
    return conn, facts


def states(facts: dict) -> list[tuple[str, int, list[tuple[str, tuple]]]]:
    """Name each hard state: the question on screen and the changes that put it in place."""
    open_q = facts["by_kind"]["open"]
    nobody = ("UPDATE consents SET quote_ok = 0 WHERE session_id = ?", (facts["session_id"],))
    everybody = ("UPDATE consents SET quote_ok = 1, quote_scope = 'screen_and_reports' WHERE session_id = ?",
                 (facts["session_id"],))
    moderated = ("UPDATE sessions SET wall_moderation = 1 WHERE id = ?", (facts["session_id"],))
    unmoderated = ("UPDATE sessions SET wall_moderation = 0 WHERE id = ?", (facts["session_id"],))
    undecided = ("UPDATE responses SET wall_status = NULL WHERE prompt_id = ? AND wall_status IS NOT NULL", (open_q,))
    approve_all = ("UPDATE responses SET wall_status = 'approved' WHERE prompt_id = ?", (open_q,))
    decline_all = ("UPDATE responses SET wall_status = 'declined' WHERE prompt_id = ?", (open_q,))
    hide = ("UPDATE responses SET hidden_at = '2026-12-01T00:00:00+00:00', hidden_reason = 'bench' "
            "WHERE prompt_id = ? AND id % 10 != 0", (open_q,))
    unhide = ("UPDATE responses SET hidden_at = NULL, hidden_reason = NULL WHERE prompt_id = ? AND hidden_at IS NOT NULL",
              (open_q,))
    out = [
        ("open, nobody allows the wall, queue on", open_q, [nobody, undecided, moderated]),
        ("open, nobody allows the wall, queue off", open_q, [unmoderated]),
        ("open, everybody allows, queue on, all waiting", open_q, [everybody, moderated]),
        ("open, everybody allows, queue on, all approved", open_q, [approve_all]),
        ("open, everybody allows, queue off, all kept off", open_q, [decline_all, unmoderated]),
        ("open, everybody allows, queue off, none decided", open_q, [undecided]),
        ("open, 9 in 10 hidden, everybody allows, queue on", open_q, [hide, moderated]),
        ("open, 9 in 10 hidden, nobody allows, queue on", open_q, [nobody]),
    ]
    tail = [unhide, everybody]
    for kind in ("single", "multiple", "scale", "about", "react"):
        if kind in facts["by_kind"]:
            out.append((f"{kind} question", facts["by_kind"][kind], tail))
            tail = []
    return out


def timed(client, url: str, repeat: int) -> dict:
    """Request a page `repeat` times; return the first and median milliseconds and the bytes."""
    times, size, status = [], 0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        size, status = len(response.get_data()), response.status_code
    return {"first": times[0], "median": statistics.median(times), "bytes": size, "status": status}


def sign_in(client) -> None:
    """Sign the bench's admin in through the login form."""
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    client.post("/staff/login", data={"csrf_token": token.group(1) if token else "", "email": ADMIN, "password": PASSWORD})


def vote_writer(database: Path, session_id: int, prompt_id: int, seconds: float, rate: float) -> None:
    """Cast residents' votes (new ones and changed ones) on the react question for `seconds`, `rate` a second, as a
    hall does while the screens poll (run in its own process by `--react-soak`)."""
    import random
    import uuid

    from listening import statements as st
    from listening.db import connect

    db = connect(str(database))
    rng = random.Random(5)
    people = [r[0] for r in db.execute("SELECT id FROM participants WHERE session_id = ? AND withdrawn_at IS NULL "
                                       "ORDER BY id", (session_id,))]
    statements = [r[0] for r in db.execute("SELECT id FROM statements WHERE prompt_id = ? AND status = 'approved'",
                                           (prompt_id,))]
    language = json.loads(db.execute("SELECT languages FROM sessions WHERE id = ?", (session_id,)).fetchone()[0])[0]
    end, cast, failed = time.monotonic() + seconds, 0, []
    while time.monotonic() < end:
        try:
            st.cast_vote(db, session_id=session_id, participant_id=rng.choice(people), statement_id=rng.choice(statements),
                         vote=rng.choice((-1, 0, 1)), nonce=uuid.uuid4().hex, language=language)
            cast += 1
        except ValueError:  # a person withdrawn meanwhile
            pass
        except sqlite3.OperationalError as exc:  # counted and printed: a resident's vote that failed
            failed.append(f"{time.monotonic() - end + seconds:.0f} s: {exc}")
        time.sleep(1 / rate)
    print(f"writer: {cast} votes cast or changed in {seconds:.0f} s; failed: {len(failed)} "
          + "; ".join(failed[:5]), file=sys.stderr)


def react_soak(copy: Path, client, facts: dict, seconds: float, rate: float) -> None:
    """Poll the projector and console panels of the react question as a room does, for `seconds`, while another
    process casts votes and the job consumer works the groups out; withdraw a voter half-way. Print every poll's
    time (median, 95th percentile, max), how often the groups were stored, and what the withdrawal did at once."""
    import subprocess

    from bs4 import BeautifulSoup

    from listening import queries
    from listening.db import connect

    sid, pid = facts["session_id"], facts["by_kind"]["react"]
    db = connect(str(copy))
    execute(db.conn, "UPDATE sessions SET status = 'open', current_prompt_id = ?, paused = 0, answering_open = 1 WHERE id = ?",
            (pid, sid))
    db.conn.commit()
    env = {**os.environ, "CHORUS_DATABASE": str(copy), "CHORUS_SECRET_KEY": SECRET}
    consumer = subprocess.Popen([sys.executable, "-c", "from listening.cli import cli; cli(['jobs'])"], cwd=ROOT, env=env)
    writer = subprocess.Popen([sys.executable, __file__, str(copy), "--vote-writer", str(seconds), "--rate", str(rate),
                               "--session", str(sid), "--prompt", str(pid)], cwd=ROOT)
    times: dict[str, list[float]] = {"projector": [], "console": []}
    late: list[str] = []
    stored_at: set[str] = set()
    shown: list[tuple[float, str]] = []
    started, withdrawn, back_after = time.monotonic(), None, None
    urls = {"projector": f"/staff/sessions/{sid}/projector/panel", "console": f"/staff/sessions/{sid}/live/panel"}
    print(f"react soak: {seconds:.0f} s from {time.strftime('%H:%M:%S UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f}; {rate:.0f} votes a second from another process, the job consumer beside", flush=True)
    try:
        turn = 0
        while time.monotonic() - started < seconds:
            name = ("projector", "console")[turn % 2]
            turn += 1
            begin = time.perf_counter()
            response = client.get(urls[name])
            ms = (time.perf_counter() - begin) * 1000
            times[name].append(ms)
            if ms > TARGET_MS:
                late.append(f"{name} {ms:,.0f} ms at {time.monotonic() - started:.0f} s")
            soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
            if name == "projector":
                has_groups = bool(soup.select("ol.groups .count"))
                shown.append((time.monotonic() - started, "groups" if has_groups else "none"))
                if withdrawn is not None and back_after is None and has_groups:
                    back_after = time.monotonic() - withdrawn
            row = db.execute("SELECT computed_at FROM opinion_groups WHERE prompt_id = ?", (pid,)).fetchone()
            if row and row[0]:
                stored_at.add(row[0])
            if withdrawn is None and time.monotonic() - started > seconds / 2:
                person = db.execute("SELECT participant_id FROM vote_people WHERE prompt_id = ? ORDER BY participant_id "
                                    "LIMIT 1", (pid,)).fetchone()[0]
                before = db.execute("SELECT voters FROM vote_totals WHERE prompt_id = ?", (pid,)).fetchone()[0]
                admin = db.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
                queries.withdraw_for(db, person, reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)), by_user=admin)
                withdrawn = time.monotonic()
                console = BeautifulSoup(client.get(urls["console"]).get_data(as_text=True), "html.parser")
                projector = BeautifulSoup(client.get(urls["projector"]).get_data(as_text=True), "html.parser")
                after = db.execute("SELECT voters FROM vote_totals WHERE prompt_id = ?", (pid,)).fetchone()[0]
                words = console.select_one("#react").get_text(" ", strip=True) if console.select_one("#react") else ""
                says = f"{after:,} people have voted" in words or f"{after} people have voted" in words
                print(f"withdrew person {person} at {withdrawn - started:.0f} s: kept voters {before:,} -> {after:,}; "
                      f"the console's next poll says {after:,}: {says}; the projector's next poll shows groups: "
                      f"{bool(projector.select('ol.groups .count'))}", flush=True)
            time.sleep(0.5)
    finally:
        writer.wait()
        consumer.terminate()
        consumer.wait(timeout=30)
    for name, found in times.items():
        # The first poll of a fresh worker compiles the panel's templates (once per process), shown apart.
        first, found = found[0], sorted(found[1:])
        p95 = found[min(len(found) - 1, int(0.95 * len(found)))]
        print(f"{name} panel: first poll {first:,.0f} ms; then {len(found)} polls, median {statistics.median(found):,.0f} ms, "
              f"95th percentile {p95:,.0f} ms, max {found[-1]:,.0f} ms, over {TARGET_MS} ms: {sum(1 for t in found if t > TARGET_MS)}")
    print("over 300 ms: " + ("; ".join(late) or "none"))
    print("groups stored at " + ", ".join(sorted(stamp[11:19] for stamp in stored_at)) + " UTC")
    print(f"groups stored {len(stored_at)} times by the job consumer; the projector showed groups in "
          f"{sum(1 for _t, what in shown if what == 'groups')} of {len(shown)} polls"
          + (f"; back {back_after:.0f} s after the withdrawal" if back_after is not None else "")
          + f"; finished {time.strftime('%H:%M:%S UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    """Copy and migrate the database, put each state in place, time the panels, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--only", nargs="*", help="run only the states whose names contain one of these words")
    parser.add_argument("--queries", action="store_true", help="list every statement with its time and plan")
    parser.add_argument("--react-soak", type=float, metavar="SECONDS",
                        help="instead of the states, poll the react question's panels for SECONDS while votes arrive")
    parser.add_argument("--rate", type=float, default=20.0, help="votes a second during --react-soak")
    parser.add_argument("--vote-writer", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--session", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prompt", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.vote_writer:
        vote_writer(args.database, args.session, args.prompt, args.vote_writer, args.rate)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="live-panels-", dir="/tmp"))
    print(f"copying {args.database} to {work} ...", file=sys.stderr)
    copy = copy_database(args.database, work)

    from listening.db import connect
    from listening.migrations import migrate

    migrate(connect(str(copy), synchronous="NORMAL"))
    conn, facts = with_react_question(copy)
    recorder = Recorder()
    recorder.install()
    app = make_app(copy)
    client = app.test_client()
    sign_in(client)
    sid = facts["session_id"]
    if args.react_soak:
        print(f"session {sid}: {facts['residents']:,} residents; react question q{facts['by_kind']['react']} with "
              f"{conn.execute('SELECT count(*) FROM votes WHERE prompt_id = ?', (facts['by_kind']['react'],)).fetchone()[0]:,} votes")
        react_soak(copy, client, facts, args.react_soak, args.rate)
        return
    print(f"session {sid}: {facts['residents']:,} residents; answers per question: "
          + ", ".join(f"q{pid} {n:,}" for pid, n in facts["answers"].items()))
    print(f"started {time.strftime('%H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}\n")
    print("| state | console panel: first / median | projector panel: first / median | console page: median | load |")
    print("|---|---|---|---|---|")
    slow: dict[str, tuple[float, str, str]] = {}
    for name, prompt_id, changes in states(facts):
        for sql, params in changes:
            execute(conn, sql, params)
        if args.only and not any(word in name for word in args.only):
            continue
        execute(conn, "UPDATE sessions SET status = 'open', current_prompt_id = ?, paused = 0 WHERE id = ?", (prompt_id, sid))
        recorder.statements.clear()
        recorder.on = True
        panel = timed(client, f"/staff/sessions/{sid}/live/panel", args.repeat)
        projector = timed(client, f"/staff/sessions/{sid}/projector/panel", args.repeat)
        page = timed(client, f"/staff/sessions/{sid}/live", max(args.repeat // 2, 1))
        recorder.on = False
        flag = lambda ms: f"**{ms:,.0f}**" if ms > TARGET_MS else f"{ms:,.0f}"  # noqa: E731
        print(f"| {name} | {flag(panel['first'])} / {flag(panel['median'])} ms, {panel['bytes'] / 1024:,.0f} KB "
              f"| {flag(projector['first'])} / {flag(projector['median'])} ms, {projector['bytes'] / 1024:,.0f} KB "
              f"| {flag(page['median'])} ms | {os.getloadavg()[0]:.1f} |", flush=True)
        for statement in dict.fromkeys(recorder.statements):
            start = time.perf_counter()
            try:
                conn.execute(statement).fetchall()
            except sqlite3.Error:
                continue
            ms = (time.perf_counter() - start) * 1000
            key = re.sub(r"\b\d+\b", "N", re.sub(r"'[^']*'", "'…'", statement))
            if key not in slow or slow[key][0] < ms:
                slow[key] = (ms, name, plan_of(conn, statement))
    print("\nEvery SELECT the panels ran, slowest run of each (ms alone, in which state), with its plan:\n")
    print("| ms | state | statement | plan |")
    print("|---|---|---|---|")
    shown = sorted(slow.items(), key=lambda item: -item[1][0])
    for key, (ms, name, plan) in shown if args.queries else shown[:15]:
        text = " ".join(key.split())
        print(f"| {ms:,.1f} | {name} | `{text[:140]}{'…' if len(text) > 140 else ''}` | {plan} |")
    print(f"\nfinished {time.strftime('%H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}; work copy {work}")


if __name__ == "__main__":
    main()
