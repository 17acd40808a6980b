"""Join and receipt codes: enough entropy, drawn from a CSPRNG, receipts stored only as hashes."""
import math

from listening import queries
from listening.security import RATE_LIMITS, UNKNOWN_CODE_LIMIT
from tests.factories import make_participant, make_session


def bits(length: int) -> float:
    """Return the entropy of a code of `length` symbols from Chorus's alphabet."""
    return length * math.log2(len(set(queries.CODE_ALPHABET)))


def test_join_codes_cannot_be_guessed_within_the_rate_limit(db):
    """With 300 misses an hour per address, finding one of 100 open sessions takes years per address."""
    session = make_session(db)
    assert len(session["code"]) == queries.JOIN_CODE_LENGTH and set(session["code"]) <= set(queries.CODE_ALPHABET)
    per_hour = int(UNKNOWN_CODE_LIMIT.split(";")[1].split("/")[0])
    hours_for_even_odds = (2 ** bits(queries.JOIN_CODE_LENGTH) / 100 / 2) / per_hour
    assert hours_for_even_odds > 24 * 365


def test_receipt_codes_are_long_random_and_only_hashed(db):
    """Receipts carry at least 58 bits, differ every time, and the database keeps only their SHA-256."""
    session = make_session(db)
    receipts = {make_participant(db, session).receipt for _ in range(50)}
    assert len(receipts) == 50
    assert bits(queries.RECEIPT_CODE_LENGTH) >= 58
    stored = {row[0] for row in db.execute("SELECT receipt_hash FROM participants")}
    assert not stored & {queries.normalize_code(r) for r in receipts}
    assert {queries.receipt_hash(r) for r in receipts} == stored


def test_withdraw_is_rate_limited_tightly_per_device():
    """Receipt guessing meets a per-device limit of a few a minute."""
    _methods, per_device, _per_address = RATE_LIMITS["listening.withdraw"]
    assert per_device.startswith("10/minute")
