"""Join and receipt codes: enough entropy, drawn from a CSPRNG, receipts stored only as hashes, and
guessing slowed by the limits the server really enforces (measured by sending requests, not by
reading the constants that configure them)."""
import math

import pytest

from listening import queries
from tests.conftest import migrated_app, submit
from tests.factories import make_participant, make_session


class Clock:
    """A clock for the rate limiter's counters that tests move forward by hand (the rest of `time` is real)."""

    def __init__(self):
        """Start at an arbitrary fixed moment."""
        self.now = 1_900_000_000.0

    def time(self) -> float:
        """Return the current fake time."""
        return self.now

    def __getattr__(self, name):
        """Hand anything else to the real time module."""
        import time

        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch):
    """Drive the limiter's counters with a fake clock, in the shipped SQLite store and in memory://."""
    import limits.storage.memory as memory

    from listening import limits_sqlite

    fake = Clock()
    monkeypatch.setattr(memory, "time", fake)
    monkeypatch.setattr(limits_sqlite, "time", fake)
    return fake


@pytest.fixture
def limited(tmp_path):
    """An app with Chorus's default rate limits and default counter storage."""
    return migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True)


def bits_of(codes) -> float:
    """Return the entropy of codes like these: length times log2 of the alphabet seen across them."""
    normalized = [queries.normalize_code(code) for code in codes]
    lengths = {len(code) for code in normalized}
    assert len(lengths) == 1, lengths
    alphabet = set().union(*map(set, normalized))
    return lengths.pop() * math.log2(len(alphabet))


def unknown_codes_answered_in_an_hour(app, clock) -> int:
    """Send unknown join codes from one address, 31 a minute for up to an hour; count those answered 404."""
    client = app.test_client()
    answered = 0
    for minute in range(60):
        clock.now += 60
        this_minute = [client.get(f"/j/ZZ{minute:02d}{n:02d}").status_code for n in range(31)]
        assert set(this_minute) <= {404, 429} and this_minute[-1] == 429  # the minute's own limit holds too
        answered += this_minute.count(404)
        if 404 not in this_minute:
            break  # the hour's limit is reached: nothing more will be answered before it ends
    return answered


def test_join_codes_cannot_be_guessed_within_the_rate_limit(db, limited, clock):
    """With the misses one address really gets answered in an hour, finding one of 100 open sessions takes years."""
    codes = [make_session(db, prompts=[])["code"] for _ in range(300)]
    per_hour = unknown_codes_answered_in_an_hour(limited, clock)
    assert 30 < per_hour <= 300  # more than one minute's worth: the minute window really moves on
    hours_for_even_odds = (2 ** bits_of(codes) / 100 / 2) / per_hour
    assert hours_for_even_odds > 24 * 365


def test_receipt_codes_are_long_random_and_only_hashed(db):
    """Receipts carry at least 58 bits, differ every time, and the database keeps only their SHA-256."""
    session = make_session(db)
    receipts = {make_participant(db, session).receipt for _ in range(200)}
    assert len(receipts) == 200
    assert bits_of(receipts) >= 58
    stored = {row[0] for row in db.execute("SELECT receipt_hash FROM participants")}
    assert not stored & {queries.normalize_code(r) for r in receipts}
    assert {queries.receipt_hash(r) for r in receipts} == stored


def test_withdraw_is_rate_limited_tightly_per_device(limited, clock):
    """A phone guessing receipts is stopped after 10 tries in a minute, and may try again the next minute."""
    client = limited.test_client()
    statuses = [submit(client, "/withdraw", {"receipt": queries.format_receipt(queries.new_code(12)), "confirm": "y"}).status_code
                for _ in range(11)]
    assert statuses == [404] * 10 + [429]
    clock.now += 61
    assert submit(client, "/withdraw", {"receipt": "AAAA-BBBB-CCCC", "confirm": "y"}).status_code == 404
