"""Rate-limit storage benchmark: what counting in a shared SQLite file costs, and that it counts once.

Not a test: it prints figures (and writes them to docs/load.md). Three parts, each bounded:

1. Storage: microseconds per `hit` and per `test` of Flask-Limiter's fixed window, in one
   process, on `memory://` and on the SQLite file Chorus uses by default.
2. Counting across workers: Chorus under gunicorn (2 workers, as the README recommends) with
   limits on, once per storage. Unknown join codes (limit 30 a minute per address) and wrong
   receipt codes (10 a minute per phone) are sent taking turns between the workers (each
   response names its worker, in this bench only); it reports how many got through before the
   first 429, and in all.
3. Cost under load: closed loops load the join page and post answers as fast as the server
   takes them, with limits off, on `memory://` and on SQLite; the three servers take turns
   several times (the machine's other work drifts), and medians are reported. Each request comes from its own
   address (X-Forwarded-For from the 198.18.0.0/15 benchmarking range, one trusted proxy), so
   every request writes two new counters and none is refused.

    python bench/ratelimits.py               # about two minutes
    python bench/ratelimits.py --rounds 1 --no-docs
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402 - after the path is set
    Connection,
    free_port,
    hidden_fields,
    join,
    Pool,
    prepare_chorus,
    saturate,
    start_gunicorn,
    stop,
)

BENCH_NET = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544: for benchmarks; only ever a header value here


def storage_costs(work: Path, operations: int) -> dict[str, dict[str, float]]:
    """Return microseconds per fixed-window hit and test on memory:// and on the SQLite storage."""
    from limits import RateLimitItemPerMinute
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from listening import limits_sqlite

    item = RateLimitItemPerMinute(10**9)
    out = {}
    for name, uri in (("memory://", "memory://"), ("SQLite file", limits_sqlite.uri_for(work / "micro.db"))):
        limiter = FixedWindowRateLimiter(storage_from_string(uri, **({"secret": "k"} if "sqlite" in uri else {})))
        keys = [f"198.18.{n // 250}.{n % 250}|abcdef" for n in range(1000)]
        began = time.perf_counter()
        for n in range(operations):
            limiter.hit(item, keys[n % len(keys)], "bench")
        hit = (time.perf_counter() - began) / operations * 1e6
        began = time.perf_counter()
        for n in range(operations):
            limiter.test(item, keys[n % len(keys)], "bench")
        test = (time.perf_counter() - began) / operations * 1e6
        out[name] = {"hit": hit, "test": test}
    return out


def identified_app():
    """Chorus as `chorus serve` runs it, each response naming the worker process that made it (for this bench only)."""
    from listening.app import create_app

    app = create_app()
    inner = app.wsgi_app

    def named(environ, start_response):
        """Add X-Bench-Worker to the response."""
        def start(status, headers, exc_info=None):
            """Pass the response on with the worker's process id."""
            return start_response(status, [*headers, ("X-Bench-Worker", str(os.getpid()))], exc_info)

        return inner(environ, start)

    app.wsgi_app = named
    return app


async def connections_per_worker(port: int, workers: int, each: int = 4) -> list[list[Connection]]:
    """Open keep-alive connections until every worker process holds `each` of them; return them by worker."""
    found: dict[str, list[Connection]] = {}
    for _attempt in range(50):
        batch = [Connection(port) for _ in range(8)]
        answers = await asyncio.gather(*(conn.request("GET", "/static/chorus.css") for conn in batch))
        for conn, (_status, headers, _body) in zip(batch, answers):
            owner = found.setdefault(headers["x-bench-worker"][0], [])
            if len(owner) < each:
                owner.append(conn)
            else:
                conn.close()
        if len(found) >= workers and all(len(c) >= each for c in found.values()):
            return list(found.values())
    raise RuntimeError(f"could not reach {workers} workers: {sorted(found)}")


async def through_before_refused(port: int, make, attempts: int, workers: int) -> tuple[int, dict[int, int]]:
    """Send `attempts` requests taking turns between the worker processes; return how many passed
    before the first 429, and every status."""
    pools = await connections_per_worker(port, workers)
    passed, refused, statuses = 0, False, {}
    try:
        for n in range(attempts):
            method, path, headers, body = make(n)
            pool = pools[n % len(pools)]
            status, _, _ = await pool[(n // len(pools)) % len(pool)].request(method, path, headers, body)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 429:
                refused = True
            elif not refused:
                passed += 1
    finally:
        for pool in pools:
            for conn in pool:
                conn.close()
    return passed, statuses


async def counting(port: int, workers: int) -> dict:
    """Guess join codes and receipt codes against a running server; return what got through."""
    codes, code_statuses = await through_before_refused(
        port, lambda n: ("GET", f"/j/ZZ{n:04d}", {}, b""), 160, workers)
    conn = Connection(port)
    status, headers, body = await conn.request("GET", "/withdraw")
    conn.close()
    cookie = next(v.split(";", 1)[0] for v in headers.get("set-cookie", []) if v.startswith("chorus="))
    fields = hidden_fields(body.decode())

    def guess(n: int):
        """A wrong receipt code from the same phone (same cookie)."""
        data = urlencode({**fields, "receipt": f"ABCD-EFGH-{n:04d}", "confirm": "y"}).encode()
        return "POST", "/withdraw", {"Cookie": cookie}, data

    receipts, receipt_statuses = await through_before_refused(port, guess, 60, workers)
    return {"codes": codes, "code_statuses": code_statuses, "receipts": receipts, "receipt_statuses": receipt_statuses}


async def residents(port: int, code: str) -> list:
    """Have 64 phones agree to take part, so they can post answers."""
    setup = Pool(port, 16)
    people = await asyncio.gather(*(join(setup, code) for _ in range(64)))
    setup.close()
    return people


def request_makers(code: str, people: list, concurrency: int) -> dict:
    """Return the two kinds of request the load phase sends, each from a new address."""
    counter = iter(range(10**9))

    def address() -> dict:
        """A new address for each request, as if behind one trusted proxy."""
        return {"X-Forwarded-For": str(BENCH_NET[1 + next(counter) % (BENCH_NET.num_addresses - 2)])}

    def join_page(index, n):
        """Load the join page."""
        return "GET", f"/j/{code}", address(), b"", None

    def answer(index, n):
        """Post a new answer form for one of the residents."""
        person = people[(index + n * concurrency) % len(people)]
        nonce = secrets.token_urlsafe(12)
        body = urlencode({**person.form, "nonce": nonce, "answer": f"bench {nonce}", "action": "next"}).encode()
        return "POST", f"/s/{code}/q/1", {"Cookie": person.cookie, **address()}, body, nonce

    return {"join page": join_page, "answer": answer}


async def load_rounds(servers: dict, *, rounds: int, seconds: float, concurrency: int) -> dict:
    """Saturate every server in turn, `rounds` times in rotating order; return each one's median figures."""
    makers = {label: request_makers(code, await residents(port, code), concurrency)
              for label, (port, code) in servers.items()}
    labels = list(servers)
    runs: dict = {label: {"join page": [], "answer": []} for label in labels}
    for turn in range(rounds):
        for label in labels[turn % len(labels):] + labels[:turn % len(labels)]:
            for phase, maker in makers[label].items():
                result = await saturate(servers[label][0], maker, seconds=seconds, concurrency=concurrency)
                result["refused"] = sum(1 for status, _ in result.pop("results") if status >= 400)
                runs[label][phase].append(result)
    out: dict = {}
    for label, phases in runs.items():
        out[label] = {}
        for phase, results in phases.items():
            rps = [r["rps"] for r in results]
            out[label][phase] = {"rps": statistics.median(rps), "low": min(rps), "high": max(rps),
                                 "p50": statistics.median(r["p50"] for r in results),
                                 "p95": statistics.median(r["p95"] for r in results),
                                 "refused": sum(r["refused"] for r in results)}
    return out


def server(storage: str | None, work: Path, *, workers: int, threads: int,
           target: str = "listening.app:create_app()") -> tuple:
    """Start Chorus on a fresh database with limits off (None) or on the given storage; return (process, port, code, db)."""
    database = work / f"{(storage or 'off').replace(':', '').replace('/', '')}-{secrets.token_hex(3)}" / "chorus.db"
    database.parent.mkdir()
    code = prepare_chorus(str(database))
    port = free_port()
    env = {"CHORUS_DATABASE": str(database), "CHORUS_SECRET_KEY": secrets.token_hex(32), "CHORUS_LANGUAGES": "en",
           "CHORUS_TRUSTED_PROXIES": "1", "CHORUS_RATELIMIT_ENABLED": "0" if storage is None else "1",
           "CHORUS_RATELIMIT_STORAGE": storage or ""}
    process = start_gunicorn(target, port, env, workers=workers, threads=threads)
    return process, port, code, database


def run(args: argparse.Namespace) -> dict:
    """Run the three parts and return their figures."""
    work = Path(tempfile.mkdtemp(prefix="chorus-ratelimits-"))
    result = {"args": vars(args), "load_before": os.getloadavg()[0],
              "storage": storage_costs(work, args.operations), "counting": {}, "load": {}, "file_kib": None}
    print("Storage costs measured; counting across workers ...", flush=True)
    for label, storage in (("memory://", "memory://"), ("SQLite file (default)", "")):
        process, port, _code, database = server(storage, work, workers=args.workers, threads=args.threads,
                                                target="bench.ratelimits:identified_app()")
        try:
            # Without a trusted proxy header every request is 127.0.0.1, one address, as a guesser is.
            counted = asyncio.run(counting(port, args.workers))
        finally:
            stop(process)
        result["counting"][label] = counted
    print("Saturating with limits off, memory:// and SQLite, in turn ...", flush=True)
    started = {label: server(storage, work, workers=args.workers, threads=args.threads)
               for label, storage in (("limits off", None), ("memory://", "memory://"), ("SQLite file (default)", ""))}
    try:
        result["load"] = asyncio.run(load_rounds({label: (port, code) for label, (_p, port, code, _d) in started.items()},
                                                 rounds=args.rounds, seconds=args.saturate, concurrency=args.concurrency))
    finally:
        for process, *_rest in started.values():
            stop(process)
    counters = started["SQLite file (default)"][3].with_name("chorus-ratelimits.db")
    result["file_kib"] = sum(p.stat().st_size for p in counters.parent.glob("chorus-ratelimits.db*")) / 1024
    return result


def report(result: dict) -> str:
    """Format the figures as Markdown."""
    a = result["args"]
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}, gunicorn gthread {a['workers']} workers x {a['threads']} threads; load average "
        f"before the run {result['load_before']:.1f}.",
        "",
        f"Command: `python bench/ratelimits.py --operations {a['operations']} --saturate {a['saturate']:g} "
        f"--rounds {a['rounds']} --concurrency {a['concurrency']} --workers {a['workers']} --threads {a['threads']}`",
        "",
        "**Storage alone** (one thread, fixed window, 1,000 keys):",
        "",
        "| storage | µs per hit (write) | µs per test (read) |",
        "|---|---|---|",
    ]
    for name, row in result["storage"].items():
        lines.append(f"| {name} | {row['hit']:.1f} | {row['test']:.1f} |")
    lines += ["", "**Counting across workers** (guesses from one address, taking turns between the two workers; "
              "limits: 30 unknown codes a minute per address, 10 wrong receipts a minute per phone):", "",
              "| storage | unknown codes (limit 30): before the first 429 / in all, of 160 | "
              "wrong receipts (limit 10): before the first 429 / in all, of 60 |",
              "|---|---|---|"]
    for name, row in result["counting"].items():
        lines.append(f"| {name} | {row['codes']} / {row['code_statuses'].get(404, 0)} | "
                     f"{row['receipts']} / {row['receipt_statuses'].get(404, 0)} |")
    lines += ["", f"**Cost under load** ({a['concurrency']} closed loops, {a['saturate']:g} s per phase, the three "
              f"servers taking turns {a['rounds']} times; medians, with the lowest and highest req/s; every "
              "request from a new address so each writes two new counters):", "",
              "| limits | join page req/s (range) | p50 ms | p95 ms | answer req/s (range) | p50 ms | p95 ms | refused |",
              "|---|---|---|---|---|---|---|---|"]
    for name, row in result["load"].items():
        j, w = row["join page"], row["answer"]
        lines.append(f"| {name} | {j['rps']:.0f} ({j['low']:.0f}–{j['high']:.0f}) | {j['p50']:.1f} | {j['p95']:.1f} | "
                     f"{w['rps']:.0f} ({w['low']:.0f}–{w['high']:.0f}) | {w['p50']:.1f} | {w['p95']:.1f} | "
                     f"{j['refused'] + w['refused']} |")
    if result["file_kib"] is not None:
        lines += ["", f"The counters file held {result['file_kib']:.0f} KiB after the SQLite run (its WAL included); "
                  "expired counters are swept as it is used."]
    return "\n".join(lines)


def write_docs(text: str, path: Path) -> None:
    """Keep the latest figures in docs/load.md between their own markers, leaving the rest alone."""
    start, end = "<!-- ratelimits:start -->", "<!-- ratelimits:end -->"
    page = path.read_text(encoding="utf-8")
    if start not in page:
        page += f"\n{start}\n{end}\n"
    before, rest = page.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def main() -> int:
    """Parse flags, run, print and keep the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=20000, help="storage operations per kind (default 20000)")
    parser.add_argument("--saturate", type=float, default=3, help="seconds per load phase (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each server takes under load (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed loops under load (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--no-docs", action="store_true", help="print only; do not update docs/load.md")
    args = parser.parse_args()
    text = report(run(args))
    print(text)
    if not args.no_docs:
        write_docs(text, ROOT / "docs" / "load.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
