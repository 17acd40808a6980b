"""The database connection: one sqlite_utils.Database per server thread, with Chorus's pragmas.

Writes go through `transaction(db)`, which takes the write lock up front (BEGIN IMMEDIATE)
so concurrent writers queue instead of failing half way: threads of one process on a lock of
their own (`write_lock_for`), processes on a lock file beside the database (`turn_for`), and
anything else (the sqlite3 shell, a process that cannot make the file) on SQLite's busy timeout.

What residents tell us must be gone once it is deleted: every connection sets `secure_delete`
(deleted rows are overwritten with zeros, in the database file and in the pages it writes to
the write-ahead log), and `checkpoint` copies the log into the database and truncates it, so
older copies of a deleted page do not linger in `-wal`. The database file is created readable
by its owner only; SQLite gives its `-wal` and `-shm` files the database file's permissions.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import struct
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils
from flask import Flask, current_app, g


PRIVATE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal", "-writer")


def create_missing(path: str, mode: int = PRIVATE_MODE) -> bool:
    """Create an empty file with `mode` if none exists; never open one that does. Return False if it cannot be made.

    An SQLite file that exists must never be opened and closed by our own code: closing any
    descriptor of a file drops every POSIX lock this process holds on it, including the shared lock
    by which each open connection says "the write-ahead log is in use". Another process closing its
    connection (a second worker, a backup, a command) then believes it is the last one, checkpoints
    and deletes the log while this process still commits into it, and acknowledged answers vanish
    (docs/load.md, "Lost answers under saturation"). So the file is only ever created, exclusively.
    """
    if os.path.lexists(path):
        return True
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode))
    except FileExistsError:
        return True  # another process made it between the check and the open: it is not ours to open
    except OSError:
        return False  # read-only or not ours: SQLite will say what is wrong
    return True


def make_private(path: str | Path) -> None:
    """Create the database file owner-only if it is missing, and take group and world access off it and its side files.

    A folder that does not exist is left alone, so SQLite reports it as before. An existing
    database is never opened here (see `create_missing`): only its permissions are changed.
    """
    path = str(path)
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not Path(path).parent.is_dir():
        return
    if not create_missing(path):
        return
    for name in (path, *(path + suffix for suffix in SIDE_FILES)):
        try:
            mode = os.stat(name).st_mode & 0o777
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except OSError:
            continue


def connect(path: str, *, busy_timeout_ms: int = 5000, synchronous: str = "FULL") -> sqlite_utils.Database:
    """Open the database at `path` (owner-only) with WAL, foreign keys, secure delete and a busy timeout."""
    make_private(path)
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"Unknown SQLite synchronous setting: {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    db = sqlite_utils.Database(conn)
    db.chorus_write_lock = write_lock_for(path)
    db.chorus_turn = turn_for(path)
    db.chorus_busy_timeout_s = busy_timeout_ms / 1000
    return db


# Writers of one database in one process take turns on a lock before asking SQLite for its write
# lock. SQLite's busy handler sleeps 1, 2, 5, 10... ms between tries, so server threads that met
# each other's write lock slept long after it was free; queued on this lock, the next writer starts
# as soon as the last one commits. Other processes (the second worker, commands) still meet the
# busy handler, as before.
_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def write_lock_for(path: str) -> threading.RLock:
    """Return this process's write lock for the database at `path` (one per file; reentrant for nested use)."""
    key = path if path == ":memory:" or str(path).startswith("file:") else os.path.realpath(path)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.RLock())


# Processes (the server's workers, commands run beside it) take turns on a lock file beside the
# database, `<database>-writer`, before asking SQLite for its write lock. A process whose writer met
# another process's write lock slept in SQLite's busy handler (1, 2, 5, 10 ... 100 ms between tries)
# long after the lock was free, so one worker wrote while the other slept: under load a tenth of the
# answers waited 0.3 to 1.6 s. Waiting on the lock file, the next process's writer starts within a
# millisecond of the commit. The file holds nothing; `flock` locks belong to the open file (not, like
# SQLite's POSIX locks, to the process), and each process opens its own (a forked worker too), so
# nothing our code closes can drop them. A process that cannot make the file, or waits longer than
# its busy timeout, goes on to SQLite's busy handler as before.
TURN_SUFFIX = "-writer"
_turn_files: dict[tuple[str, int], "ProcessTurn | None"] = {}
# A writer that has to wait (for another process's turn, or for another thread of its own process) writes into
# the lock file when it last waited: the system's monotonic clock (nanoseconds, the same in every process), its
# process id and its thread id, 24 bytes at the start, rewritten at every look (about every millisecond) while
# it waits. A long series of writes (a theme run's placements) reads it after each of its transactions and
# leaves the lock free for a moment only if someone else waited since it last looked (`others_waited`).
_WAITED = struct.Struct("<qqq")


class ProcessTurn:
    """One process's turn on a database's lock file: taken by the outermost write transaction of the process."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor
        self.depth = 0  # nested transactions on other connections (under the reentrant write lock) share the turn

    def take(self, timeout_s: float) -> bool:
        """Wait (up to `timeout_s`) until no other process writes; False if still waiting then."""
        self.depth += 1
        if self.depth > 1:
            return True
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            self.say_waiting()
        deadline, pause = time.monotonic() + timeout_s, 0.0001
        while True:
            time.sleep(pause)
            try:
                fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.depth -= 1
                    return False
                self.say_waiting()
                pause = min(pause * 2, 0.001)

    def say_waiting(self) -> None:
        """Write into the lock file that this thread is waiting now (see `_WAITED`); a failure only goes unsaid."""
        try:
            os.pwrite(self.descriptor, _WAITED.pack(time.monotonic_ns(), os.getpid(), threading.get_ident()), 0)
        except OSError:
            pass

    def waited_since(self, since_ns: int) -> bool:
        """Tell whether a writer other than this thread said it waited at or after `since_ns` (time.monotonic_ns)."""
        try:
            said = os.pread(self.descriptor, _WAITED.size, 0)
        except OSError:
            return True  # unreadable: assume someone waits, as a run did before it could tell
        if len(said) < _WAITED.size:
            return False  # nobody ever waited
        at, pid, thread = _WAITED.unpack(said)
        return at >= since_ns and (pid, thread) != (os.getpid(), threading.get_ident())

    def taken_elsewhere(self) -> bool:
        """Tell whether another process has the turn now: a probe that takes it and gives it straight back (False
        while this process has it). The caller holds the process's write lock, so no thread of its own is between
        `take` and `give_back` meanwhile."""
        if self.depth:
            return False
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        return False

    def give_back(self) -> None:
        """End this process's turn (after the outermost transaction committed or rolled back)."""
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.descriptor, fcntl.LOCK_UN)


def turn_for(path: str) -> ProcessTurn | None:
    """Return this process's turn on the lock file of the database at `path` (None in memory or if it cannot be made)."""
    if path == ":memory:" or str(path).startswith("file:"):
        return None
    key = (os.path.realpath(path), os.getpid())  # a forked worker opens its own: a shared open file would be one holder
    with _write_locks_guard:
        if key not in _turn_files:
            try:
                _turn_files[key] = ProcessTurn(os.open(key[0] + TURN_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                                       PRIVATE_MODE))
            except OSError:
                _turn_files[key] = None
        return _turn_files[key]


# One connection per server thread, reused from request to request. Opening and closing one
# per request costs a checkpoint of the write-ahead log (and its fsyncs) whenever the last
# connection closes, which made each answer about four times slower (see docs/load.md).
_thread = threading.local()


def get_db() -> sqlite_utils.Database:
    """Return this request's database connection: this thread's, opened on first use."""
    here = g._get_current_object()  # one context lookup, not one per use of `g` (an answer asks four times)
    db = getattr(here, "db", None)
    if db is None:
        config = current_app.config
        key = (str(config["DATABASE"]), config["BUSY_TIMEOUT_MS"], config["SQLITE_SYNCHRONOUS"])
        cached = getattr(_thread, "db", None)
        if cached is None or cached[0] != key:
            if cached is not None:
                cached[1].conn.close()
            cached = _thread.db = (key, connect(key[0], busy_timeout_ms=key[1], synchronous=key[2]))
        db = here.db = cached[1]
    return db


def close_db(_exc: BaseException | None = None) -> None:
    """End this request's use of the connection, rolling back anything left uncommitted."""
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.rollback()


@contextmanager
def _threads_turn(lock: threading.RLock | None, turn: ProcessTurn | None) -> Iterator[None]:
    """Hold this process's write lock for the block; while another thread has it, say so in the lock file every
    millisecond (`ProcessTurn.say_waiting`), as a writer waiting for another process's turn does."""
    if lock is None:
        yield
        return
    if not lock.acquire(blocking=False):
        if turn is None:
            lock.acquire()
        else:
            turn.say_waiting()
            while not lock.acquire(timeout=0.001):
                turn.say_waiting()
    try:
        yield
    finally:
        lock.release()


def others_waited(db: sqlite_utils.Database, since_ns: int) -> bool:
    """Tell whether another writer (another process, or another thread of this one) waited for the write lock at or
    after `since_ns` (`time.monotonic_ns()`), as said in the lock file; True when there is no lock file to tell."""
    turn = getattr(db, "chorus_turn", None)
    return True if turn is None else turn.waited_since(since_ns)


def others_writing(db: sqlite_utils.Database, since_ns: int) -> bool:
    """Tell whether another writer has the write lock now (another process's turn on the lock file, or another thread
    of this process in a transaction) or said it waited for it at or after `since_ns`; True with no lock file to tell.

    A long series of writes (a theme run's placements) asks this while it leaves the lock free after a batch someone
    waited for: it goes on once nobody has written or waited for a moment, rather than after a fixed gap.
    """
    turn = getattr(db, "chorus_turn", None)
    if turn is None or turn.waited_since(since_ns):
        return True
    lock = getattr(db, "chorus_write_lock", None)
    if lock is None:
        return turn.taken_elsewhere()
    if not lock.acquire(blocking=False):
        return True  # another thread of this process is writing
    try:
        return turn.taken_elsewhere()
    finally:
        lock.release()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction: all of it is committed, or none of it."""
    conn = db.conn
    if conn.in_transaction:
        # Nested use joins the outer transaction through a savepoint.
        with db.atomic():
            yield db
        return
    turn = getattr(db, "chorus_turn", None)
    with _threads_turn(getattr(db, "chorus_write_lock", None), turn):
        taken = turn is not None and turn.take(getattr(db, "chorus_busy_timeout_s", 5.0))
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.execute("COMMIT")
        finally:
            if taken:
                turn.give_back()


@contextmanager
def batched_writes(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Write a long series of short transactions (a theme run's placements) without an fsync at each commit.

    Each COMMIT at synchronous FULL waits for the write-ahead log to reach the disk while it still
    holds the write lock; on a busy disk that took 1 to 2 s a batch, and a resident's answer waited
    for it (issue 19). At NORMAL (in WAL mode) a commit only appends to the log; the log reaches the
    disk at the next checkpoint (`settle`, run outside the lock), and the database stays consistent
    whatever happens: a crash can only lose the last batches, which a run writes again. The
    connection's own setting comes back at the end (a lower one is kept as it is).
    """
    try:
        with unsynced(db):
            yield db
    finally:
        settle(db)


@contextmanager
def unsynced(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Commit the block's transactions at synchronous NORMAL: no fsync while the write lock is held.

    For writes that may be lost in a crash without harm, and only on the connection that makes them
    (a job's progress, a theme run's batches): in WAL mode the database stays consistent, and the
    next commit at FULL (any resident's answer) or checkpoint puts them on disk with it. Residents'
    answers are never written this way. The connection's own setting comes back at the end.

    Nor does such a commit copy the log into the database (SQLite's automatic checkpoint, which the
    committing connection runs once the log passes 1,000 pages, with an fsync of the log and of the
    database, while Chorus's turn on the lock file is still held): the writer settles the log itself,
    outside any transaction (`settle`). When readers keep a checkpoint from finishing, the log stays
    long and every commit would try again (2 December, issue 19: waits for the lock of up to 2.2 s
    while a theme run wrote its placements on a busy disk).
    """
    before = db.execute("PRAGMA synchronous").fetchone()[0]  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
    pages = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    if before > 1:
        db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield db
    finally:
        db.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
        if before > 1:
            db.execute(f"PRAGMA synchronous = {int(before)}")


def settle(db: sqlite_utils.Database) -> None:
    """Copy what the write-ahead log holds into the database file now, without waiting for anyone (PASSIVE).

    Run by a connection that has just written a lot, outside any transaction, so that the next
    commit of a resident's answer does not find a long log to copy (SQLite's automatic checkpoint
    is done by whichever connection commits when the log passes 1,000 pages).
    """
    if not db.conn.in_transaction:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def checkpoint(db: sqlite_utils.Database) -> bool:
    """Copy the write-ahead log into the database file and truncate it; False if readers kept it from finishing.

    After a deletion this leaves no older copy of the deleted rows in `-wal`.
    """
    if db.conn.in_transaction:
        return False
    busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def database_path(db: sqlite_utils.Database) -> str:
    """Return the file a connection's main database lives in ('' for a database in memory)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return row[2] or ""
    return ""


def rows(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Run a query and return its rows as plain dicts."""
    return [dict(row) for row in db.execute(sql, params).fetchall()]


def one(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> dict | None:
    """Run a query and return its first row as a dict, or None."""
    row = db.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


def init_app(app: Flask) -> None:
    """Close the connection at the end of every request."""
    app.teardown_appcontext(close_db)


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be opened or created; the message is one line for the operator."""


def ensure_folder(path: str) -> None:
    """Create the database's folder (owner-only) if it is missing, or raise DatabaseUnavailable saying why not."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    if Path(path).expanduser().is_dir():
        raise DatabaseUnavailable(f"{path} is a folder; CHORUS_DATABASE must name the database file, e.g. {Path(path) / 'chorus.db'}.")
    folder = Path(path).expanduser().parent
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"Cannot create the folder {folder} for the database ({exc.strerror or exc}). "
            "Check CHORUS_DATABASE, or create the folder yourself."
        ) from None
