"""Rate limits on join, answer, withdraw and sign-in (sign-in throttling itself: tests/security/test_sign_in.py)."""
import pytest

from listening import queries
from listening.db import connect
from tests.conftest import migrated_app, submit, text_of
from tests.factories import make_session


@pytest.fixture
def limited_app(tmp_path):
    """An app with rate limits on, and small limits so tests reach them quickly."""
    return migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True, RATE_LIMITS={
        "listening.answer": (("POST",), "3/minute", "5/minute"),
        "listening.withdraw": (("POST",), "2/minute", "100/minute"),
        "facilitation.login": (("POST",), "100/minute", "100/minute"),
    })


@pytest.fixture
def limited_db(limited_app):
    """A connection to the rate-limited app's database."""
    conn = connect(limited_app.config["DATABASE"])
    yield conn
    conn.conn.close()


def consented(app, session):
    """Return a new browser that has agreed to take part in `session`."""
    client = app.test_client()
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    return client


def test_one_phone_that_posts_too_fast_gets_a_translated_429(limited_app, limited_db):
    """A phone over its answer limit gets the translated 'too many tries' page, and nothing else is stored."""
    session = make_session(limited_db)
    phone = consented(limited_app, session)
    codes = [submit(phone, f"/s/{session['code']}/q/1", {"answer": f"try {n}"}).status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    limited = submit(phone, f"/s/{session['code']}/q/1?lang=es", {"answer": "otra"})
    assert limited.status_code == 429
    assert "Demasiados intentos" in text_of(limited) or "intent" in text_of(limited).lower()
    assert "Retry-After" in limited.headers
    assert limited_db.execute("SELECT text FROM responses").fetchall()[0][0] == "try 2"


def test_phones_sharing_one_address_each_get_their_own_limit(limited_app, limited_db):
    """Two phones behind one NAT address are counted apart until the generous address limit."""
    session = make_session(limited_db)
    first, second = consented(limited_app, session), consented(limited_app, session)
    results = []
    for phone in (first, second):
        for n in range(3):
            results.append(submit(phone, f"/s/{session['code']}/q/1", {"answer": f"a{n}"}).status_code)
    # Each phone is under its own limit of 3; the address limit of 5 stops the sixth.
    assert results == [302, 302, 302, 302, 302, 429]


def test_withdraw_guessing_is_limited(limited_app):
    """Guessing receipt codes hits the withdraw limit."""
    client = limited_app.test_client()
    guesses = [queries.format_receipt(queries.new_code(12)) for _ in range(3)]
    codes = [submit(client, "/withdraw", {"receipt": guess, "confirm": "y"}).status_code for guess in guesses]
    assert codes == [404, 404, 429]


def test_guessing_join_codes_is_limited_but_real_codes_are_not(limited_app, limited_db):
    """Unknown join codes count against a per-address limit; a real code keeps working."""
    session = make_session(limited_db)
    client = limited_app.test_client()
    statuses = [client.get(f"/j/ZZZZ{n:02d}").status_code for n in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    assert client.get("/?code=QQQQQQ").status_code == 429
    other = limited_app.test_client()
    for _ in range(40):
        assert other.get(f"/j/{session['code']}", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_limits_are_off_in_ordinary_tests(client, db):
    """The shared test app has no limits, so tests can send many requests."""
    assert all(client.get("/withdraw").status_code == 200 for _ in range(50))


def test_every_resident_form_that_stores_something_has_its_limits(app):
    """Each resident POST that writes (consent, answers, votes, own statements, withdrawal) is limited per phone and
    per address, as the README promises: votes and own statements were not, so one phone posted 150 statements
    for the team's review queue in a few seconds."""
    from listening import security

    posts = {rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("listening.") and "POST" in rule.methods}
    # /forget only forgets this browser's cookie.
    assert posts - {"listening.forget_me"} <= set(security.RATE_LIMITS)


def test_a_phone_proposing_statements_too_fast_gets_a_translated_429(tmp_path):
    """A phone over its limit on its own statements is told, in its language, to wait; nothing more is stored."""
    limited = migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True, RATE_LIMITS={
        "listening.propose": (("POST",), "2/minute", "100/minute")})
    db = connect(limited.config["DATABASE"])
    session = make_session(db, prompts=[{"kind": "react", "text": "React"}])
    phone = consented(limited, session)
    url = f"/s/{session['code']}/q/1/statement"
    codes = [submit(phone, url, {"body": f"idea {n}"}, get_url=f"/s/{session['code']}/q/1?lang=es",
                    form_index=0).status_code for n in range(3)]
    assert codes == [302, 302, 429]
    assert "Demasiados intentos" in text_of(submit(phone, url, {"body": "otra"}, get_url=f"/s/{session['code']}/q/1?lang=es",
                                                   form_index=0))
    assert db.execute("SELECT count(*) FROM statements").fetchone()[0] == 2
    db.conn.close()
