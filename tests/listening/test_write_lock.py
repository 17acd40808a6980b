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


def test_processes_take_turns_on_a_private_lock_file_beside_the_database(tmp_path):
    """Each process has one turn object per database (none in memory), on an owner-only `-writer` file, empty until a writer waits."""
    import os
    import stat

    from listening.db import turn_for

    path = str(tmp_path / "a.db")
    db = connect(path)
    assert db.chorus_turn is turn_for(path) is not None
    assert stat.S_IMODE(os.stat(path + "-writer").st_mode) == 0o600
    assert os.path.getsize(path + "-writer") == 0
    assert turn_for(":memory:") is None
    db.conn.close()


def test_a_writer_waits_while_another_process_has_the_turn_and_writes_when_it_ends(tmp_path):
    """While another process holds the lock file the writer waits (not failing), and it commits as soon as the turn ends."""
    import fcntl
    import os
    import time

    path = str(tmp_path / "a.db")
    db = connect(path)
    db.execute("CREATE TABLE t (n INTEGER)")
    db.conn.commit()
    other = os.open(path + "-writer", os.O_RDWR)  # another open file is another holder, as another process's is
    fcntl.flock(other, fcntl.LOCK_EX)
    done = []
    writer = threading.Thread(target=lambda: (transaction_insert(db, 1), done.append(time.monotonic())))
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and not done
    released = time.monotonic()
    fcntl.flock(other, fcntl.LOCK_UN)
    writer.join(5)
    assert done and done[0] - released < 0.5
    assert fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB) is None  # the writer gave its turn back
    fcntl.flock(other, fcntl.LOCK_UN)
    os.close(other)
    assert [r[0] for r in db.execute("SELECT n FROM t")] == [1]
    db.conn.close()


def test_a_turn_never_taken_back_only_delays_a_writer_by_the_busy_timeout(tmp_path):
    """If another holder keeps the lock file, the writer goes on to SQLite's own lock after its busy timeout and commits."""
    import fcntl
    import os
    import time

    path = str(tmp_path / "a.db")
    db = connect(path, busy_timeout_ms=300)
    db.execute("CREATE TABLE t (n INTEGER)")
    db.conn.commit()
    other = os.open(path + "-writer", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    started = time.monotonic()
    transaction_insert(db, 2)
    assert 0.3 <= time.monotonic() - started < 3
    assert [r[0] for r in db.execute("SELECT n FROM t")] == [2]
    os.close(other)
    db.conn.close()


def test_nested_transactions_on_two_connections_share_one_turn(tmp_path):
    """A transaction opened inside another (on another connection, one thread) shares the turn, given back once at the end."""
    import fcntl
    import os

    path = str(tmp_path / "a.db")
    outer, inner = connect(path), connect(path)
    outer.execute("CREATE TABLE t (n INTEGER)")
    outer.conn.commit()
    turn = outer.chorus_turn
    with transaction(outer):
        outer.execute("INSERT INTO t VALUES (1)")
        assert turn.take(0.1) and turn.depth == 2  # as an inner transaction takes it
        turn.give_back()
        assert turn.depth == 1
        probe = os.open(path + "-writer", os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the outer transaction lost its turn")
        except BlockingIOError:
            pass
    assert turn.depth == 0
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(probe)
    for db in (outer, inner):
        db.conn.close()


def transaction_insert(db, n: int) -> None:
    """Insert one row in a write transaction."""
    with transaction(db):
        db.execute("INSERT INTO t VALUES (?)", (n,))


def _child_takes_turn(path: str, answer) -> None:
    """In a forked process: say whether this process could take the turn at once."""
    from listening.db import turn_for

    turn = turn_for(path)
    answer.put(turn.take(0.05))


def test_a_forked_worker_has_its_own_turn(tmp_path):
    """A worker forked from a process that opened the lock file (as `chorus serve` forks its workers) waits for the parent's turn."""
    import multiprocessing

    from listening.db import turn_for

    path = str(tmp_path / "a.db")
    connect(path).conn.close()
    turn = turn_for(path)
    assert turn.take(0.1)
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_child_takes_turn, args=(path, answer))
    child.start()
    assert answer.get(timeout=10) is False
    child.join(10)
    turn.give_back()


def test_a_writer_waiting_for_another_process_says_so_in_the_lock_file_and_its_own_waits_do_not_count(tmp_path):
    """While another process has the turn, a waiting writer writes when it waited (every look) into the lock file:
    another thread reads that someone waited since it last looked; the waiter itself does not count its own wait,
    and nothing said before `since` counts."""
    import fcntl
    import os
    import time

    from listening.db import others_waited

    path = str(tmp_path / "a.db")
    db, reader = connect(path), connect(path)
    db.execute("CREATE TABLE t (n INTEGER)")
    db.conn.commit()
    before = time.monotonic_ns()
    assert not others_waited(reader, before)  # nobody ever waited
    other = os.open(path + "-writer", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    writer = threading.Thread(target=transaction_insert, args=(db, 1))
    writer.start()
    time.sleep(0.05)
    assert others_waited(reader, before)
    fcntl.flock(other, fcntl.LOCK_UN)
    writer.join(5)
    os.close(other)
    assert not others_waited(reader, time.monotonic_ns())  # said before `since`: not counted
    now = time.monotonic_ns()
    db.chorus_turn.say_waiting()  # this thread's own wait
    assert not others_waited(db, now)
    assert os.path.getsize(path + "-writer") == 24
    for conn in (db, reader):
        conn.conn.close()


def _child_waits_for_a_turn(path: str, go) -> None:
    """In a forked process: when told, write once (waiting for the parent's turn)."""
    db = connect(path)
    go.wait(10)
    transaction_insert(db, 7)
    db.conn.close()


def test_a_writer_in_another_process_waiting_for_the_turn_is_seen_by_the_holder(tmp_path):
    """A forked worker that waits for the parent's turn says so; the parent, holding it, sees that someone waited."""
    import multiprocessing
    import time

    from listening.db import others_waited

    path = str(tmp_path / "a.db")
    db = connect(path)
    db.execute("CREATE TABLE t (n INTEGER)")
    db.conn.commit()
    context = multiprocessing.get_context("fork")
    go = context.Event()
    child = context.Process(target=_child_waits_for_a_turn, args=(path, go))
    child.start()
    since = time.monotonic_ns()
    with transaction(db):
        go.set()
        deadline = time.monotonic() + 10
        while not others_waited(db, since) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert others_waited(db, since)
    child.join(10)
    assert child.exitcode == 0
    assert [r[0] for r in db.execute("SELECT n FROM t")] == [7]
    db.conn.close()


def test_a_thread_waiting_for_another_thread_of_its_process_says_so(tmp_path):
    """A writer waiting for the process's own write lock (another thread writes) also says so in the lock file."""
    import time

    from listening.db import others_waited

    path = str(tmp_path / "a.db")
    holder, waiter = connect(path), connect(path)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.conn.commit()
    since = time.monotonic_ns()
    with transaction(holder):
        writer = threading.Thread(target=transaction_insert, args=(waiter, 3))
        writer.start()
        time.sleep(0.03)
        assert others_waited(holder, since)
    writer.join(5)
    assert [r[0] for r in holder.execute("SELECT n FROM t")] == [3]
    for conn in (holder, waiter):
        conn.conn.close()


def test_others_writing_tells_whether_another_writer_has_the_lock_or_waits_for_it(tmp_path):
    """`others_writing` is true while another process has the turn on the lock file, while another thread of this
    process is in a transaction, and when another writer said it waited since the time asked about; false otherwise,
    and never for the caller's own transaction (the probe gives back the turn it takes)."""
    import fcntl
    import os
    import time

    from listening.db import others_writing

    path = str(tmp_path / "a.db")
    db, other = connect(path), connect(path)
    db.execute("CREATE TABLE t (n INTEGER)")
    db.conn.commit()
    assert not others_writing(db, time.monotonic_ns())
    elsewhere = os.open(path + "-writer", os.O_RDWR)
    fcntl.flock(elsewhere, fcntl.LOCK_EX)
    assert others_writing(db, time.monotonic_ns())
    fcntl.flock(elsewhere, fcntl.LOCK_UN)
    assert not others_writing(db, time.monotonic_ns())
    inside, done = threading.Event(), threading.Event()

    def hold_a_transaction() -> None:
        """Write in another thread and keep the transaction open until told."""
        with transaction(other):
            other.execute("INSERT INTO t VALUES (1)")
            inside.set()
            done.wait(5)

    holder = threading.Thread(target=hold_a_transaction)
    holder.start()
    inside.wait(5)
    assert others_writing(db, time.monotonic_ns())
    done.set()
    holder.join(5)
    since = time.monotonic_ns()
    assert not others_writing(db, since)
    waiter = threading.Thread(target=other.chorus_turn.say_waiting)  # another thread says it waits
    waiter.start()
    waiter.join(5)
    assert others_writing(db, since) and not others_writing(db, time.monotonic_ns())
    with transaction(db):
        assert not others_writing(db, time.monotonic_ns())
    fcntl.flock(elsewhere, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the probes gave the turn back
    fcntl.flock(elsewhere, fcntl.LOCK_UN)
    os.close(elsewhere)
    for conn in (db, other):
        conn.conn.close()
