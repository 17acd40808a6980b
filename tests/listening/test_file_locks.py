"""The database's locks survive a new connection in the same process.

POSIX drops every lock a process holds on a file when any descriptor of that file is closed. When
opening a connection opened and closed the database file itself (to make it owner-only), a new
server thread's first connection silently released the shared lock by which the other connections
of that process hold the write-ahead log open; the next connection closed by another process (a
second worker, a backup, a command) took itself for the last one and deleted the log, and
acknowledged answers committed into it afterwards vanished under load (docs/load.md).
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

from listening.db import connect, transaction
from listening.limits_sqlite import SQLiteStorage

OTHER_PROCESS = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], timeout=5)
    print(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    conn.close()
    """
)


def count_from_another_process(path) -> int:
    """Open the database from another process (as a backup or a second worker does), count the rows, close it."""
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path)], capture_output=True, text=True,
                          timeout=60, check=True)
    return int(done.stdout)


def test_a_commit_after_another_thread_opens_the_database_is_seen_by_every_process(tmp_path):
    """A server thread opening its connection, then another process opening and closing the database,
    does not make a later commit of an older connection vanish: the other process still sees it."""
    path = tmp_path / "chorus.db"
    first = connect(str(path))
    first.execute("CREATE TABLE t (x)")
    second = connect(str(path))  # a new server thread's first request, in the same process
    assert count_from_another_process(path) == 0

    with transaction(first):
        first.execute("INSERT INTO t VALUES (1)")

    assert count_from_another_process(path) == 1
    second.conn.close()
    first.conn.close()
    assert count_from_another_process(path) == 1


def test_the_rate_limit_file_keeps_its_commits_when_opened_again(tmp_path):
    """Opening the rate-limit counters file again (a second storage, as a new worker or app does) while a
    connection is open on it does not lose that connection's later commits."""
    path = tmp_path / "limits.db"
    storage = SQLiteStorage(f"sqlite:///{path}", secret="s")
    storage.incr("k", 60)
    SQLiteStorage(f"sqlite:///{path}", secret="s")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("SELECT 1").fetchone()
    SQLiteStorage(f"sqlite:///{path}", secret="s")
    assert count_from_another_process(path) == 0

    holder.execute("INSERT INTO t VALUES (1)")

    assert count_from_another_process(path) == 1
    holder.close()


def test_a_missing_database_is_created_owner_only(tmp_path):
    """A database that does not exist yet is created readable and writable by its owner only."""
    path = tmp_path / "new.db"
    connect(str(path)).conn.close()
    assert path.stat().st_mode & 0o777 == 0o600
