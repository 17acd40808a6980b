"""Build big sessions through Chorus's own functions and time every staff page, export and the public page.

Usage:
    python bench/big_session.py [--sizes 1000 10000 100000] [--data PATH] [--keep DIR] [--markdown OUT.md]

For each size it builds a fresh database in a temporary folder (or `--keep DIR`): the demo session
(`listening.demo.ensure_demo`: 8 questions in English, Spanish, Arabic and Urdu, 60 demo residents),
then SIZE more residents who consent (`queries.record_consent`) and answer all 8 questions
(`queries.save_response`), 1,000 residents per transaction. Open answers are distinct: sentences
cut from the civic comments in `--data` (a CSV with a `comment-body` or `text` column, or a folder
searched for `comments.csv` files; default `bench/data/civic_comments.csv`, 400 Pol.is comments,
CC BY 4.0) and recombined two or three at a time, never the same answer twice.

Then it runs the theme engine on both open questions, marks every theme reviewed and publishes the
residents' page, and measures each page and export in a fresh Python process (as a gunicorn worker
would be: the app imported, one warm-up request to the dashboard, then the request): seconds,
response bytes and the worker's peak resident memory (VmHWM). Each is requested twice; "again"
is the second request in the same worker (what a cache can save). Nothing leaves the machine.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT / "bench" / "data" / "civic_comments.csv"
ADMIN = "bench-admin@example.org"
PASSWORD = "a long bench password"
SECRET = "bench-secret-" * 4
BATCH = 1000
LANGUAGES = ["en"] * 6 + ["es"] * 2 + ["ar", "ur"]
SOURCES = ["phone"] * 8 + ["paper", "interpreter"]


# --- answers ------------------------------------------------------------------------------------


def read_sentences(path: Path) -> list[str]:
    """Return the distinct sentences of every comment in a CSV (or every comments.csv under a folder)."""
    files = sorted(path.rglob("comments.csv")) if path.is_dir() else [path]
    sentences: dict[str, None] = {}
    csv.field_size_limit(10_000_000)
    for file in files:
        with open(file, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                body = (row.get("comment-body") or row.get("text") or "").strip()
                for part in re.split(r"(?<=[.!?])\s+", body):
                    part = part.strip()
                    if len(part) >= 12:
                        sentences[part] = None
    if len(sentences) < 20:
        raise SystemExit(f"{path}: fewer than 20 usable sentences")
    return list(sentences)


class Answers:
    """Distinct answers made by recombining sentences: two or three of them, in a random order."""

    def __init__(self, sentences: list[str], seed: int = 0):
        """Keep the sentences and a seeded random source."""
        self.sentences = sentences
        self.rng = random.Random(seed)
        self.seen: set[int] = set()

    def next(self) -> str:
        """Return an answer never returned before."""
        while True:
            parts = self.rng.sample(self.sentences, self.rng.choice((1, 2, 2, 3)))
            text = " ".join(parts)
            key = hash(text)
            if key not in self.seen:
                self.seen.add(key)
                return text


# --- building -----------------------------------------------------------------------------------


def make_app(database: Path, **config):
    """Return a Chorus app on `database` (rate limits off, as in the other benchmarks).

    Every session counts as small (CHORUS_JOBS_THRESHOLD), so a theme run or an export runs in the
    request as before jobs existed and the table times the work and its bytes in the process that
    does it; `--background` times the same run as a job in `chorus jobs` instead.
    """
    from listening.app import create_app

    return create_app({"TESTING": True, "DATABASE": database, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False,
                       "JOBS_THRESHOLD": 10**9, **config})


def build(database: Path, size: int, sentences: list[str]) -> dict:
    """Create the demo session and `size` residents answering all 8 questions; return the session and timings."""
    from listening import queries
    from listening.accounts import create_user
    from listening.db import connect, transaction
    from listening.demo import ensure_demo
    from listening.migrations import migrate

    app = make_app(database)
    db = connect(str(database), synchronous="NORMAL")
    migrate(db)
    answers = Answers(sentences)
    rng = random.Random(1)
    with app.app_context():
        demo = ensure_demo(db, password=PASSWORD)
        create_user(db, ADMIN, PASSWORD, "admin")
        session = queries.session_by_code(db, demo.code)
        prompts = queries.prompts_for_session(db, session["id"])
        statements = {code: queries.current_consent(db, session["id"], code) for code in session["languages"]}
        start = time.perf_counter()
        for first in range(0, size, BATCH):
            with transaction(db):
                for index in range(first, min(first + BATCH, size)):
                    add_resident(db, session, prompts, statements, index, answers, rng)
        seconds = time.perf_counter() - start
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return {"session_id": session["id"], "code": session["code"], "build_seconds": seconds}


def add_resident(db, session: dict, prompts: list[dict], statements: dict, index: int, answers: Answers, rng) -> None:
    """Record one resident's consent and their answer to every question, through the app's own functions."""
    from listening import queries

    language = LANGUAGES[index % len(LANGUAGES)]
    source = SOURCES[index % len(SOURCES)]
    person = queries.record_consent(
        db, session["id"], consent_version_id=statements[language]["id"], language=language,
        nonce=f"big-consent-{index}", quote_ok=index % 3 != 0, contact_ok=False, source=source,
        quote_scope="screen_and_reports" if index % 3 != 0 else None,
        method="self" if source == "phone" else "staff_verbal",
    )
    for prompt in prompts:
        values: dict = {}
        if prompt["kind"] == "open":
            values["text"] = answers.next()
        elif prompt["kind"] == "scale":
            values["number"] = rng.randint(prompt["scale_min"], prompt["scale_max"])
        elif prompt["kind"] == "multiple":
            values["choices"] = [o["id"] for o in rng.sample(prompt["options"], rng.randint(1, 3))]
        else:
            values["choices"] = [rng.choice(prompt["options"])["id"]]
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                              nonce=f"big-{index}-{prompt['id']}", language=language, source=source, **values)


def prepare_synthesis(database: Path, session_id: int) -> None:
    """Mark every drafted theme reviewed, publish the residents' page and put a question on the console."""
    from analysis.review import queries as synthesis
    from facilitation import live_queries as lq
    from listening import queries
    from listening.db import connect

    db = connect(str(database))
    for theme in synthesis.active_themes(db, session_id):
        if theme["kind"] == "theme":
            synthesis.set_reviewed(db, session_id, theme["id"], True, user_id=None)
    synthesis.save_settings(db, session_id, published=True, published_by=None)
    first_open = next(p for p in queries.prompts_for_session(db, session_id) if p["kind"] == "open")
    lq.show_prompt(db, session_id, first_open["id"])
    db.conn.close()


# --- measuring (in a fresh process per page) ----------------------------------------------------


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(database: Path, spec: dict) -> dict:
    """Sign in, warm up, then make the request `spec` names twice; return seconds, bytes and peak memory.

    `spec["save"]`, a path, keeps the last response's body there (to compare outputs before and after a change).
    """
    from bs4 import BeautifulSoup

    app = make_app(database)
    client = app.test_client()

    def hidden(url: str, index: int = -1) -> dict:
        """Return the hidden fields (CSRF token) of a page's POST form."""
        soup = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
        form = soup.find_all("form", method=re.compile("post", re.I))[index]
        return {f["name"]: f.get("value", "") for f in form.find_all("input", type="hidden")}

    client.post("/staff/login", data={**hidden("/staff/login"), "email": ADMIN, "password": PASSWORD})
    client.get("/staff/")
    before = peak_rss_mb()
    timings, cpu, size, status = [], [], 0, 0
    for _attempt in range(spec.get("repeat", 2)):
        data = None
        if spec.get("form") is not None:
            data = {**hidden(spec.get("form_page", spec["url"]), spec.get("form_index", -1)), **spec["form"]}
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.open(spec["url"], method="POST" if data is not None else "GET", data=data, buffered=False)
        size = 0
        saved = open(spec["save"], "wb") if spec.get("save") else None  # noqa: SIM115 - closed below
        for chunk in response.iter_encoded():
            size += len(chunk)
            if saved is not None:
                saved.write(chunk)
        if saved is not None:
            saved.close()
        response.close()
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        status = response.status_code
    return {"seconds": timings[0], "again": timings[1] if len(timings) > 1 else None, "bytes": size,
            "cpu": cpu[0], "cpu_again": cpu[1] if len(cpu) > 1 else None, "load": os.getloadavg()[0],
            "status": status, "rss_mb": peak_rss_mb(), "rss_before_mb": before}


def specs(built: dict) -> list[tuple[str, dict]]:
    """Name every page and export to measure, with how to request it."""
    sid, code = built["session_id"], built["code"]
    export = {"url": f"/staff/review/{sid}/export", "form_index": 0}
    return [
        ("answers page", {"url": f"/staff/sessions/{sid}/answers"}),
        ("review page", {"url": f"/staff/review/{sid}"}),
        ("one theme's page", {"url": f"/staff/review/{sid}?theme={built['largest_theme']}"}),
        ("who was heard", {"url": f"/staff/review/{sid}/heard"}),
        ("history", {"url": f"/staff/review/{sid}/history"}),
        ("publish page", {"url": f"/staff/review/{sid}/publish"}),
        ("audit log", {"url": "/staff/audit"}),
        ("console", {"url": f"/staff/sessions/{sid}/live"}),
        ("console panel", {"url": f"/staff/sessions/{sid}/live/panel"}),
        ("projector panel", {"url": f"/staff/sessions/{sid}/projector/panel"}),
        ("results page (public)", {"url": f"/s/{code}/results", "public": True}),
        *[(f"export {fmt}", {**export, "form": {"format": fmt, "language": "en"}})
          for fmt in ("csv", "json", "xlsx", "codebook", "md", "html", "docx")],
    ]


def run_spec(built: dict) -> dict:
    """The theme run, requested as the review page's form posts it (both open questions)."""
    sid = built["session_id"]
    return {"url": f"/staff/review/{sid}/run", "form_page": f"/staff/review/{sid}",
            "form": {"prompt_ids": [str(p) for p in built["open_prompts"]]}, "repeat": 1,
            "form_index": built["run_form_index"]}


def in_child(database: Path, spec: dict) -> dict:
    """Measure one request in a fresh process (niced), so memory is the worker's own."""
    done = subprocess.run(
        ["nice", "-n", "10", sys.executable, __file__, "--measure", str(database), json.dumps(spec)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def session_facts(database: Path, built: dict) -> None:
    """Add the open questions, the run form's position and the largest theme to `built`."""
    from listening.db import connect, one, rows

    db = connect(str(database))
    built["open_prompts"] = [r["id"] for r in rows(
        db, "SELECT id FROM prompts WHERE session_id = ? AND kind = 'open' ORDER BY position", (built["session_id"],))]
    theme = one(db, """SELECT theme_id, count(*) AS n FROM theme_assignments WHERE session_id = ?
                       AND theme_id IS NOT NULL GROUP BY theme_id ORDER BY n DESC LIMIT 1""", (built["session_id"],))
    built["largest_theme"] = theme["theme_id"] if theme else 0
    built["answers"] = one(db, "SELECT count(*) AS n FROM responses WHERE session_id = ?", (built["session_id"],))["n"]
    db.conn.close()


def run_form_index(database: Path, built: dict) -> int:
    """Return the index of the review page's "run the engine" form among its POST forms."""
    from bs4 import BeautifulSoup

    app = make_app(database)
    client = app.test_client()
    soup = BeautifulSoup(client.get("/staff/login").get_data(as_text=True), "html.parser")
    token = soup.find("input", attrs={"name": "csrf_token"})
    client.post("/staff/login", data={"csrf_token": token["value"] if token else "", "email": ADMIN, "password": PASSWORD})
    soup = BeautifulSoup(client.get(f"/staff/review/{built['session_id']}").get_data(as_text=True), "html.parser")
    forms = soup.find_all("form", method=re.compile("post", re.I))
    return next(i for i, form in enumerate(forms) if str(form.get("action", "")).endswith("/run"))


# --- answering while the engine re-runs ----------------------------------------------------------


def new_resident_answers(db, session_id: int, statement_id: int, prompt_id: int, text: str, key: str) -> None:
    """Send one new resident's consent and open answer, as a phone does: two committed writes, each with its one-time key."""
    from listening import queries

    person = queries.record_consent(db, session_id, consent_version_id=statement_id, language="en", nonce=key,
                                    quote_ok=True, contact_ok=False, quote_scope="screen_and_reports")
    queries.save_response(db, session_id=session_id, participant_id=person.id, prompt_id=prompt_id,
                          nonce=f"{key}-answer", language="en", text=text)


def rerun(database: Path, session_id: int) -> None:
    """Re-run the theme engine on a session (in this process), as the review page's button does."""
    from analysis.review import queries as synthesis
    from listening.db import connect

    app = make_app(database)
    db = connect(str(database))
    with app.app_context():
        synthesis.run_themes(db, session_id, user_id=None)
    db.conn.close()


def answers_during_rerun(database: Path, built: dict, sentences: list[str]) -> dict:
    """Answer continuously (a new resident every 20 ms, consent then an open answer) while a re-run writes; return latencies."""
    from listening import queries
    from listening.db import connect

    db = connect(str(database))
    session = queries.session_by_id(db, built["session_id"])
    statement = queries.current_consent(db, session["id"], "en")
    answers = Answers(sentences, seed=99)
    worker = subprocess.Popen(["nice", "-n", "10", sys.executable, __file__, "--rerun", str(database), str(session["id"])],
                              cwd=ROOT)
    latencies: list[float] = []
    index = 0
    while worker.poll() is None:
        start = time.perf_counter()
        new_resident_answers(db, session["id"], statement["id"], built["open_prompts"][0], answers.next(), f"during-{index}")
        latencies.append(time.perf_counter() - start)
        index += 1
        time.sleep(0.02)
    db.conn.close()
    latencies.sort()
    return {"answers": len(latencies), "max_ms": 1000 * latencies[-1] if latencies else 0,
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0,
            "rerun_ok": worker.returncode == 0}


# --- a theme run as a background job while answers arrive (issue 19: long work off the request) ----------


CONTROL_S = 30  # seconds of answers with no job before the run is queued


def open_for_a_job(database: Path):
    """Return the app and a migrated connection for a kept bench database, with any job an earlier, stopped run of
    this benchmark left unfinished marked cancelled (it would hold the session)."""
    from listening import queries
    from listening.db import connect
    from listening.migrations import migrate

    app = make_app(database, JOBS_THRESHOLD=5000)
    db = connect(str(database))
    migrate(db)
    db.execute("UPDATE jobs SET state = 'cancelled', finished = ? WHERE state IN ('queued', 'running', 'cancelling')",
               (queries.now(),))
    db.conn.commit()
    return app, db

def time_lock_turns() -> tuple[list[float], Callable[[], None]]:
    """Time every turn this process takes on the write lock file from now on (`listening.db.ProcessTurn.take`): the
    seconds add up in the returned one-item list, which the caller sets back to 0 before each answer; the function
    returned with it puts the untimed turn back."""
    from listening import db as database_module

    waited = [0.0]
    real_take = database_module.ProcessTurn.take

    def timed_take(self, *args, **kwargs):
        """Take this process's turn on the lock file, adding the time it took to the answer's lock wait."""
        began = time.perf_counter()
        try:
            return real_take(self, *args, **kwargs)
        finally:
            waited[0] += time.perf_counter() - began

    database_module.ProcessTurn.take = timed_take
    return waited, lambda: setattr(database_module.ProcessTurn, "take", real_take)


def background_run(size: int, sentences: list[str], folder: Path) -> dict:
    """Queue a theme run as a job, run it in a `chorus jobs` consumer, and answer every 20 ms until it ends.

    Reuses `folder/big-SIZE.db` when it exists (built once by this script), else builds it. Returns the
    job's seconds, how long it waited in the queue, progress and time-left samples, and the answers' waits.
    """
    from listening import jobs, queries
    from listening.accounts import user_by_email

    database = folder / f"big-{size}.db"
    if not database.exists():
        built = build(database, size, sentences)
        print(f"# built {size} residents in {built['build_seconds']:.1f} s", flush=True)
    app, db = open_for_a_job(database)
    session = queries.session_by_code(db, db.execute("SELECT code FROM sessions ORDER BY id LIMIT 1").fetchone()[0])
    built = {"session_id": session["id"]}
    session_facts(database, built)
    env = {**os.environ, "CHORUS_DATABASE": str(database), "CHORUS_SECRET_KEY": SECRET}
    # The consumer runs at the benchmark's own priority, as `chorus serve` starts it beside the web workers: the
    # engine's thread lowers its own (`synthesis.at_low_priority`), and the writes residents wait for do not.
    consumer = subprocess.Popen([sys.executable, "-c", "from listening.cli import cli; cli(['jobs'])"], cwd=ROOT, env=env)
    statement = queries.current_consent(db, session["id"], "en")
    answers = Answers(sentences, seed=7)
    latencies: list[float] = []
    samples: list[tuple[float, float, int | None]] = []
    index, last_sample = 0, 0.0
    # Every statement the answer path runs, timed, and the write-ahead log's size around each answer: an
    # answer slower than 100 ms is kept with them, so that its wait can be told apart (the lock at BEGIN
    # IMMEDIATE, the fsync or a checkpoint at COMMIT, or Python in between).
    wal = Path(str(database) + "-wal")
    trace: list[tuple[float, str]] = []
    slow: list[dict] = []
    db.conn.set_trace_callback(lambda sql: trace.append((time.perf_counter(), " ".join(sql.split())[:50])))
    # The wait for the write lock, apart from the rest of an answer's time (a shared machine's CPU and disk): the
    # process turn on the lock file (`listening.db.ProcessTurn.take`) plus SQLite's BEGIN IMMEDIATE, per answer.
    turn_waited, untimed = time_lock_turns()
    lock_waits: list[tuple[float, float]] = []  # (seconds since queued, or -1 before, lock wait)

    def answer(index: int, nonce: str, since: float) -> float:
        """Send one new resident's consent and open answer (two committed writes); keep its statements if slow."""
        trace.clear()
        turn_waited[0] = 0.0
        wal_before = wal.stat().st_size if wal.exists() else 0
        cpu_before = time.process_time()
        start = time.perf_counter()
        new_resident_answers(db, session["id"], statement["id"], built["open_prompts"][0], answers.next(),
                             f"background-{nonce}-{index}")
        took = time.perf_counter() - start
        ends = [t for t, _ in trace[1:]] + [start + took]
        begins = sum(end - t for (t, sql), end in zip(trace, ends) if sql.startswith("BEGIN"))
        lock_waits.append((start - since if since else -1.0, turn_waited[0] + begins))
        if took > 0.1 and since:
            slowest = sorted(((end - t, sql) for (t, sql), end in zip(trace, ends)), reverse=True)[:3]
            slow.append({"s_since_queued": round(start - since, 1), "ms": round(1000 * took, 1),
                         "cpu_ms": round(1000 * (time.process_time() - cpu_before), 1),
                         "wal_mb_before_after": (round(wal_before / 2**20, 1), round((wal.stat().st_size if wal.exists() else 0) / 2**20, 1)),
                         "slowest_statements_ms": [(round(1000 * d, 1), sql) for d, sql in slowest]})
        return took

    # The machine's own waits first: the same answers for CONTROL_S seconds with no job (a shared disk's fsyncs
    # vary with the neighbours' work), so that the waits during the run can be read against them.
    control: list[float] = []
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    stamp = time.perf_counter()
    while time.perf_counter() - stamp < CONTROL_S:
        control.append(answer(len(control), f"control-{stamp:.0f}", 0.0))
        time.sleep(0.02)
    timed: list[tuple[float, float]] = []  # (seconds since queued, wait)
    try:
        with app.test_request_context():
            wanted = jobs.background_wanted(db, session["id"], app.config)
            job_id = jobs.submit(db, session["id"], "themes", {"prompt_ids": built["open_prompts"]},
                                 who=user_by_email(db, ADMIN)["id"])
        submitted = time.perf_counter()
        while True:
            start = time.perf_counter()
            latencies.append(answer(index, str(job_id), submitted))
            timed.append((start - submitted, latencies[-1]))
            index += 1
            if start - last_sample >= 5:
                last_sample = start
                job = jobs.job_by_id(db, job_id)
                samples.append((round(start - submitted, 1), round(job["progress"] / job["total"], 3) if job["total"] else 0.0,
                                jobs.estimate_seconds(db, job)))
                if job["state"] in jobs.FINISHED:
                    break
            time.sleep(0.02)
    finally:
        # The consumer's own memory once the job ended (a job runs in a child that exits: CHORUS_JOBS_IN_CHILD).
        consumer_own = proc_memory(consumer.pid)
        consumer.terminate()
        # The consumer's CPU time and peak memory, its job's child included (Linux counts a reaped child's).
        _pid, status, usage = os.wait4(consumer.pid, 0)
        consumer.returncode = os.waitstatus_to_exitcode(status)
    untimed()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    job = jobs.job_by_id(db, job_id)
    db.conn.close()
    placing = next((t - 5 for t, done, _left in samples if done >= 0.8), float("inf"))
    latencies.sort()
    seconds = lambda a, b: (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()  # noqa: E731
    return {"residents": size, "answers_in_session": built["answers"], "background": wanted, "state": job["state"],
            "queued_s": seconds(job["created"], job["started"]) if job["started"] else None,
            "job_s": seconds(job["started"], job["finished"]) if job["finished"] and job["started"] else None,
            "result": job["result"], "answers_sent": len(latencies),
            "consumer_cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "consumer_peak_mb": round(usage.ru_maxrss / 1024),
            "consumer_after_job_mb": consumer_own.get("VmRSS"), "consumer_own_peak_mb": consumer_own.get("VmHWM"),
            "answer_max_ms": round(1000 * latencies[-1], 1) if latencies else 0,
            "answer_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else 0,
            "answer_median_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else 0,
            "samples (s since queued, done, estimated s left)": samples,
            "answers over 100 ms": len(slow),
            # The placements begin at 4/5 of the bar (known to within one 5 s sample): waits while the engine only
            # reads and computes, against waits while the run writes, against the machine with no job at all.
            "answer waits by phase": {
                f"no job ({CONTROL_S} s before it was queued)": waits(control),
                "the engine working (the job writes nothing)": waits([w for t, w in timed if t < placing]),
                "the run writing its themes and placements": waits([w for t, w in timed if t >= placing])},
            # The same phases, counting only the wait for the write lock (process turn + BEGIN IMMEDIATE) in each answer.
            "write-lock waits by phase": {
                "no job": waits([w for t, w in lock_waits if t < 0]),
                "the engine working": waits([w for t, w in lock_waits if 0 <= t < placing]),
                "the run writing": waits([w for t, w in lock_waits if t >= placing])},
            "load average (1, 5, 15 min) before / after": (load_before, load_after),
            "the 20 slowest answers": sorted(slow, key=lambda found: -found["ms"])[:20]}


def proc_memory(pid: int) -> dict[str, int]:
    """Return a live process's resident memory now and at its peak (VmRSS, VmHWM), in MB; empty if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return {k: int(v.split()[0]) // 1024 for k, v in (line.split(":", 1) for line in handle)
                    if k in ("VmRSS", "VmHWM")}
    except OSError:
        return {}


def waits(found: list[float]) -> dict:
    """Return how many answers, their median, 99th percentile and longest wait (ms) and how many waited over 100 ms."""
    found = sorted(found)
    if not found:
        return {"answers": 0}
    return {"answers": len(found), "median_ms": round(1000 * found[len(found) // 2], 1),
            "p99_ms": round(1000 * found[int(0.99 * (len(found) - 1))], 1), "max_ms": round(1000 * found[-1], 1),
            "over_100_ms": sum(w > 0.1 for w in found)}


# --- one theme job, in this process, with the time of each phase (issue 19: where the run's time goes) -------


# What --profile-run times: (module, attribute), nested calls indented under their caller. Everything from the job
# starting to the engine's result, the engine's own steps, and the writes after it as one block each.
PROFILED = (("listening.jobs", "execute"), ("analysis.review.queries", "run_themes"),
            ("analysis.review.queries", "scope_prompt_ids"), ("analysis.review.queries", "open_answers"),
            ("analysis.review.queries", "answers_fingerprint"), ("analysis.review.queries", "session_redaction"),
            ("analysis.review.queries", "open_answer_rows"), ("analysis.review.queries", "engine_answers_of_rows"),
            ("analysis.review.queries", "rows_fingerprint"), ("analysis.review.queries", "_kept_columns"),
            ("analysis.review.queries", "reviewed_anchors"), ("analysis.review.queries", "engine_answers"),
            ("analysis.review.queries", "question_texts"), ("analysis.review.queries", "at_low_priority"),
            ("analysis.review.queries", "engine_warm_up"),
            ("analysis.themes", "find_themes"), ("analysis.themes", "_checked"), ("analysis.themes", "_prepare"),
            ("analysis.themes", "_in_two"), ("analysis.themes", "_described_in_two"),
            ("analysis.themes", "_sample"), ("analysis.themes", "_subset"), ("analysis.themes", "_index_terms"),
            ("analysis.themes", "_represent_sampled"), ("analysis.themes", "_fit_lsa"), ("analysis.themes", "_embed"),
            ("analysis.themes", "_project_rest"), ("analysis.themes", "_cluster"), ("analysis.themes", "_place_rest"),
            ("analysis.themes", "_secondary"), ("analysis.themes", "_describe_groups"), ("analysis.themes", "_widen"),
            ("listening.jobs", "Context.keep"), ("analysis.review.queries", "_write_run"),
            ("analysis.review.queries", "_place_answers"), ("analysis.review.queries", "latest_run"))


def result_digest(result) -> str:
    """Return a digest of everything an engine result holds (its repr: themes, assignment, texts, scores...)."""
    import hashlib

    return hashlib.sha256(repr(result).encode()).hexdigest()[:16]


def stored_digest(db, session_id: int) -> str:
    """Return a digest of what a run stored: every placement and every live theme's words."""
    import hashlib

    digest = hashlib.sha256()
    for query in ("SELECT response_id, theme_id, status, pinned, rank, quote FROM theme_assignments WHERE session_id = ? "
                  "ORDER BY response_id",
                  "SELECT id, kind, label, machine_label, top_terms, definition, coherence, mixed, claims, overlaps_theme_id, "
                  "subthemes, headline_from_translation FROM themes WHERE session_id = ? AND retired_at IS NULL ORDER BY id"):
        for row in db.execute(query, (session_id,)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:16]


def profile_run(source: Path, folder: Path, *, py_spy: Path | None = None, alone: bool = False) -> dict:
    """Copy the database `source` (and its jobs file) into `folder`, run one theme job on its first session in this
    process (as `chorus jobs`'s child would: `listening.jobs.execute` with the job's checkpoint), and return the
    wall and CPU seconds of each phase (PROFILED), nested, with digests of the engine's result and of what was stored.

    `py_spy`: also sample this process with py-spy (every thread, native frames off) into that file (raw stacks).
    `alone`: then run the engine again on the same answers and settings, in this process's main thread at its own
    priority with forking on (as `chorus themes` runs it), and give its time and whether its result is the same.
    """
    import functools
    import importlib
    import inspect
    import shutil
    import threading

    from listening import jobs
    from listening.db import connect

    database = folder / source.name
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    began = time.perf_counter()
    for suffix in ("", "-jobs.db", "-wal"):
        if Path(str(source) + suffix).exists():
            shutil.copyfile(str(source) + suffix, str(database) + suffix)
    copied = time.perf_counter() - began
    app, db = open_for_a_job(database)
    session_id = db.execute("SELECT id FROM sessions ORDER BY id LIMIT 1").fetchone()[0]
    prompt_ids = [r[0] for r in db.execute("SELECT id FROM prompts WHERE session_id = ? AND kind = 'open' ORDER BY id",
                                           (session_id,))]
    rows_: list[list] = []
    depth = threading.local()
    start = time.perf_counter()
    results: dict = {}

    def timed(label: str, function):
        """Wrap `function` to record its start, wall and CPU seconds (this process, every thread) and nesting."""
        @functools.wraps(function)
        def run(*a, **k):
            level = getattr(depth, "level", 0)
            row = [label, level, round(time.perf_counter() - start, 2), 0.0, 0.0, 1]
            rows_.append(row)
            depth.level = level + 1
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                value = function(*a, **k)
                if label == "find_themes" and "engine" not in results:
                    results["engine"] = value
                    if alone:  # its answers and settings, to run it again alone (not the job's progress reports)
                        results["inputs"] = (a, {key: v for key, v in k.items() if key != "on_step"})
                return value
            finally:
                depth.level = level
                row[3], row[4] = round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)
        return run

    originals = []
    for module_name, name in PROFILED:
        owner = importlib.import_module(module_name)
        holder, attr = (getattr(owner, name.split(".")[0]), name.split(".")[1]) if "." in name else (owner, name)
        if not hasattr(holder, attr):  # a function the version measured does not have
            continue
        originals.append((holder, attr, getattr(holder, attr)))
        setattr(holder, attr, timed(name, getattr(holder, attr)))
    # The engine thread's own start (at_low_priority runs find_themes in a thread of its own): nesting is per thread.
    real_thread_run = threading.Thread.run

    def inherit(self):
        depth.level = getattr(self, "_profile_level", 0)
        return real_thread_run(self)

    real_start = threading.Thread.start

    def start_thread(self):
        self._profile_level = getattr(depth, "level", 0)
        return real_start(self)

    threading.Thread.run, threading.Thread.start = inherit, start_thread
    spy = None
    if py_spy:
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(os.getpid()), "--rate", "50", "--format", "raw",
                                "--output", str(py_spy), "--nonblocking", "--subprocesses"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    # Python's cyclic garbage collector in this process (every thread): collections and seconds by generation.
    import gc

    collected: dict[int, list] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    collecting: dict[int, float] = {}

    def note_collection(phase: str, info: dict) -> None:
        """Add each collection's time to its generation's."""
        if phase == "start":
            collecting[threading.get_ident()] = time.perf_counter()
        elif threading.get_ident() in collecting:
            spent = collected[info["generation"]]
            spent[0] += 1
            spent[1] += time.perf_counter() - collecting.pop(threading.get_ident())

    gc.callbacks.append(note_collection)
    cpu0 = time.process_time()
    try:
        with app.test_request_context():
            from listening.accounts import user_by_email

            job_id = jobs.submit(db, session_id, "themes", {"prompt_ids": prompt_ids}, who=user_by_email(db, ADMIN)["id"])
            # In this process, not through the queue (which is where `chorus jobs` would take it from), as the job's
            # own child process runs it (`own_process`, where the version measured has it).
            own = {"own_process": True} if "own_process" in inspect.signature(jobs.execute).parameters else {}
            state = jobs.execute(connect(str(database), busy_timeout_ms=app.config["BUSY_TIMEOUT_MS"],
                                         synchronous=app.config["SQLITE_SYNCHRONOUS"]), job_id, **own)
    finally:
        total, cpu = time.perf_counter() - start, time.process_time() - cpu0
        threading.Thread.run, threading.Thread.start = real_thread_run, real_start
        gc.callbacks.remove(note_collection)
        for holder, attr, original in originals:
            setattr(holder, attr, original)
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
    job = jobs.job_by_id(db, job_id)
    out = {"database": str(source), "copied_s": round(copied, 1), "job": job_id, "state": state, "result": job["result"],
           "error": job["error"], "wall_s": round(total, 1), "cpu_s": round(cpu, 1),
           "children_cpu_s": round(sum(os.times()[2:4]), 1), "peak_mb": round(peak_rss_mb()),
           "load average before / after": (load_before, Path("/proc/loadavg").read_text().split()[:3]),
           "engine_digest": result_digest(results["engine"]) if "engine" in results else None,
           "stored_digest": stored_digest(db, session_id), "phases": merge_rows(rows_),
           "garbage collections (generation: count, s)": {g: (n, round(t, 2)) for g, (n, t) in collected.items()}}
    db.conn.close()
    if "inputs" in results:
        from analysis import forking
        from analysis.themes import find_themes

        args, kwargs = results.pop("inputs")
        engine = results.pop("engine")
        t0, c0, children = time.perf_counter(), time.process_time(), sum(os.times()[2:4])
        with forking.enable():
            again = find_themes(*args, **kwargs)
        out["engine alone, same answers"] = {
            "wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
            "children_cpu_s": round(sum(os.times()[2:4]) - children, 1), "same_result": repr(again) == repr(engine),
            "load after": Path("/proc/loadavg").read_text().split()[:3]}
    return out


def merge_rows(found: list[list]) -> list[str]:
    """Return the timed calls as lines, repeated calls of one function under one caller added up (with a count)."""
    merged: list[list] = []
    for label, level, at, wall, cpu, count in found:
        last = next((m for m in reversed(merged) if m[1] <= level), None)
        if last is not None and last[0] == label and last[1] == level:
            last[3] += wall
            last[4] += cpu
            last[5] += count
        else:
            merged.append([label, level, at, wall, cpu, count])
    return [f"{'  ' * level}{label}{f' x{count}' if count > 1 else ''}: at {at:.1f} s, {wall:.2f} s wall, {cpu:.2f} s CPU"
            for label, level, at, wall, cpu, count in merged]


# --- the whole run ------------------------------------------------------------------------------


def one_size(size: int, sentences: list[str], folder: Path) -> list[tuple[str, dict]]:
    """Build one session of `size` residents and measure the theme run and every page; return the rows."""
    database = folder / f"big-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    built = build(database, size, sentences)
    session_facts(database, built)
    print(f"# {size} residents: {built['answers']} answers built in {built['build_seconds']:.1f} s", flush=True)
    built["run_form_index"] = run_form_index(database, built)
    results = [("build: consent + 8 answers each", {"seconds": built["build_seconds"], "bytes": 0})]
    results.append(("theme run (2 questions)", in_child(database, run_spec(built))))
    prepare_synthesis(database, built["session_id"])
    session_facts(database, built)
    for label, spec in specs(built):
        results.append((label, in_child(database, spec)))
        print(f"  {label:<26} {format_cell(results[-1][1])}", flush=True)
    # Last, because every answer sent meanwhile adds a resident: the pages above see SIZE of them.
    during = answers_during_rerun(database, built, sentences)
    print(f"  answering during a re-run: {during}", flush=True)
    results.append((f"answer (consent + answer) during a re-run ({during['answers']} sent): max",
                    {"seconds": during["max_ms"] / 1000, "bytes": 0}))
    results.append(("answer during a re-run: 99th percentile", {"seconds": during["p99_ms"] / 1000, "bytes": 0}))
    return results


def format_cell(found: dict) -> str:
    """Format one measurement: seconds (and again), bytes, worker memory."""
    if "error" in found:
        return f"error: {found['error'][:60]}"
    parts = [f"{found['seconds']:.2f} s" if found["seconds"] >= 0.1 else f"{1000 * found['seconds']:.0f} ms"]
    if found.get("again") is not None:
        parts.append(f"again {found['again']:.2f} s")
    if found.get("bytes"):
        size = found["bytes"]
        parts.append(f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB")
    if found.get("rss_mb"):
        parts.append(f"worker {found['rss_mb']:.0f} MB")
    if found.get("status") and found["status"] >= 400:
        parts.append(f"HTTP {found['status']}")
    return ", ".join(parts)


def table(sizes: list[int], measured: dict[int, list[tuple[str, dict]]]) -> str:
    """Return the Markdown table of every page at every size."""
    labels = [label for label, _found in measured[sizes[0]]]
    lines = ["| page or action | " + " | ".join(f"{s:,} residents" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for index, label in enumerate(labels):
        lines.append(f"| {label} | " + " | ".join(format_cell(measured[s][index][1]) for s in sizes) + " |")
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, build and measure each size, print the table (and write it with --markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV of comments or a folder of comments.csv")
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--background", type=int, metavar="SIZE",
                        help="only run a theme run of SIZE residents as a background job (chorus jobs) while answers "
                             "arrive every 20 ms, and print the job's time and the longest answer wait "
                             "(reuses --keep DIR/big-SIZE.db)")
    parser.add_argument("--profile-run", type=Path, metavar="DB",
                        help="only copy DB (never changed; its -jobs.db too) into --keep DIR (else a temporary folder) "
                             "and run one theme job on its first session's open questions in this process, printing "
                             "each phase's wall and CPU seconds and digests of the result")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="with --profile-run: also sample it with py-spy (raw stacks)")
    parser.add_argument("--engine-alone", action="store_true",
                        help="with --profile-run: then run the engine again alone on the same answers and compare")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--rerun", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rerun:
        rerun(Path(args.rerun[0]), int(args.rerun[1]))
        return
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), json.loads(args.measure[1]))))
        return
    if args.profile_run:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="chorus-profile-"))
        folder.mkdir(parents=True, exist_ok=True)
        print(json.dumps(profile_run(args.profile_run, folder, py_spy=args.py_spy, alone=args.engine_alone), indent=1))
        return
    sentences = read_sentences(args.data)
    if args.background:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="chorus-big-"))
        folder.mkdir(parents=True, exist_ok=True)
        print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
        print(json.dumps(background_run(args.background, sentences, folder), indent=1))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="chorus-big-"))
    folder.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    measured = {size: one_size(size, sentences, folder) for size in args.sizes}
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"Measured {stamp} on {os.cpu_count()} cores, Python {platform.python_version()}, load average before "
            f"the run {load:.1f}; {len(sentences)} source sentences from {args.data.name}.\n\n"
            f"Command: `python bench/big_session.py --sizes {' '.join(map(str, args.sizes))}`\n\n")
    out = head + table(args.sizes, measured)
    print(out)
    if args.markdown:
        args.markdown.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
