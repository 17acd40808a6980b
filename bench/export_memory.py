"""Measure every export and heavy staff page of a built database: the worker's peak memory and seconds.

Usage:
    python bench/export_memory.py COPY.db [--only csv json ...] [--save DIR] [--repeat N]

COPY.db is a database built by `bench/big_session.py --keep DIR` (work on a copy: a measure signs in
and writes audit entries). Each export format the review blueprint offers (report: HTML, Word,
Markdown; data: CSV, Excel, JSON, codebook, votes; the REFI-QDA project, quoted and internal) and
each heavy page is requested in a fresh, niced Python process, as a gunicorn worker would serve it
(`big_session.measure`: the app imported, signed in, one warm-up request, then the request), with
the export run in the request (no background job). It prints a Markdown table: seconds, bytes,
the worker's peak resident memory (VmHWM) and the load average at the end of each measure.
With `--save DIR` each response body is kept as DIR/NAME (to compare outputs before and after a change:
`--compare DIR1 DIR2` prints which differ once the report's minute stamp and zip dates are set aside).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import sqlite3
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import big_session  # noqa: E402

EXPORTS = ("csv", "json", "xlsx", "codebook", "votes", "md", "html", "docx")
PAGES = ("review", "theme", "heard", "publish", "results", "answers")


def specs(database: Path) -> dict[str, dict]:
    """Return every export and page of the database's largest session, by name."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        sid, code, language = conn.execute(
            """SELECT s.id, s.code, json_extract(s.languages, '$[0]') FROM sessions s
               ORDER BY (SELECT count(*) FROM participants p WHERE p.session_id = s.id) DESC LIMIT 1""").fetchone()
        theme = conn.execute("""SELECT theme_id FROM theme_assignments WHERE session_id = ? AND theme_id IS NOT NULL
                                GROUP BY theme_id ORDER BY count(*) DESC LIMIT 1""", (sid,)).fetchone()
    export = {"url": f"/staff/review/{sid}/export", "form_page": f"/staff/review/{sid}/export"}
    found = {fmt: {**export, "form_index": 0 if fmt in ("md", "html", "docx") else 1,
                   "form": {"format": fmt, "language": language}} for fmt in EXPORTS}
    for answer_set in ("quoted", "internal"):
        found[f"qdpx-{answer_set}"] = {"url": f"/staff/review/{sid}/export/qdpx", "form_page": f"/staff/review/{sid}/export",
                                       "form_index": -1, "form": {"set": answer_set}}
    found.update({
        "review": {"url": f"/staff/review/{sid}"},
        "theme": {"url": f"/staff/review/{sid}?theme={theme[0] if theme else 0}"},
        "heard": {"url": f"/staff/review/{sid}/heard"},
        "publish": {"url": f"/staff/review/{sid}/publish"},
        "results": {"url": f"/s/{code}/results", "public": True},
        "answers": {"url": f"/staff/sessions/{sid}/answers"},
    })
    return found


def ensure_admin(database: Path) -> None:
    """Give the copy the bench's admin account if it has none (a database built elsewhere)."""
    from listening.accounts import create_user
    from listening.db import connect

    app = big_session.make_app(database)
    db = connect(str(database))
    with app.app_context():
        if not db.execute("SELECT 1 FROM users WHERE email = ?", (big_session.ADMIN,)).fetchone():
            create_user(db, big_session.ADMIN, big_session.PASSWORD, "admin")
    db.conn.close()


def cell(found: dict) -> str:
    """Format one measure as a table row's cells."""
    if "error" in found:
        return f"| error: {found['error']} | | | |"
    again = f", again {found['again']:.1f} s" if found.get("again") is not None else ""
    return (f"| {found['seconds']:.1f} s{again} (CPU {found['cpu']:.1f} s) | {found['bytes'] / 1e6:.2f} MB "
            f"| {found['rss_mb']:.0f} MB | {found['status']} | {found['load']:.1f} |")


def normalised(path: Path) -> list[tuple[str, bytes]]:
    """Return a saved output's parts with what changes every minute (the report's stamp, zip dates) set aside."""
    data = path.read_bytes()
    parts = []
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    else:
        parts = [("", data)]
    stamp = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( UTC|Z|\+00:00)?")
    guid = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
    return [(name, guid.sub(b"GUID", stamp.sub(b"STAMP", body))) for name, body in parts]


def compare(first: Path, second: Path) -> None:
    """Print, for each output saved in both folders, whether it is the same (stamps and zip dates aside)."""
    for path in sorted(first.iterdir()):
        other = second / path.name
        if not other.exists():
            print(f"{path.name}: only in {first}")
            continue
        same = path.read_bytes() == other.read_bytes()
        print(f"{path.name}: {'byte for byte the same' if same else 'the same but for stamps' if normalised(path) == normalised(other) else 'DIFFERENT'}")


def main() -> None:
    """Measure the named exports and pages (all by default) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, nargs="?")
    parser.add_argument("--only", nargs="+", help=f"names to measure ({', '.join(EXPORTS)}, qdpx-quoted, qdpx-internal, "
                                                  f"{', '.join(PAGES)})")
    parser.add_argument("--save", type=Path, help="keep each response body in this folder")
    parser.add_argument("--repeat", type=int, default=1, help="requests per worker (the second is 'again')")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("DIR1", "DIR2"))
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    ensure_admin(args.database)
    every = specs(args.database)
    names = args.only or list(every)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    print(f"`python bench/export_memory.py {args.database}` (load average before: {os.getloadavg()[0]:.1f})\n")
    print("| export or page | seconds | bytes | worker peak RSS | status | load after |\n|---|---|---|---|---|---|", flush=True)
    for name in names:
        spec = {**every[name], "repeat": args.repeat}
        if args.save:
            spec["save"] = str(args.save / name)
        print(f"| {name} " + cell(big_session.in_child(args.database, spec)), flush=True)


if __name__ == "__main__":
    main()
