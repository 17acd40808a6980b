"""Online backup and restore of the Chorus database with SQLite's backup API.

`backup` copies a consistent snapshot while the app keeps serving (the backup API restarts
its copy if another connection writes mid-way, and WAL readers never block writers). Backups
are created readable by their owner only. `restore` checks a backup first (integrity and
migration state), refuses to overwrite a database unless told to, brings the copy up to this
version's schema, and then honours every withdrawal and retention purge made after the backup
was taken: it gathers the erasure ledger from the database it replaces, from the ledger file
beside it and from any other ledger it is given, re-applies each entry (`reapply`), keeps the
merged ledger, vacuums the copy so no deleted page survives in it, and signs every staff
member out (their cookies may have been revoked after the backup).
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import sqlite_utils

from . import erasures
from .db import PRIVATE_MODE, checkpoint, connect, one, rows, transaction
from .erasures import Erasure
from .migrations import migrate, migrations

MIGRATIONS_TABLE = "_sqlite_migrations"


class BackupError(Exception):
    """A backup or restore that cannot be done safely, with a message for the operator."""


@dataclass(frozen=True)
class Check:
    """What a database file holds: whether it is sound and which migrations it has."""

    path: Path
    ok: bool
    problem: str
    applied: tuple[str, ...]
    unknown: tuple[str, ...]
    pending: tuple[str, ...]


def default_name(at: datetime | None = None) -> str:
    """Return a sortable file name for a backup taken now."""
    at = at or datetime.now(timezone.utc)
    return f"chorus-{at.strftime('%Y%m%dT%H%M%SZ')}.db"


def _open(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """Open a database file, read-only when asked, without creating it by accident."""
    if readonly:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(str(path), timeout=30)


def check(path: str | Path) -> Check:
    """Check a database file's integrity and compare its migrations with this version of Chorus."""
    path = Path(path)
    if not path.is_file():
        return Check(path, False, f"{path} does not exist", (), (), ())
    try:
        conn = _open(path, readonly=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            applied: tuple[str, ...] = ()
            if MIGRATIONS_TABLE in tables:
                applied = tuple(row[0] for row in conn.execute(
                    f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid",
                    (migrations.name,)))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return Check(path, False, f"{path} is not a readable SQLite database ({exc})", (), (), ())
    messages = [row[0] for row in result]
    if messages != ["ok"]:
        return Check(path, False, "integrity check failed: " + "; ".join(messages[:5]), applied, (), ())
    known = [m.name for m in migrations._migrations]
    unknown = tuple(name for name in applied if name not in known)
    pending = tuple(name for name in known if name not in applied)
    if not applied:
        return Check(path, False, f"{path} is not a Chorus database (no migrations recorded)", applied, unknown, pending)
    if unknown:
        return Check(path, False, "it was made by a newer Chorus (unknown migrations: " + ", ".join(unknown)
                     + "); upgrade Chorus first", applied, unknown, pending)
    return Check(path, True, "", applied, unknown, pending)


def backup(source: str | Path, destination: str | Path, *, pages: int = 256) -> Check:
    """Copy the live database at `source` to `destination` consistently, then check the copy."""
    wants_folder = str(destination).endswith(("/", "\\"))
    source, destination = Path(source), Path(destination)
    if destination.is_dir() or wants_folder:
        destination.mkdir(parents=True, exist_ok=True)
        destination = destination / default_name()
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new name")
    if not source.is_file():
        raise BackupError(f"There is no database at {source}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    # Owner-only from the first byte: the copy holds everything residents said.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    src = _open(source, readonly=False)
    dst = sqlite3.connect(str(partial))
    try:
        # Small steps let the app's writers in between; a write mid-way restarts the copy.
        src.backup(dst, pages=pages, sleep=0.005)
        dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()
    partial.chmod(0o600)
    partial.replace(destination)
    result = check(destination)
    if not result.ok:
        raise BackupError(f"The backup at {destination} failed its check: {result.problem}")
    return result


@dataclass(frozen=True)
class Restored(Check):
    """A restored database's check, with what restoring it changed."""

    migrated: tuple[str, ...] = ()
    withdrawals: int = 0
    purges: int = 0
    imports_undone: int = 0
    ledger_entries: int = 0
    ledger_problems: tuple[str, ...] = ()


def gather_ledger(destination: Path, extra: Iterable[str | Path] = ()) -> tuple[set[Erasure], list[str]]:
    """Collect erasures from the database about to be replaced, its ledger file and `extra` ledgers.

    Returns the erasures and a list of sources that could not be read (said, never fatal).
    """
    found: set[Erasure] = set()
    problems: list[str] = []
    sources: list[tuple[Path, str]] = []
    if destination.is_file():
        sources.append((destination, "database"))
    if erasures.ledger_path(destination).is_file():
        sources.append((erasures.ledger_path(destination), "file"))
    for path in extra:
        sources.append((Path(path), "any"))
    for path, kind in sources:
        try:
            if kind == "database":
                found.update(erasures.read_database(path))
            elif kind == "file":
                found.update(erasures.read_file(path))
            else:
                found.update(erasures.read_any(path))
        except (OSError, sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: {exc}")
    return found, problems


def reapply(db: sqlite_utils.Database, entries: Iterable[Erasure]) -> tuple[int, int, int]:
    """Re-apply withdrawals, purges and import undos to a restored database and keep them in its ledger;
    return (withdrawals, purges, imports undone).

    A withdrawal is found by the participant's receipt hash, so a participant id reused after the
    backup is never touched; a purge blanks only text (and self-described words) last changed before it happened;
    an import undo removes every import of the same file into that session made before it that the backup still holds.
    """
    from .queries import erase_import, erase_participant, log_deletion
    from .retention import purge_text

    withdrawals = purges = imports = 0
    with transaction(db):
        for entry in sorted(set(entries)):
            if entry.kind == "withdrawal":
                found = one(
                    db,
                    """SELECT p.id, p.session_id, p.withdrawn_at FROM participants p
                       JOIN sessions s ON s.id = p.session_id WHERE p.receipt_hash = ? AND s.code = ?""",
                    (entry.receipt_hash, entry.session_code),
                )
                if found is not None and not found["withdrawn_at"]:
                    erase_participant(db, found, at=entry.at,
                                      reason=f"withdrawal of {entry.at[:19]} UTC re-applied after restoring a backup")
                    withdrawals += 1
            elif entry.kind == "retention_purge":
                session = one(db, "SELECT id FROM sessions WHERE code = ?", (entry.session_code,))
                if session is not None:
                    answers, contacts = purge_text(db, session["id"], before=entry.at)
                    if answers or contacts:
                        log_deletion(db, session_id=session["id"], kind="retention_purge",
                                     detail=f"answer_texts={answers} contact_details={contacts}",
                                     reason=f"retention purge of {entry.at[:19]} UTC re-applied after restoring a backup")
                        db.execute("UPDATE sessions SET purged_at = max(coalesce(purged_at, ''), ?) WHERE id = ?",
                                   (entry.at, session["id"]))
                        purges += 1
            elif entry.kind == "import_undo":
                for found in rows(
                    db,
                    """SELECT i.id, i.session_id FROM imports i JOIN sessions s ON s.id = i.session_id
                       WHERE s.code = ? AND i.file_hash = ? AND i.imported_at < ? AND i.undone_at IS NULL""",
                    (entry.session_code, entry.receipt_hash, entry.at),
                ):
                    erase_import(db, found, at=entry.at,
                                 reason=f"import undo of {entry.at[:19]} UTC re-applied after restoring a backup")
                    imports += 1
            erasures.record(db, entry)
    return withdrawals, purges, imports


def restore(source: str | Path, destination: str | Path, *, force: bool = False,
            ledgers: Iterable[str | Path] = ()) -> Restored:
    """Bring a checked backup back as the database at `destination`, honouring every later withdrawal and purge.

    Refuses to overwrite an existing database without `force`.
    """
    source, destination = Path(source), Path(destination)
    result = check(source)
    if not result.ok:
        raise BackupError(f"Not restoring {source}: {result.problem}")
    if destination.exists() and not force:
        raise BackupError(f"{destination} already exists. Stop Chorus, then restore with --force to replace it "
                          "(take a backup of it first).")
    known, problems = gather_ledger(destination, ledgers)
    destination.parent.mkdir(parents=True, exist_ok=True)
    erasures.forget_every_job_file(destination)  # the replaced database's jobs' files; their ids will be reused
    src = _open(source, readonly=True)
    dst = connect(str(destination))  # owner-only, secure delete
    try:
        # Copying through the backup API (not a file copy) keeps an open WAL database consistent.
        src.backup(dst.conn)
        dst.execute("PRAGMA journal_mode = WAL")
    finally:
        src.close()
    try:
        migrated = tuple(migrate(dst))
        withdrawals, purges, imports = reapply(dst, known)
        # Everyone signs in again: cookies revoked after the backup would otherwise be good again.
        with transaction(dst):
            dst.execute("UPDATE users SET session_version = session_version + 1000")
        kept = erasures.read_table(dst.conn)
        dst.execute("VACUUM")  # nothing deleted (now or before secure_delete) survives in free pages
        checkpoint(dst)
    finally:
        dst.conn.close()
    erasures.write_file(erasures.ledger_path(destination), kept)
    restored = check(destination)
    if not restored.ok:
        raise BackupError(f"The restored database failed its check: {restored.problem}")
    return Restored(
        restored.path, restored.ok, restored.problem, restored.applied, restored.unknown, restored.pending,
        migrated=migrated, withdrawals=withdrawals, purges=purges, imports_undone=imports, ledger_entries=len(kept),
        ledger_problems=tuple(problems),
    )
