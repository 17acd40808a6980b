"""Load benchmark for live sessions: thousands of phones following the facilitator while some answer.

Not a test: it prints figures (and writes them to docs/load.md). It starts Chorus under gunicorn
with the settings the README recommends, and beside it a bare Flask + SQLite baseline written
below, both on 127.0.0.1 only, on a temporary database, and stops them when it is done.

Phases, each bounded in time:
1. Scenario: `--phones` phones poll /s/<code>/state.json every 0.9 to 1.2 s as follow.js does (ETag/304) for
   `--duration` seconds while `--answerers` of them answer the open question once (some tap
   twice). Reports latency of following and of answering.
2. Saturation: closed-loop clients send polls, then answers and votes, as fast as the server takes
   them, for `--saturate` seconds each, against Chorus and against the baseline (the bare insert,
   Chorus's answers and its votes take turns in `--rounds` slices). Reports requests/s.
3. Check: every acknowledged answer is in the database exactly once.

The client is stdlib asyncio with a minimal HTTP/1.1 keep-alive client, so it needs nothing
beyond Chorus's own dependencies. It shares the machine's cores with the servers, which costs
Chorus and the baseline alike.

    python bench/load.py                   # default: 2,000 phones, 200 answerers, 20 s
    python bench/load.py --duration 60 --phones 3000 --answerers 300 --workers 2 --threads 8
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# Phones poll every 0.9 to 1.2 s (listening/static/follow.js), so a change reaches them within 2 s.
POLL_EVERY = 1.05
POLL_JITTER = 0.15
# Statements of the react question the vote phase votes on.
STATEMENTS = 20


# --- the bare baseline (run by gunicorn as `bench.load:baseline_app()`) -----------------------


def baseline_app(write_lock: bool = True):
    """A bare Flask app: one constant JSON poll, and one SQLite insert per answer (WAL, synchronous FULL).

    It is as fair to Chorus as it can be made: like Chorus it keeps one connection per server thread
    (opening one per request costs a write-ahead-log checkpoint whenever the last one closes), and
    like Chorus (`listening.db.transaction`) its threads take turns on a lock, and its processes on
    the lock file beside the database (`listening.db.turn_for`, the same code), before asking SQLite for
    the write lock (SQLite's busy handler sleeps 1, 2, 5... ms between tries), so the share of
    baseline measures what Chorus adds, not how it talks to SQLite. `write_lock=False` is the bare
    app as it was before Chorus took such locks.
    """
    import contextlib
    import threading

    from flask import Flask, jsonify, redirect, request

    from listening.db import turn_for

    path = os.environ["BENCH_BASELINE_DB"]
    app = Flask("baseline")
    local = threading.local()
    writing = threading.Lock() if write_lock else contextlib.nullcontext()

    def connect():
        """Return this thread's baseline connection, opened with Chorus's pragmas (listening.db.connect)."""
        if getattr(local, "conn", None) is None:
            conn = sqlite3.connect(path, timeout=5, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            local.conn = conn
        return local.conn

    @app.get("/poll")
    def poll():
        """Return a small constant state."""
        return jsonify({"v": 1, "prompt": 1, "open": True})

    @app.post("/answer")
    def answer():
        """Insert one answer and acknowledge it."""
        conn = connect()
        with writing:
            turn = turn_for(path) if write_lock else None  # processes take turns on the lock file, as Chorus's do
            taken = turn is not None and turn.take(5.0)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("INSERT INTO answers (nonce, text) VALUES (?, ?)",
                                 (request.form["nonce"], request.form["answer"]))
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if taken:
                    turn.give_back()
        return redirect("/poll", 303)

    return app


# --- a minimal keep-alive HTTP/1.1 client ------------------------------------------------------


class Connection:
    """One keep-alive connection to the server."""

    def __init__(self, port: int):
        """Remember where to connect; connect lazily."""
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> tuple[int, dict, bytes]:
        """Send a request and read the whole response; reconnect once if the server closed the connection."""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body or method == "POST":
                head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
            try:
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed")
                status = int(status_line.split()[1])
                found: dict[str, list[str]] = {}
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    found.setdefault(name.strip().lower(), []).append(value.strip())
                length = int(found.get("content-length", ["0"])[0])
                data = await self.reader.readexactly(length) if length else b""
                if found.get("connection", [""])[0].lower() == "close":
                    self.close()
                return status, found, data
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2 or method == "POST":
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """A fixed pool of keep-alive connections shared by many simulated phones."""

    def __init__(self, port: int, size: int):
        """Make `size` connections (opened on first use)."""
        self.free: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(Connection(port))

    async def request(self, *args, **kwargs):
        """Run one request on a free connection."""
        conn = await self.free.get()
        try:
            return await conn.request(*args, **kwargs)
        except Exception:
            conn.close()
            raise
        finally:
            self.free.put_nowait(conn)

    def close(self) -> None:
        """Close every connection."""
        while not self.free.empty():
            self.free.get_nowait().close()


# --- residents ---------------------------------------------------------------------------------


HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')


def hidden_fields(html: str) -> dict[str, str]:
    """Pick the hidden inputs (CSRF token, one-time key, version) out of a page."""
    found = {}
    for tag in HIDDEN.findall(html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            found[name.group(1)] = value.group(1) if value else ""
    return found


@dataclass
class Resident:
    """A phone that has agreed to take part: its cookie and the answer form's hidden fields."""

    cookie: str = ""
    form: dict = field(default_factory=dict)
    vote_form: dict = field(default_factory=dict)

    def remember(self, headers: dict) -> None:
        """Keep the session cookie the server set."""
        for value in headers.get("set-cookie", []):
            if value.startswith("chorus="):
                self.cookie = value.split(";", 1)[0]


async def join(pool: Pool, code: str) -> Resident:
    """Agree to take part and load the open question's form, as a phone would."""
    person = Resident()
    status, headers, body = await pool.request("GET", f"/s/{code}/consent")
    person.remember(headers)
    fields = {**hidden_fields(body.decode()), "action": "agree", "take_part": "y"}
    status, headers, _ = await pool.request("POST", f"/s/{code}/consent", {"Cookie": person.cookie},
                                           urlencode(fields).encode())
    assert status in (302, 303), f"consent failed with {status}"
    person.remember(headers)
    status, headers, body = await pool.request("GET", f"/s/{code}/q/1", {"Cookie": person.cookie})
    assert status == 200, f"question page failed with {status}"
    person.remember(headers)
    person.form = hidden_fields(body.decode())
    return person


async def load_vote_form(pool: Pool, code: str, person: Resident) -> None:
    """Load the react question's screen and keep its vote form's hidden fields (the CSRF token)."""
    status, headers, body = await pool.request("GET", f"/s/{code}/q/2", {"Cookie": person.cookie})
    assert status == 200, f"react page failed with {status}"
    person.remember(headers)
    person.vote_form = {k: v for k, v in hidden_fields(body.decode()).items() if k == "csrf_token"}


# --- measuring ---------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict:
    """Return count, p50, p95 and p99 (milliseconds) of latency samples in seconds."""
    if not samples:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    cuts = statistics.quantiles(samples, n=100, method="inclusive") if len(samples) > 1 else [samples[0]] * 99
    return {"n": len(samples), "p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


async def scenario(port: int, code: str, people: list[Resident], *, phones: int, duration: float, pool_size: int) -> dict:
    """Phones poll every ~1 s with jitter (as follow.js) while the residents answer once each (some twice); return samples."""
    pool = Pool(port, pool_size)
    deadline = time.monotonic() + duration
    polls: list[float] = []
    answers: list[float] = []
    statuses: dict[int, int] = {}
    acknowledged: list[tuple[str, str]] = []
    errors = 0

    async def phone(index: int) -> None:
        """Follow the facilitator until the deadline."""
        nonlocal errors
        etag = ""
        await asyncio.sleep(random.uniform(0, POLL_EVERY))
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, headers, _ = await pool.request(
                    "GET", f"/s/{code}/state.json", {"If-None-Match": etag} if etag else {})
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                errors += 1
                await asyncio.sleep(POLL_EVERY)
                continue
            polls.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            etag = headers.get("etag", [etag])[0]
            await asyncio.sleep(POLL_EVERY + random.uniform(-POLL_JITTER, POLL_JITTER))

    async def answerer(person: Resident, index: int) -> None:
        """Answer the open question once, at a random moment; one in ten taps twice."""
        nonlocal errors
        await asyncio.sleep(random.uniform(0, duration * 0.6))
        text = f"bench answer {index} {secrets.token_hex(4)}"
        body = urlencode({**person.form, "answer": text, "action": "next"}).encode()
        for _tap in range(2 if index % 10 == 0 else 1):
            started = time.perf_counter()
            try:
                status, headers, _ = await pool.request("POST", f"/s/{code}/q/1", {"Cookie": person.cookie}, body)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                errors += 1
                continue
            answers.append(time.perf_counter() - started)
            if status in (302, 303):
                acknowledged.append((person.form["nonce"], text))

    tasks = [asyncio.create_task(phone(i)) for i in range(phones)]
    tasks += [asyncio.create_task(answerer(p, i)) for i, p in enumerate(people)]
    await asyncio.gather(*tasks)
    pool.close()
    return {"polls": polls, "answers": answers, "statuses": statuses, "acknowledged": acknowledged,
            "errors": errors, "duration": duration}


async def saturate(port: int, make_request, *, seconds: float, concurrency: int) -> dict:
    """Send requests from `concurrency` closed loops for `seconds`; return throughput and latency.

    `make_request(index, n)` returns (method, path, headers, body, token) and, for a resident, the
    Resident too, who then keeps the cookie each response sets, as a phone's browser does.
    """
    pool = Pool(port, concurrency)
    deadline = time.monotonic() + seconds
    samples: list[float] = []
    results: list = []
    errors = 0

    async def loop(index: int) -> None:
        """Send one request after another until the deadline."""
        nonlocal errors
        n = 0
        while time.monotonic() < deadline:
            method, path, headers, body, token, *person = make_request(index, n)
            n += 1
            started = time.perf_counter()
            try:
                status, response_headers, _ = await pool.request(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                errors += 1
                continue
            samples.append(time.perf_counter() - started)
            results.append((status, token))
            if person:
                person[0].remember(response_headers)  # a phone keeps the cookie it is given, as a browser does

    began = time.monotonic()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    elapsed = time.monotonic() - began
    pool.close()
    return {"rps": len(samples) / elapsed, **percentiles(samples), "results": results, "errors": errors,
            "samples": samples, "elapsed": elapsed}


def merged(slices: list[dict]) -> dict:
    """Combine the saturation slices of one endpoint: requests over total time, latency over every sample."""
    samples = [x for part in slices for x in part["samples"]]
    elapsed = sum(part["elapsed"] for part in slices)
    return {"rps": len(samples) / elapsed if elapsed else 0.0, **percentiles(samples), "samples": samples,
            "elapsed": elapsed, "results": [r for part in slices for r in part["results"]],
            "errors": sum(part["errors"] for part in slices), "rounds": [part["rps"] for part in slices]}


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    """Find a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(target: str, port: int, env: dict, *, workers: int, threads: int) -> subprocess.Popen:
    """Start gunicorn with threaded workers (as `chorus serve` does) and wait until it answers."""
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers),
               "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "5",
               "--timeout", "30", "--log-level", "warning", "--chdir", str(ROOT), target]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn for {target} exited with {process.returncode}")
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"gunicorn for {target} did not start")


def stop(process: subprocess.Popen) -> None:
    """Stop a server we started and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def prepare_chorus(path: str) -> str:
    """Create a migrated database with one open live session whose first question is open; return its code."""
    sys.path.insert(0, str(ROOT))
    from facilitation import live_queries
    from listening import queries, statements
    from listening.db import connect
    from listening.migrations import migrate

    db = connect(path)
    migrate(db)
    texts = {"title": {"en": "Load test"}, "purpose": {"en": "Measure"}, "consent": {"en": "You may stop at any time."}}
    found = queries.create_session(db, languages=["en"], mode="live", timezone_name="UTC", created_by=None, texts=texts)
    prompt_id = queries.add_prompt(db, found["id"], kind="open", texts={"en": "What helps you?"})
    react_id = queries.add_prompt(db, found["id"], kind="react", texts={"en": "What should change?"})
    for n in range(STATEMENTS):
        statements.add_statement(db, found["id"], react_id, language="en", body=f"Statement {n + 1}", created_by=None)
    live_queries.start_live(db, found["id"])
    live_queries.show_prompt(db, found["id"], prompt_id)
    db.conn.close()
    return found["code"]


def show_question(path: str, code: str, number: int) -> None:
    """Put question `number` (1: the open question, 2: the react question) on the phones, as the facilitator would."""
    from facilitation import live_queries
    from listening import queries
    from listening.db import connect

    db = connect(path)
    found = queries.session_by_code(db, code)
    live_queries.show_prompt(db, found["id"], queries.prompts_for_session(db, found["id"])[number - 1]["id"])
    db.conn.close()


# --- checking ----------------------------------------------------------------------------------


def check_chorus(path: str, acknowledged: list[tuple[str, str]], texts_by_nonce: dict[str, str]) -> dict:
    """Check every acknowledged answer's one-time key is stored once, each answer row is unique, and
    (for the answers in `texts_by_nonce`) the acknowledged text is what the database holds."""
    conn = sqlite3.connect(path)
    nonces = {row[0] for row in conn.execute("SELECT nonce FROM submissions WHERE kind = 'answer'")}
    stored_texts = {row[0] for row in conn.execute("SELECT text FROM responses")}
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT participant_id, prompt_id FROM responses GROUP BY 1, 2 HAVING count(*) > 1)"
    ).fetchone()[0]
    conn.close()
    acked = {nonce for nonce, _ in acknowledged}
    missing = [n for n in acked if n not in nonces]
    scenario_texts = [text for nonce, text in acknowledged if nonce in texts_by_nonce]
    lost_texts = [t for t in scenario_texts if t not in stored_texts]
    return {"acknowledged": len(acked), "missing": len(missing), "duplicate_rows": dupes, "lost_texts": len(lost_texts)}


def check_votes(path: str, acknowledged: set[str]) -> dict:
    """Check every acknowledged vote's one-time key is stored once and no one has two votes on a statement."""
    conn = sqlite3.connect(path)
    nonces = {row[0] for row in conn.execute("SELECT nonce FROM submissions WHERE kind = 'vote'")}
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT participant_id, statement_id FROM votes GROUP BY 1, 2 HAVING count(*) > 1)"
    ).fetchone()[0]
    conn.close()
    return {"acknowledged": len(acknowledged), "missing": sum(1 for n in acknowledged if n not in nonces),
            "duplicate_rows": dupes}


def check_baseline(path: str, acknowledged: set[str]) -> dict:
    """Check every acknowledged baseline insert is stored exactly once."""
    conn = sqlite3.connect(path)
    stored = [row[0] for row in conn.execute("SELECT nonce FROM answers")]
    conn.close()
    counts: dict[str, int] = {}
    for nonce in stored:
        counts[nonce] = counts.get(nonce, 0) + 1
    return {"acknowledged": len(acknowledged), "missing": sum(1 for n in acknowledged if n not in counts),
            "duplicate_rows": sum(1 for n in acknowledged if counts.get(n, 0) > 1)}


# --- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    """Start both servers, run every phase, check the database, stop the servers; return the figures."""
    random.seed(args.seed)
    work = tempfile.mkdtemp(prefix="chorus-bench-")
    chorus_db = str(Path(work) / "chorus.db")
    baseline_db = str(Path(work) / "baseline.db")
    code = prepare_chorus(chorus_db)
    conn = sqlite3.connect(baseline_db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, nonce TEXT NOT NULL, text TEXT NOT NULL)")
    conn.commit()
    conn.close()
    chorus_port, baseline_port = free_port(), free_port()
    chorus_env = {"CHORUS_DATABASE": chorus_db, "CHORUS_SECRET_KEY": secrets.token_hex(32),
                  "CHORUS_RATELIMIT_ENABLED": "0", "CHORUS_LANGUAGES": "en"}
    servers = [
        start_gunicorn("listening.app:create_app()", chorus_port, chorus_env, workers=args.workers, threads=args.threads),
        start_gunicorn(f"bench.load:baseline_app({not args.baseline_unlocked})", baseline_port, {"BENCH_BASELINE_DB": baseline_db},
                       workers=args.workers, threads=args.threads),
    ]
    load_before = os.getloadavg()[0]
    try:
        result = asyncio.run(measure(args, code, chorus_port, baseline_port, chorus_db, baseline_db))
        result["load_before"] = load_before
        return result
    finally:
        for server in servers:
            stop(server)


async def measure(args, code: str, chorus_port: int, baseline_port: int, chorus_db: str, baseline_db: str) -> dict:
    """Run the phases in order and gather the figures."""
    setup = Pool(chorus_port, 32)
    people = await asyncio.gather(*(join(setup, code) for _ in range(args.answerers)))
    setup.close()

    print(f"Scenario: {args.phones} phones polling every {POLL_EVERY - POLL_JITTER:g} to {POLL_EVERY + POLL_JITTER:g} s, {args.answerers} answering, "
          f"{args.duration:.0f} s ...", flush=True)
    seen = await scenario(chorus_port, code, people, phones=args.phones, duration=args.duration, pool_size=args.pool)
    scenario_check = check_chorus(chorus_db, seen["acknowledged"], {n: "" for n, _ in seen["acknowledged"]})
    follow = percentiles(seen["polls"])
    answer = percentiles(seen["answers"])
    follow["rps"] = len(seen["polls"]) / seen["duration"]
    answer["rps"] = len(seen["answers"]) / seen["duration"]

    def chorus_poll(index, n):
        """An unconditional poll of the real state endpoint (a full 200 with JSON)."""
        return "GET", f"/s/{code}/state.json", {}, b"", None

    def chorus_answer(index, n):
        """A new answer form from one of the residents (a fresh one-time key each time)."""
        person = people[(index + n * args.concurrency) % len(people)]
        nonce = secrets.token_urlsafe(12)
        body = urlencode({**person.form, "nonce": nonce, "answer": f"saturation {nonce}", "action": "next"}).encode()
        return "POST", f"/s/{code}/q/1", {"Cookie": person.cookie}, body, nonce, person

    def base_poll(index, n):
        """A bare poll."""
        return "GET", "/poll", {}, b"", None

    def base_answer(index, n):
        """A bare insert."""
        nonce = secrets.token_urlsafe(12)
        return "POST", "/answer", {}, urlencode({"nonce": nonce, "answer": f"saturation {nonce}"}).encode(), nonce

    print(f"Saturation: {args.concurrency} closed loops, {args.saturate:.0f} s per phase ...", flush=True)
    figures = {}
    for name, port, maker in (("baseline poll", baseline_port, base_poll), ("chorus poll", chorus_port, chorus_poll)):
        figures[name] = await saturate(port, maker, seconds=args.saturate, concurrency=args.concurrency)

    # Each resident loads the react question's vote form once (the facilitator shows question 2 for it).
    show_question(chorus_db, code, 2)
    setup = Pool(chorus_port, 32)
    await asyncio.gather(*(load_vote_form(setup, code, person) for person in people))
    setup.close()

    def chorus_vote(index, n):
        """A resident's Agree / Disagree / Pass on the next statement, with a fresh one-time key."""
        person = people[(index + n * args.concurrency) % len(people)]
        nonce = secrets.token_urlsafe(12)
        fields = {**person.vote_form, "nonce": nonce, "statement": str(1 + n % STATEMENTS),
                  "vote": ("agree", "disagree", "pass")[(index + n) % 3]}
        return "POST", f"/s/{code}/q/2/vote", {"Cookie": person.cookie}, urlencode(fields).encode(), nonce, person

    # The bare insert, Chorus's answers and Chorus's votes take turns in short slices (the facilitator
    # moving between question 1 and the react question in between), so load from other work, which
    # drifts during a run, falls on all three alike instead of on whichever phase it happened to meet.
    parts: dict[str, list[dict]] = {"baseline answer": [], "chorus answer": [], "chorus vote": []}
    slice_seconds = args.saturate / args.rounds
    for _round in range(args.rounds):
        parts["baseline answer"].append(await saturate(baseline_port, base_answer, seconds=slice_seconds,
                                                       concurrency=args.concurrency))
        show_question(chorus_db, code, 1)
        parts["chorus answer"].append(await saturate(chorus_port, chorus_answer, seconds=slice_seconds,
                                                     concurrency=args.concurrency))
        show_question(chorus_db, code, 2)
        parts["chorus vote"].append(await saturate(chorus_port, chorus_vote, seconds=slice_seconds,
                                                   concurrency=args.concurrency))
    for name, slices in parts.items():
        figures[name] = merged(slices)
    vote_check = check_votes(chorus_db, {tok for status, tok in figures["chorus vote"]["results"] if status in (302, 303)})

    chorus_acked = seen["acknowledged"] + [(tok, "") for status, tok in figures["chorus answer"]["results"]
                                           if status in (302, 303)]
    check = check_chorus(chorus_db, chorus_acked, {})
    check["lost_texts"] = scenario_check["lost_texts"]
    base_check = check_baseline(baseline_db, {tok for status, tok in figures["baseline answer"]["results"]
                                              if status in (302, 303)})
    refused = {name: sum(1 for status, _ in f["results"] if status >= 400) for name, f in figures.items()}
    return {"args": vars(args), "follow": follow, "answer": answer, "statuses": seen["statuses"],
            "scenario_errors": seen["errors"], "figures": figures, "check": check, "baseline_check": base_check,
            "refused": refused, "answered_once": len({n for n, _ in seen["acknowledged"]}), "vote_check": vote_check}


def report(result: dict) -> str:
    """Format the figures as a Markdown report."""
    a = result["args"]
    f = result["figures"]
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}, gunicorn gthread {a['workers']} workers x {a['threads']} threads, "
        f"SQLite WAL synchronous=FULL, rate limits off (every client is 127.0.0.1); load average before the run "
        f"{result['load_before']:.1f} (other work on the machine lowers every figure).",
        "",
        f"Command: `python bench/load.py --duration {a['duration']:g} --phones {a['phones']} --answerers "
        f"{a['answerers']} --saturate {a['saturate']:g} --rounds {a['rounds']} --concurrency {a['concurrency']} --workers {a['workers']} "
        f"--threads {a['threads']}{' --baseline-unlocked' if a.get('baseline_unlocked') else ''}`",
        "",
        f"**Scenario** ({a['phones']} phones polling every {POLL_EVERY - POLL_JITTER:g} to {POLL_EVERY + POLL_JITTER:g} s with jitter for {a['duration']:g} s; "
        f"{a['answerers']} of them answer once, one in ten taps twice):",
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in (("follow (`state.json`, ETag/304)", result["follow"]), ("answer (`POST /s/<code>/q/1`)", result["answer"])):
        lines.append(f"| {name} | {row['n']} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} |")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
    lines += ["", f"Poll responses by status: {statuses}; connection errors: {result['scenario_errors']}.", "",
              f"**Saturation** ({a['concurrency']} closed loops, {a['saturate']:g} s each, side by side with a bare "
              f"Flask + SQLite app under the same gunicorn settings; the bare insert, Chorus's answers and its votes "
              f"take turns in {a['rounds']} slices of {a['saturate'] / a['rounds']:g} s):", "",
              "| endpoint | req/s | p50 ms | p95 ms | p99 ms | share of baseline |", "|---|---|---|---|---|---|"]
    for base_name, names in (("baseline poll", ("baseline poll", "chorus poll")),
                             ("baseline answer", ("baseline answer", "chorus answer", "chorus vote"))):
        base_rps = f[base_name]["rps"]
        for name in names:
            row = f[name]
            share = f"{row['rps'] / base_rps:.0%}" if base_rps else "-"
            lines.append(f"| {name} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} | {share} |")
    rounds = [(b, a, v) for b, a, v in zip(*(f[n].get("rounds", []) for n in ("baseline answer", "chorus answer", "chorus vote")))]
    if rounds:
        lines += ["", "Slice by slice (req/s of the bare insert, Chorus answers, Chorus votes; shares): " + "; ".join(
            f"{b:.0f}, {a:.0f} ({a / b:.0%}), {v:.0f} ({v / b:.0%})" if b else f"{b:.0f}, {a:.0f}, {v:.0f}"
            for b, a, v in rounds) + "."]
    c, b = result["check"], result["baseline_check"]
    lines += ["", f"**Check**: Chorus acknowledged {c['acknowledged']} answers ({result['answered_once']} in the scenario); "
              f"missing from the database: {c['missing']}; duplicate answer rows: {c['duplicate_rows']}; "
              f"scenario answers whose text is missing: {c['lost_texts']}. Baseline acknowledged {b['acknowledged']}; "
              f"missing {b['missing']}; duplicated {b['duplicate_rows']}. Refused (4xx/5xx): "
              + ", ".join(f"{k} {v}" for k, v in result["refused"].items()) + ".",
              "", f"**Votes** (compared with the bare app's answer insert, the same one-row write): Chorus acknowledged "
              f"{result['vote_check']['acknowledged']} votes; missing from the database: {result['vote_check']['missing']}; "
              f"two votes by one person on one statement: {result['vote_check']['duplicate_rows']}."]
    return "\n".join(lines)


def write_docs(text: str, path: Path) -> None:
    """Keep the latest figures in docs/load.md, between markers, leaving the rest of the page alone."""
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    page = path.read_text(encoding="utf-8") if path.exists() else f"# Load\n\n{start}\n{end}\n"
    if start not in page:
        page += f"\n{start}\n{end}\n"
    before, rest = page.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def main() -> int:
    """Parse flags, run the benchmark, print and keep the figures; exit 1 if an answer or a vote was lost or doubled."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds of the phones scenario (default 20)")
    parser.add_argument("--phones", type=int, default=2000, help="phones following (default 2000)")
    parser.add_argument("--answerers", type=int, default=200, help="phones that answer (default 200)")
    parser.add_argument("--saturate", type=float, default=5, help="seconds per saturation phase (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed loops in saturation (default 32)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="slices the insert, answer and vote phases are cut into, taken in turn (default 3)")
    parser.add_argument("--pool", type=int, default=200, help="keep-alive connections the phones share (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as the README recommends)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for jitter (default 0)")
    parser.add_argument("--baseline-unlocked", action="store_true",
                        help="run the bare app without the write lock and the turns between processes Chorus takes (as before 2026-12-01), for comparison")
    parser.add_argument("--no-docs", action="store_true", help="print only; do not update docs/load.md")
    args = parser.parse_args()
    result = run(args)
    text = report(result)
    print(text)
    if not args.no_docs:
        write_docs(text, ROOT / "docs" / "load.md")
    check, votes = result["check"], result["vote_check"]
    lost = check["missing"] or check["duplicate_rows"] or check["lost_texts"] or votes["missing"] or votes["duplicate_rows"]
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
