"""Online backup and restore of the Chorus database with SQLite's backup API.

`backup` copies a consistent snapshot while the app keeps serving (the backup API restarts
its copy if another connection writes mid-way, and WAL readers never block writers). `restore`
checks a backup first (integrity and migration state) and refuses to overwrite a database
unless told to.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .migrations import migrations

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


def restore(source: str | Path, destination: str | Path, *, force: bool = False) -> Check:
    """Bring a checked backup back as the database at `destination`; refuse to overwrite without `force`."""
    source, destination = Path(source), Path(destination)
    result = check(source)
    if not result.ok:
        raise BackupError(f"Not restoring {source}: {result.problem}")
    if destination.exists() and not force:
        raise BackupError(f"{destination} already exists. Stop Chorus, then restore with --force to replace it "
                          "(take a backup of it first).")
    destination.parent.mkdir(parents=True, exist_ok=True)
    src = _open(source, readonly=True)
    dst = sqlite3.connect(str(destination), timeout=30)
    try:
        # Copying through the backup API (not a file copy) keeps an open WAL database consistent.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
    finally:
        dst.close()
        src.close()
    restored = check(destination)
    if not restored.ok:
        raise BackupError(f"The restored database failed its check: {restored.problem}")
    return restored
