"""Crash test under load: phones answer while the server is killed with SIGKILL and restarted.

Not a unit test: it prints figures and writes docs/crash.md. It starts `chorus serve` (gunicorn,
the production settings: gthread workers, SQLite WAL, synchronous=FULL) on 127.0.0.1 with a
temporary database, runs `--clients` simulated phones (threads, stdlib http.client) that consent
and answer one open question after another, and every `--interval` seconds kills the gunicorn
master and all its workers at once (kill -9 on the process group), then starts it again. A phone
whose request fails resends the *same* form (same nonce), as offline.js does. At the end every
answer that got a success response (302) must be in the database exactly once.

Rate limits are switched off for the run: every simulated phone shares one address and answers
far faster than a person, so the limits would measure themselves instead of the server.

    python bench/crash.py                       # 16 phones, 3 kills, about 30 s
    python bench/crash.py --clients 32 --kills 5 --interval 4 --workers 2 --threads 8
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROMPTS = 30
INPUT = re.compile(r"<input\b[^>]*>", re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database: Path) -> str:
    """Create the database with one open self-paced session of PROMPTS open questions; return its code."""
    from listening import queries
    from listening.db import connect
    from listening.migrations import migrate

    db = connect(str(database))
    migrate(db)
    found = queries.create_session(
        db, languages=["en"], mode="self_paced", timezone_name="UTC", created_by=None,
        texts={"title": {"en": "Crash test"}, "purpose": {"en": "Checking nothing is lost."},
               "consent": {"en": "Taking part is your choice."}},
    )
    for n in range(PROMPTS):
        queries.add_prompt(db, found["id"], kind="open", required=False, demographic=None,
                           texts={"en": f"Question {n + 1}"}, options={"en": []}, scale_labels={"en": ("", "")})
    queries.set_status(db, found["id"], "open")
    db.conn.close()
    return found["code"]


class Server:
    """`chorus serve` in its own process group, so one kill takes the master and every worker."""

    def __init__(self, env: dict, port: int, workers: int, threads: int, log: Path):
        """Remember how to start the server."""
        self.env, self.port, self.workers, self.threads, self.log = env, port, workers, threads, log
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start the server and return how many seconds it took to answer."""
        began = time.monotonic()
        chorus = Path(sys.executable).with_name("chorus")
        command = [str(chorus)] if chorus.exists() else [sys.executable, "-m", "listening.cli"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command + ["serve", "--port", str(self.port), "--workers", str(self.workers),
                           "--threads", str(self.threads)],
                env=self.env, stdout=log, stderr=log, start_new_session=True, cwd=str(ROOT))
        while time.monotonic() - began < 30:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                return time.monotonic() - began
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Chorus did not start; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, and reap the master."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server gracefully."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Phone:
    """One simulated phone: a cookie, a participant, and the answers the server acknowledged."""

    def __init__(self, number: int, port: int, code: str, stop: threading.Event):
        """Set up a phone that has not joined yet."""
        self.number, self.port, self.code, self.stop = number, port, code, stop
        self.cookie = ""
        self.acked: list[str] = []
        self.latencies: list[float] = []
        self.failures = 0
        self.resent = 0

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, str]:
        """Send one request with the phone's cookie; return status, Location and body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Cookie": self.cookie} if self.cookie else {}
            data = None
            if body is not None:
                data = urlencode(body)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("chorus="):
                    self.cookie = value.split(";", 1)[0]
            return response.status, response.getheader("Location", ""), text
        finally:
            conn.close()

    def until_done(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, str]:
        """Send a request, resending the very same one after a failure, until it gets an answer."""
        while True:
            try:
                return self.request(method, path, body)
            except (OSError, http.client.HTTPException):
                self.failures += 1
                if self.stop.is_set():
                    raise
                self.resent += 1
                time.sleep(0.2)

    def form(self, path: str) -> dict:
        """Load a page and return its form's hidden fields."""
        _status, _location, html = self.until_done("GET", path)
        fields = {}
        for tag in INPUT.findall(html):
            attrs = dict(ATTR.findall(tag))
            if attrs.get("type") == "hidden" and "name" in attrs:
                fields[attrs["name"]] = attrs.get("value", "")
        return fields

    def run(self) -> None:
        """Join, then answer question after question (a new participant after the last) until told to stop."""
        sequence = 0
        try:
            while not self.stop.is_set():
                self.cookie = ""
                consent = f"/s/{self.code}/consent"
                status, _location, _ = self.until_done("POST", consent, {**self.form(consent), "action": "agree",
                                                                         "take_part": "y"})
                if status != 302:
                    continue
                for number in range(1, PROMPTS + 1):
                    if self.stop.is_set():
                        return
                    path = f"/s/{self.code}/q/{number}"
                    fields = self.form(path)
                    text = f"crash-{self.number}-{sequence}-{secrets.token_hex(4)}"
                    sequence += 1
                    began = time.monotonic()
                    status, location, _ = self.until_done("POST", path, {**fields, "answer": text, "action": "next"})
                    onward = (f"/s/{self.code}/q/{number + 1}", f"/s/{self.code}/thanks")
                    if status == 302 and urlsplit(location).path in onward:
                        self.latencies.append(time.monotonic() - began)
                        self.acked.append(text)
        except (OSError, http.client.HTTPException):
            return


def check(database: Path, acked: list[str]) -> dict:
    """Count, for every acknowledged answer, how often it is in the database."""
    conn = sqlite3.connect(str(database))
    try:
        stored = {}
        for (text,) in conn.execute("SELECT text FROM responses WHERE text LIKE 'crash-%'"):
            stored[text] = stored.get(text, 0) + 1
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    missing = [t for t in acked if stored.get(t, 0) == 0]
    doubled = [t for t, n in stored.items() if n > 1]
    return {"acknowledged": len(acked), "stored": sum(stored.values()), "missing": len(missing),
            "duplicated": len(doubled), "unacknowledged_but_stored": len(set(stored) - set(acked)),
            "integrity": integrity}


def percentile(samples: list[float], fraction: float) -> float:
    """Return a percentile of the samples, in milliseconds."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(args: argparse.Namespace) -> dict:
    """Run the warm-up measurement and the kill-and-restart rounds; return the figures."""
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="chorus-crash-"))
    database = workdir / "crash.db"
    code = prepare(database)
    port = free_port()
    env = {**os.environ, "CHORUS_DATABASE": str(database), "CHORUS_SECRET_KEY": secrets.token_urlsafe(48),
           "CHORUS_HOST": "127.0.0.1", "CHORUS_RATELIMIT_ENABLED": "0", "CHORUS_SQLITE_SYNCHRONOUS": "FULL"}
    server = Server(env, port, args.workers, args.threads, workdir / "server.log")
    starts = [server.start()]
    stop = threading.Event()
    phones = [Phone(n, port, code, stop) for n in range(args.clients)]
    threads = [threading.Thread(target=phone.run, daemon=True) for phone in phones]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    warm = [latency for phone in phones for latency in phone.latencies]
    warm_rate = len(warm) / args.warmup
    kills = 0
    try:
        for _ in range(args.kills):
            time.sleep(args.interval)
            server.kill()
            kills += 1
            time.sleep(args.down)
            starts.append(server.start())
        time.sleep(args.interval)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        server.stop()
    acked = [text for phone in phones for text in phone.acked]
    result = check(database, acked)
    result.update({
        "clients": args.clients, "workers": args.workers, "threads": args.threads, "kills": kills,
        "warmup_seconds": args.warmup, "answers_per_second": round(warm_rate, 1),
        "p50_ms": round(percentile(warm, 0.50), 1), "p99_ms": round(percentile(warm, 0.99), 1),
        "failed_requests": sum(p.failures for p in phones), "resent": sum(p.resent for p in phones),
        "restart_seconds": round(max(starts[1:] or [0]), 2), "workdir": str(workdir),
        "load": round(os.getloadavg()[0], 1),
    })
    return result


def report(result: dict) -> str:
    """Format the figures as the Markdown kept in docs/crash.md."""
    verdict = "PASS" if result["missing"] == 0 and result["duplicated"] == 0 and result["integrity"] == "ok" else "FAIL"
    return "\n".join([
        f"**{verdict}**: {result['acknowledged']} answers acknowledged, {result['missing']} missing, "
        f"{result['duplicated']} stored twice, integrity {result['integrity']}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| simulated phones | {result['clients']} |",
        f"| gunicorn workers x threads | {result['workers']} x {result['threads']} |",
        f"| kill -9 of master and all workers | {result['kills']} |",
        f"| answering throughput before the first kill | {result['answers_per_second']} answers/s |",
        f"| answer latency p50 / p99 (POST to redirect) | {result['p50_ms']} ms / {result['p99_ms']} ms |",
        f"| requests that failed (server down) and were resent | {result['resent']} |",
        f"| answers acknowledged (302) | {result['acknowledged']} |",
        f"| answers stored | {result['stored']} |",
        f"| stored but never acknowledged (reply lost in the kill) | {result['unacknowledged_but_stored']} |",
        f"| acknowledged but missing | {result['missing']} |",
        f"| stored more than once | {result['duplicated']} |",
        f"| slowest restart until answering | {result['restart_seconds']} s |",
        f"| machine load average (1 min) at the end, CPU cores | {result['load']} on {os.cpu_count()} cores |",
        "",
        "The client threads share the machine with the server, so throughput and latency here are a",
        "floor, not a capacity figure; `bench/load.py` measures capacity. Most of a restart is Python",
        "importing the app (SciPy through analysis/equity.py).",
    ])


def main() -> int:
    """Parse arguments, run, print the figures and write docs/crash.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of undisturbed answering measured first")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between kills")
    parser.add_argument("--down", type=float, default=1.0, help="seconds the server stays down")
    parser.add_argument("--workdir", help="keep the database and server log here")
    parser.add_argument("--docs", default=str(ROOT / "docs" / "crash.md"), help="where to write the figures ('' to skip)")
    args = parser.parse_args()
    result = run(args)
    text = report(result)
    print(text)
    if args.docs:
        path = Path(args.docs)
        head = path.read_text(encoding="utf-8").split("<!-- figures -->")[0] if path.exists() else ""
        if head:
            command = " ".join(["python", "bench/crash.py", *sys.argv[1:]])
            path.write_text(f"{head}<!-- figures -->\nLast run: `{command}`\n\n{text}\n", encoding="utf-8")
    return 0 if result["missing"] == 0 and result["duplicated"] == 0 and result["integrity"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
