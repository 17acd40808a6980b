"""Rate-limit counters in a small SQLite file, so every worker process counts the same request once.

Flask-Limiter keeps counters in a `limits` storage. `memory://` counts per process, so with two
gunicorn workers every limit is doubled; Redis counts once but is one more server for a
coalition to run. This module registers a `limits` storage for the scheme ``sqlite`` (for
example ``sqlite:////var/lib/chorus/chorus-ratelimits.db``; three slashes for a path relative to
the working directory, four for an absolute one), which every worker on one machine shares.

What it keeps: one row per counter (fixed and sliding windows) and one row per hit for moving
windows, each with its expiry; expired rows are deleted as the file is used. Keys name the
client's address, so they are stored only as a keyed hash (BLAKE2b, keyed with the app's
secret key when Chorus passes it as the ``secret`` option): the file holds no addresses. The file
is created readable by its owner only. Durability is not needed (a counter lost in a power cut
only forgives a few requests), so writes skip fsync (``synchronous=OFF``) and take the write
lock for one statement at a time.
"""
from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import threading
import time
from math import floor
from pathlib import Path
from urllib.parse import urlparse

from limits.storage import MovingWindowSupport, SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

from listening.db import create_missing

SCHEME = "sqlite"
# Roughly one call in this many also deletes expired rows, so the file stays small.
SWEEP_ONE_IN = 500

# Connections a forked process inherited; kept so that garbage collection never closes them.
_INHERITED: list[sqlite3.Connection] = []

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters (key BLOB PRIMARY KEY, hits INTEGER NOT NULL, expires REAL NOT NULL)"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS events (key BLOB NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_key ON events (key, at)",
)


class Secret(str):
    """A hashing key passed as a storage option, shown as *** wherever options are printed (`chorus limiter config`)."""

    def __repr__(self) -> str:
        """Hide the value."""
        return "'***'"


def path_of(uri: str) -> str:
    """Return the file a ``sqlite://`` URI names: ``sqlite:///rel.db`` is relative, ``sqlite:////abs.db`` absolute."""
    parsed = urlparse(uri)
    if parsed.scheme != SCHEME or parsed.netloc or not parsed.path[1:]:
        raise ValueError(f"A rate-limit storage URI must look like sqlite:////path/to/file.db, not {uri!r}")
    return parsed.path[1:]


def uri_for(path: str | os.PathLike) -> str:
    """Return the ``sqlite://`` URI of a file path (absolute or relative)."""
    return f"{SCHEME}:///{os.fspath(path)}"


class SQLiteStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """A `limits` storage in one SQLite file, shared by every process and thread that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, secret: str | bytes = b"",
                 timeout: float = 5.0, **options):
        """Open (creating if needed, owner-only) the counters file that `uri` names."""
        self.path = os.path.abspath(path_of(uri))
        self.timeout = float(timeout)
        secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        # BLAKE2b takes a key of at most 64 bytes; hash a longer secret down to one.
        self.hash_key = hashlib.blake2b(secret).digest() if len(secret) > 64 else secret
        self.local = threading.local()
        # Writers in one process queue on this lock: SQLite's own busy handler makes a writer that
        # finds the file locked sleep 1 ms or more, which under load cost more than the write.
        self.write_lock = threading.Lock()
        self.create_file()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def storage(self) -> str:
        """Name the backing file (Flask-Limiter's `limiter config` command shows it)."""
        return self.path

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """SQLite's errors are the ones `wrap_exceptions` turns into StorageError."""
        return sqlite3.Error

    # --- the file and its connections -----------------------------------------------------

    def create_file(self) -> None:
        """Create the folder and the file (mode 0600) and its tables, once."""
        folder = Path(self.path).parent
        folder.mkdir(parents=True, exist_ok=True)
        # Created exclusively, never opened when it exists: closing a descriptor of an SQLite file
        # would drop the locks other threads' connections hold on it (listening.db.create_missing).
        create_missing(self.path, 0o600)
        # A connection of its own, closed at once: gunicorn forks workers after the app is built,
        # and an SQLite connection must not cross a fork.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in SCHEMA:
                conn.execute(statement)
        finally:
            conn.close()

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening a new one in a forked worker or a new thread."""
        cached = getattr(self.local, "conn", None)
        if cached is not None and cached[0] == os.getpid():
            return cached[1]
        if cached is not None:
            # Opened before a fork: never use it here, and never let it be closed here either.
            _INHERITED.append(cached[1])
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        self.local.conn = (os.getpid(), conn)
        return conn

    def hashed(self, key: str) -> bytes:
        """Return the stored form of a key: a keyed 16-byte hash, never the address it names."""
        return hashlib.blake2b(key.encode("utf-8"), digest_size=16, key=self.hash_key).digest()

    def sweep(self, now: float) -> None:
        """Now and then, delete counters and moving-window entries that have expired."""
        if random.randrange(SWEEP_ONE_IN):
            return
        conn = self.connection()
        with self.write_lock:
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            # A moving-window entry older than a day is past every limit Chorus sets.
            conn.execute("DELETE FROM events WHERE at <= ?", (now - 86400,))

    # --- fixed window -----------------------------------------------------------------------

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to a counter (starting a new window of `expiry` seconds if it expired) and return it."""
        now = time.time()
        self.sweep(now)
        hashed, conn = self.hashed(key), self.connection()
        with self.write_lock:
            found = conn.execute(
                """INSERT INTO counters (key, hits, expires) VALUES (?1, ?2, ?3 + ?4)
                   ON CONFLICT (key) DO UPDATE SET
                     hits = CASE WHEN expires <= ?3 THEN ?2 ELSE hits + ?2 END,
                     expires = CASE WHEN expires <= ?3 THEN ?3 + ?4 ELSE expires END
                   RETURNING hits""",
                (hashed, amount, now, expiry),
            ).fetchall()  # fetch all: the statement (and its write lock) ends only when its rows are read
        return int(found[0][0])

    def decr(self, key: str, amount: int = 1) -> int:
        """Take `amount` off a live counter (never below zero) and return it."""
        now = time.time()
        conn = self.connection()
        with self.write_lock:
            conn.execute("UPDATE counters SET hits = max(hits - ?, 0) WHERE key = ? AND expires > ?",
                         (amount, self.hashed(key), now))
        return self.get(key)

    def get(self, key: str) -> int:
        """Return a counter's value, or 0 if it does not exist or has expired."""
        row = self.connection().execute(
            "SELECT hits FROM counters WHERE key = ? AND expires > ?", (self.hashed(key), time.time())
        ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when a counter's window ends (now, if there is none)."""
        now = time.time()
        row = self.connection().execute(
            "SELECT expires FROM counters WHERE key = ? AND expires > ?", (self.hashed(key), now)
        ).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Tell whether the file can be read."""
        try:
            self.connection().execute("SELECT count(*) FROM counters").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Delete every counter and entry; return how many there were."""
        conn = self.connection()
        with self.write_lock:
            return conn.execute("DELETE FROM counters").rowcount + conn.execute("DELETE FROM events").rowcount

    def clear(self, key: str) -> None:
        """Delete one key's counter and moving-window entries."""
        conn = self.connection()
        hashed = self.hashed(key)
        with self.write_lock:
            conn.execute("DELETE FROM counters WHERE key = ?", (hashed,))
            conn.execute("DELETE FROM events WHERE key = ?", (hashed,))

    # --- moving window ----------------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record `amount` hits now if fewer than `limit` - `amount` + 1 fall in the last `expiry` seconds."""
        if amount > limit:
            return False
        now = time.time()
        self.sweep(now)
        conn = self.connection()
        hashed = self.hashed(key)
        with self.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                (used,) = conn.execute("SELECT count(*) FROM events WHERE key = ? AND at > ?",
                                       (hashed, now - expiry)).fetchone()
                if used + amount > limit:
                    conn.execute("ROLLBACK")
                    return False
                conn.executemany("INSERT INTO events (key, at) VALUES (?, ?)", [(hashed, now)] * amount)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """Return the time of the oldest hit in the window and how many hits it holds."""
        now = time.time()
        oldest, used = self.connection().execute(
            "SELECT min(at), count(*) FROM events WHERE key = ? AND at > ?", (self.hashed(key), now - expiry)
        ).fetchone()
        return (float(oldest) if oldest is not None else now), int(used)

    # --- sliding window counter (the same arithmetic as limits' memory storage) --------------

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count a hit if the weighted count of this window and the last stays within `limit`."""
        if amount > limit:
            return False
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous_count, previous_ttl, current_count, _ = self._window(previous_key, current_key, expiry, now)
        if floor(previous_count * previous_ttl / expiry + current_count) + amount > limit:
            return False
        current_count = self.incr(current_key, 2 * expiry, amount=amount)
        if floor(previous_count * previous_ttl / expiry + current_count) > limit:
            self.decr(current_key, amount)  # another process won the race: give the hit back
            return False
        return True

    def _window(self, previous_key: str, current_key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        """Return the previous window's count and time left, and the current window's."""
        previous_count = self.get(previous_key)
        current_count = self.get(current_key)
        previous_ttl = 0.0 if previous_count == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous_count, previous_ttl, current_count, current_ttl

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        """Return (previous count, previous time left, current count, current time left)."""
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        return self._window(previous_key, current_key, expiry, now)

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        """Delete both windows of a sliding-window key."""
        previous_key, current_key = self.sliding_window_keys(key, expiry, time.time())
        self.clear(previous_key)
        self.clear(current_key)
