"""Writers of one database in one process take turns on a lock before SQLite's own."""
from __future__ import annotations

import threading

from listening.db import connect, transaction


def test_connections_to_one_file_share_one_lock(tmp_path):
    """Two connections to one file share a write lock; another file has its own."""
    first, second, other = connect(str(tmp_path / "a.db")), connect(str(tmp_path / "a.db")), connect(str(tmp_path / "b.db"))
    assert first.chorus_write_lock is second.chorus_write_lock
    assert first.chorus_write_lock is not other.chorus_write_lock
    for db in (first, second, other):
        db.conn.close()


def test_a_second_writer_waits_for_the_first_and_both_commit(tmp_path):
    """A writer that starts while another holds the lock waits its turn, and both writes are committed."""
    path = str(tmp_path / "a.db")
    setup = connect(path)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.conn.commit()
    inside, release, done = threading.Event(), threading.Event(), []

    def first_writer():
        """Hold the write transaction until told to let go."""
        db = connect(path)
        with transaction(db):
            db.execute("INSERT INTO t VALUES (1)")
            inside.set()
            release.wait(5)
        done.append(1)

    def second_writer():
        """Write once the first is done."""
        db = connect(path)
        with transaction(db):
            db.execute("INSERT INTO t VALUES (2)")
        done.append(2)

    one = threading.Thread(target=first_writer)
    one.start()
    assert inside.wait(5)
    two = threading.Thread(target=second_writer)
    two.start()
    two.join(0.2)
    assert two.is_alive()  # waiting for its turn, not failing with "database is locked"
    release.set()
    one.join(5)
    two.join(5)
    assert done == [1, 2]
    assert sorted(r[0] for r in setup.execute("SELECT n FROM t")) == [1, 2]
    setup.conn.close()
