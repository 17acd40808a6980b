"""The erasure ledger: a content-free record of every withdrawal, retention purge and undone import.

A backup taken before a withdrawal still holds the person's words. So that restoring it does not
bring them back, each withdrawal, purge and import undo is written, in the same transaction, to the
`erasure_ledger` table: what kind, which session (its code), which participant (the receipt
hash the participants table already holds; '' for a purge; the file's SHA-256 for an import undo)
and when. Nothing anyone said, no contact detail and no receipt code is kept.

After the transaction commits, `settle` copies the new lines to a file beside the database
(`<database>.erasures.jsonl`, owner-only, one JSON object a line) and checkpoints the
write-ahead log, so the deleted rows leave no older copy in `-wal`. The file outlives a damaged
database; `chorus restore` reads the ledger from the database it replaces, from this file and
from any `--ledger` it is given, re-applies every entry to the restored copy (`backup.reapply`)
and keeps the merged ledger in it.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import sqlite_utils

from .db import PRIVATE_MODE, checkpoint, database_path

KINDS = ("withdrawal", "retention_purge", "import_undo")
LEDGER_SUFFIX = ".erasures.jsonl"
SQLITE_HEADER = b"SQLite format 3\x00"

log = logging.getLogger("chorus.erasures")

# Databases whose write-ahead log still holds pages from before a deletion because readers
# kept the checkpoint from finishing; the next request tries again (see `retry_checkpoints`).
_unsettled: set[str] = set()
_unsettled_lock = threading.Lock()


@dataclass(frozen=True, order=True)
class Erasure:
    """One withdrawal, purge or import undo: when, what kind, which session, and which participant (by
    receipt hash) or, for an import undo, which file (by its SHA-256, in the same field)."""

    at: str
    kind: str
    session_code: str
    receipt_hash: str = ""


def ledger_path(database: str | Path) -> Path:
    """Return the ledger file that sits beside a database file."""
    return Path(str(database) + LEDGER_SUFFIX)


def exports_folder(database: str | Path) -> Path:
    """Return the folder beside a database file where export jobs keep their files (copies of answers)."""
    return Path(f"{database}-exports")


def export_file(database: str | Path, job_id: int) -> Path:
    """Return where an export job keeps its file."""
    return exports_folder(database) / f"job-{int(job_id)}.bin"


def checkpoint_file(database: str | Path, job_id: int) -> Path:
    """Return where a resumable job (a theme run) keeps what its engine found until it has written it (m044)."""
    return exports_folder(database) / f"job-{int(job_id)}.resume"


def forget_exports(db: sqlite_utils.Database, database: str | Path, codes: Iterable[str]) -> int:
    """Delete the files export jobs made of these sessions, and the checkpoints of their theme runs; return how many went.

    An export made before a withdrawal, a purge or an undone import holds the erased words: it must
    not wait (up to a day) for someone to try to download it. A campaign's export or "who was heard"
    file counts the session among others (`job_sessions`, m033) and goes too. A theme run's checkpoint
    (the engine's themes, named from the answers it read) goes as well: the run, if it is still going,
    finishes in memory, and after a restart it starts again instead of continuing (issue 19).
    """
    codes = sorted(set(codes))
    if not codes or not exports_folder(database).is_dir():
        return 0
    marks = ", ".join("?" for _ in codes)
    ids: set[int] = set()
    for sql in (f"SELECT j.id FROM jobs j JOIN sessions s ON s.id = j.session_id WHERE s.code IN ({marks})",
                f"SELECT js.job_id FROM job_sessions js JOIN sessions s ON s.id = js.session_id WHERE s.code IN ({marks})"):
        try:
            ids.update(row[0] for row in db.execute(sql, codes))
        except sqlite3.OperationalError:  # a database from before background jobs (m028) or campaign jobs (m033)
            continue
    return _unlink_each(path for job_id in sorted(ids) for path in (export_file(database, job_id), checkpoint_file(database, job_id)))


def forget_every_job_file(database: str | Path) -> int:
    """Delete every export and theme-run checkpoint file beside a database; return how many went.

    A restore replaces the database these files belong to: the restored copy numbers its jobs again from the
    backup's, so a finished export of the backup would be served the file another job (another session) wrote
    under the same id, and a file of answers given after the backup would outlive them.
    """
    folder = exports_folder(database)
    if not folder.is_dir():
        return 0
    return _unlink_each(path for pattern in ("job-*.bin", "job-*.resume", "job-*.partial") for path in folder.glob(pattern))


def _unlink_each(paths: Iterable[Path]) -> int:
    """Delete each of these files that is there; return how many went."""
    gone = 0
    for path in paths:
        try:
            path.unlink()
            gone += 1
        except FileNotFoundError:
            continue
    return gone


def record(db: sqlite_utils.Database, erasure: Erasure) -> None:
    """Add an erasure to the ledger table, inside the caller's transaction; a repeat changes nothing."""
    if erasure.kind not in KINDS:
        raise ValueError(f"Unknown erasure kind {erasure.kind!r}")
    db.execute(
        "INSERT OR IGNORE INTO erasure_ledger (kind, session_code, receipt_hash, at) VALUES (?, ?, ?, ?)",
        (erasure.kind, erasure.session_code, erasure.receipt_hash, erasure.at),
    )


def settle(db: sqlite_utils.Database, erasures: Iterable[Erasure]) -> bool:
    """After a committed deletion: copy its ledger lines to the file, delete export files of the sessions it touched
    (:func:`forget_exports`) and truncate the write-ahead log.

    Returns whether the log was truncated; if readers held it, the next request tries again.
    """
    erasures = list(erasures)
    path = database_path(db)
    if not path:
        return checkpoint(db)
    try:
        append_file(ledger_path(path), erasures)
    except OSError:
        # The table (in the same transaction as the deletion) still has it; restore reads both.
        log.exception("Could not write the erasure ledger file beside %s", path)
    try:
        forget_exports(db, path, (e.session_code for e in erasures))
    except OSError:
        log.exception("Could not delete export files beside %s after an erasure", path)
    if checkpoint(db):
        return True
    with _unsettled_lock:
        _unsettled.add(path)
    log.warning("Write-ahead log of %s still held by readers after a deletion; will checkpoint again", path)
    return False


def retry_checkpoints(db: sqlite_utils.Database) -> None:
    """Checkpoint again a database whose last post-deletion checkpoint could not finish."""
    if not _unsettled:
        return
    path = database_path(db)
    with _unsettled_lock:
        if path not in _unsettled:
            return
        if checkpoint(db):
            _unsettled.discard(path)


def _line(erasure: Erasure) -> str:
    """Write one erasure as a JSON line."""
    return json.dumps(asdict(erasure), sort_keys=True) + "\n"


def append_file(path: Path, erasures: Iterable[Erasure]) -> None:
    """Append erasures to a ledger file (created owner-only), each line in one write, then sync it."""
    lines = "".join(_line(e) for e in erasures)
    if not lines:
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_MODE)
    try:
        os.write(descriptor, lines.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file(path: Path, erasures: Iterable[Erasure]) -> None:
    """Replace a ledger file with exactly these erasures, atomically and owner-only."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("".join(_line(e) for e in sorted(set(erasures))))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _erasure(data: dict) -> Erasure | None:
    """Build an erasure from a row or a parsed line, or None if it is not one."""
    try:
        erasure = Erasure(at=str(data["at"]), kind=str(data["kind"]), session_code=str(data["session_code"]),
                          receipt_hash=str(data.get("receipt_hash") or ""))
    except (KeyError, TypeError):
        return None
    if erasure.kind not in KINDS or not erasure.at or not erasure.session_code:
        return None
    if erasure.kind in ("withdrawal", "import_undo") and not erasure.receipt_hash:
        return None
    return erasure


def read_file(path: Path) -> list[Erasure]:
    """Read a ledger file; lines that are not ledger entries (a torn last write) are skipped."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            erasure = _erasure(json.loads(line))
        except ValueError:
            continue
        if erasure is not None:
            found.append(erasure)
    return found


def read_table(conn: sqlite3.Connection) -> list[Erasure]:
    """Read the ledger table of an open database ([] if it has none yet)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasure_ledger'").fetchone() is None:
        return []
    cursor = conn.execute("SELECT kind, session_code, receipt_hash, at FROM erasure_ledger")
    names = [column[0] for column in cursor.description]
    return [e for e in (_erasure(dict(zip(names, row))) for row in cursor.fetchall()) if e is not None]


def read_database(path: Path) -> list[Erasure]:
    """Read the ledger table of a database or backup file."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        return read_table(conn)
    finally:
        conn.close()


def read_any(path: Path) -> list[Erasure]:
    """Read a ledger from a ledger file, or from a Chorus database or backup."""
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    return read_database(path) if header == SQLITE_HEADER else read_file(path)


def init_app(app) -> None:
    """Retry, on the next request, a post-deletion checkpoint that readers kept from finishing."""

    @app.before_request
    def settle_unsettled() -> None:
        """Checkpoint this app's database again if a deletion left it unsettled."""
        if _unsettled:
            from .db import get_db

            retry_checkpoints(get_db())
