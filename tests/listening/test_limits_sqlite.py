"""The SQLite rate-limit storage: exact counts across processes and threads, windows that expire,
an owner-only file that holds no addresses, and Flask-Limiter's own commands on it."""
from __future__ import annotations

import multiprocessing
import stat
import threading
import time

import pytest
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

from listening import limits_sqlite
from listening.limits_sqlite import SQLiteStorage

ADDRESS = "203.0.113.77"


def hammer(uri: str, key: str, threads: int, each: int) -> None:
    """Count `threads` x `each` hits on one key from this process, several threads at once."""
    storage = storage_from_string(uri, secret="s")

    def run() -> None:
        """Hit the key `each` times."""
        for _ in range(each):
            storage.incr(key, 60)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_the_scheme_is_registered_and_paths_read_like_sqlalchemy_uris(tmp_path):
    """sqlite:////abs/file.db opens that file; a URI without a path is refused with a clear message."""
    storage = storage_from_string(limits_sqlite.uri_for(tmp_path / "c.db"))
    assert isinstance(storage, SQLiteStorage) and storage.path == str(tmp_path / "c.db")
    assert limits_sqlite.path_of("sqlite:///relative.db") == "relative.db"
    with pytest.raises(ValueError, match="sqlite:////path"):
        limits_sqlite.path_of("sqlite://")


def test_counts_are_exact_across_processes_and_threads(tmp_path):
    """Three processes of eight threads each add 40 hits to one key: the count is exactly 960."""
    uri = limits_sqlite.uri_for(tmp_path / "c.db")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=hammer, args=(uri, "shared", 8, 40)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert storage_from_string(uri, secret="s").get("shared") == 960


def test_a_fixed_window_refuses_past_its_limit_and_starts_again_when_it_expires(tmp_path):
    """Two a second: the third hit is refused, and a second later the window is fresh."""
    limiter = FixedWindowRateLimiter(SQLiteStorage(limits_sqlite.uri_for(tmp_path / "c.db")))
    item = RateLimitItemPerSecond(2)
    assert [limiter.hit(item, ADDRESS) for _ in range(3)] == [True, True, False]
    assert limiter.get_window_stats(item, ADDRESS).remaining == 0
    time.sleep(1.1)
    assert limiter.test(item, ADDRESS) and limiter.hit(item, ADDRESS)


def test_moving_and_sliding_windows_work_too(tmp_path):
    """The other two strategies Flask-Limiter offers count and refuse on this storage as well."""
    storage = SQLiteStorage(limits_sqlite.uri_for(tmp_path / "c.db"))
    item = RateLimitItemPerMinute(3)
    for strategy in (MovingWindowRateLimiter(storage), SlidingWindowCounterRateLimiter(storage)):
        assert [strategy.hit(item, ADDRESS, type(strategy).__name__) for _ in range(4)] == [True, True, True, False]
        assert strategy.get_window_stats(item, ADDRESS, type(strategy).__name__).remaining == 0
        strategy.clear(item, ADDRESS, type(strategy).__name__)
        assert strategy.hit(item, ADDRESS, type(strategy).__name__)


def test_clear_and_reset_forget_counters(tmp_path):
    """clear() forgets one key, reset() every key, and check() says the file is readable."""
    storage = SQLiteStorage(limits_sqlite.uri_for(tmp_path / "c.db"))
    storage.incr("a", 60)
    storage.incr("b", 60, amount=5)
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 5)
    assert storage.reset() == 1 and storage.get("b") == 0 and storage.check()


def test_the_file_is_owner_only_and_holds_no_addresses(tmp_path):
    """The counters file is mode 0600 and its bytes contain neither the address nor the key's other parts."""
    path = tmp_path / "sub" / "c.db"
    storage = SQLiteStorage(limits_sqlite.uri_for(path), secret="app secret")
    key = f"chorus/LIMITER/{ADDRESS}|abcdef0123456789/unknown-code/30/1/minute"
    for _ in range(3):
        storage.incr(key, 60)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert ADDRESS.encode() not in data and b"unknown-code" not in data and b"abcdef0123456789" not in data
    assert storage.get(key) == 3


def test_expired_counters_are_swept_away(tmp_path, monkeypatch):
    """Now and then a write deletes expired counters, so old (hashed) addresses do not pile up."""
    storage = SQLiteStorage(limits_sqlite.uri_for(tmp_path / "c.db"))
    storage.incr("old", 0.01)
    time.sleep(0.05)
    monkeypatch.setattr(limits_sqlite, "SWEEP_ONE_IN", 1)
    storage.incr("new", 60)
    left = storage.connection().execute("SELECT count(*) FROM counters").fetchone()[0]
    assert left == 1


def test_flask_limiters_commands_work_on_it(tmp_path):
    """`chorus limiter config` names the SQLite storage and reports it healthy."""
    from listening.cli import cli
    from tests.conftest import migrated_app

    app = migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True)
    result = app.test_cli_runner().invoke(cli, ["limiter", "config"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "SQLiteStorage" in result.output and "t-ratelimits.db" in result.output
    assert "test-secret" not in result.output  # the hashing key is shown as ***
