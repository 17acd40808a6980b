"""Show what gunicorn's worker restarts (CHORUS_MAX_REQUESTS) do to a worker's memory after a heavy request.

Usage:
    python bench/recycle.py COPY.db [--max-requests 6] [--format md]

Starts gunicorn as `chorus serve` configures it (one gthread worker, `max_requests` as given, no
jitter) on a copy of a big database (built by `bench/big_session.py --keep DIR`, which has the bench's
admin account), signs in over HTTP, makes one export in the request (CHORUS_JOBS_THRESHOLD set
high), then light requests until the worker has served `--max-requests`; it prints the worker's
process id and resident memory (VmRSS, and its peak VmHWM) after each step, so the memory a heavy
request left behind, and what a restart gives back, can be read off.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import big_session  # noqa: E402

PORT = 5931


def workers(master: int) -> list[int]:
    """Return the gunicorn master's worker processes."""
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout.split()
    return [int(pid) for pid in found]


def memory(pid: int) -> str:
    """Return a process's resident memory now and at its peak, in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return f"worker {pid}: {values.get('VmRSS', 0):.0f} MB now, peak {values.get('VmHWM', 0):.0f} MB"


def token(session: requests.Session, url: str) -> str:
    """Return the CSRF token of a page's form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', session.get(url, timeout=600).text).group(1)


def main() -> None:
    """Start gunicorn, make the heavy request and the light ones, and print the worker's memory after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--max-requests", type=int, default=6)
    parser.add_argument("--format", default="md")
    args = parser.parse_args()
    env = {**os.environ, "CHORUS_DATABASE": str(args.database), "CHORUS_SECRET_KEY": big_session.SECRET,
           "CHORUS_JOBS_THRESHOLD": str(10**9), "CHORUS_RATELIMIT_ENABLED": "0", "CHORUS_SECURE_COOKIES": "0"}
    server = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "2",
         "--max-requests", str(args.max_requests), "--max-requests-jitter", "0", "--timeout", "900",
         "-b", f"127.0.0.1:{PORT}", "wsgi:app"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(120):
            try:
                requests.get(f"{base}/staff/login", timeout=60)
                break
            except requests.RequestException:
                time.sleep(0.5)
        print(f"load average {os.getloadavg()[0]:.1f}; max requests {args.max_requests}")
        browser = requests.Session()
        browser.post(f"{base}/staff/login", data={"csrf_token": token(browser, f"{base}/staff/login"),
                                                  "email": big_session.ADMIN, "password": big_session.PASSWORD}, timeout=60)
        print("after signing in:", *(memory(pid) for pid in workers(server.pid)))
        start = time.perf_counter()
        reply = browser.post(f"{base}/staff/review/1/export", timeout=900, data={
            "csrf_token": token(browser, f"{base}/staff/review/1/export"), "format": args.format, "language": "en"})
        print(f"after the {args.format} export ({reply.status_code}, {len(reply.content)} bytes, "
              f"{time.perf_counter() - start:.1f} s):", *(memory(pid) for pid in workers(server.pid)))
        for n in range(args.max_requests + 2):
            browser.get(f"{base}/staff/", timeout=60)
            time.sleep(0.5)
            print(f"after light request {n + 1}:", *(memory(pid) for pid in workers(server.pid)))
        print(f"load average {os.getloadavg()[0]:.1f}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
