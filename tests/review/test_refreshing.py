"""A slow synthesis page is served from its last computation while only new answers arrived, and computed again
in the background (issue 19); any other change (a withdrawal, a hidden answer, a planner's edit) is shown at once."""
from __future__ import annotations

import pytest

from analysis.review import page_cache
from analysis.review import queries as synthesis
from facilitation import live_queries as lq
from listening import queries
from tests.conftest import sign_in
from tests.factories import make_participant
from tests.review.conftest import answer
from tests.review.test_page_cache import changing_writes, fresh, html, urls
from tests.review.test_results_page import publish

NOTE = "newer answers are being counted"


@pytest.fixture
def slow(monkeypatch):
    """Count every page as slow to compute, not yet due to be computed again."""
    monkeypatch.setattr(page_cache, "SLOW", 0.0)
    monkeypatch.setattr(page_cache, "REFRESH_GAP", 3600.0)


def settled(db, sid: int) -> int:
    """Return the session's data version less its arrivals."""
    return page_cache.settled_version(db, sid, synthesis.data_version(db, sid))


def test_arrivals_leave_the_settled_version_and_every_other_write_moves_it(themed, db):
    """A new person, their consent and answers keep the key; hiding, withdrawing, editing, settings and texts move it."""
    sid = themed.session["id"]
    before = settled(db, sid)
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="Sunday buses please")
    answer(db, themed.session, person, themed.prompts[4], choices=[themed.prompts[4]["options"][0]["id"]])
    db.conn.commit()
    assert settled(db, sid) == before
    for write in [lambda: queries.withdraw(db, person.receipt), *changing_writes(themed, db)]:
        before = settled(db, sid)
        write()
        db.conn.commit()
        assert settled(db, sid) > before


def test_a_slow_page_is_served_while_new_answers_are_counted_then_shows_them(app, client, themed, db, slow, monkeypatch):
    """After a new answer the last page comes back at once with a note, and once computed again it counts the answer."""
    publish(client, themed, db)
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    before = {url: html(client, url) for url in urls(themed, db)}
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="The clinic bus should run on Sundays too")
    db.conn.commit()
    for url in urls(themed, db):
        served = html(client, url)
        assert NOTE in served, url
        assert served.replace(_note(served) + "\n", "") == before[url], url
    monkeypatch.setattr(page_cache, "REFRESH_GAP", 0.0)  # due now: the next request starts computing each page again
    for url in urls(themed, db):
        html(client, url)  # the review and a theme's page share one computation: the first starts it
    page_cache.wait_for_refreshes(app)
    for url in urls(themed, db):
        now = html(client, url)
        assert NOTE not in now and now == fresh(app, client, url), url
    heard = html(client, f"/staff/review/{sid}/heard")
    assert heard != before[f"/staff/review/{sid}/heard"]  # the new resident is counted


def _note(page: str) -> str:
    """Return the note's paragraph as it appears in a page."""
    start = page.index('<p class="small" role="status">')
    return page[start:page.index("</p>", start) + len("</p>")]


def test_a_withdrawal_or_a_hidden_answer_is_never_served_from_an_older_page(app, client, themed, db, slow):
    """Even when pages are slow and an answer arrived too, what a resident withdrew or a moderator hid is gone at once."""
    publish(client, themed, db)
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    results = f"/s/{themed.session['code']}/results?lang=en"
    quoted = [q for q in themed.quotable if q in html(client, results)]
    assert len(quoted) >= 2
    for url in urls(themed, db):
        html(client, url)
    newcomer = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, newcomer, themed.prompts[0], text="More buses on Sundays")
    hidden = db.execute("SELECT id FROM responses WHERE text = ?", (quoted[0],)).fetchone()[0]
    lq.hide_response(db, sid, hidden, user_id=themed.planner_id, reason="abuse")
    db.conn.commit()
    for url in urls(themed, db):
        page = html(client, url)
        assert quoted[0] not in page and NOTE not in page, url
    author = db.execute("SELECT participant_id FROM responses WHERE text = ?", (quoted[1],)).fetchone()[0]
    another = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, another, themed.prompts[0], text="Evening buses too")
    queries.withdraw_for(db, author, reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)), by_user=themed.planner_id)
    db.conn.commit()
    for url in urls(themed, db):
        page = html(client, url)
        assert quoted[1] not in page and NOTE not in page, url
        assert page == fresh(app, client, url), url
    page_cache.wait_for_refreshes(app)


def test_a_small_session_is_computed_in_the_request_after_an_answer(app, client, themed, db):
    """Pages that compute quickly are never served from an older computation: the next request counts the answer."""
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    url = f"/staff/review/{sid}/heard"
    before = html(client, url)
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="The clinic bus should run on Sundays too")
    db.conn.commit()
    now = html(client, url)
    assert NOTE not in now and now != before and now == fresh(app, client, url)


def test_a_page_older_than_the_limit_is_computed_in_the_request(app, client, themed, db, slow, monkeypatch):
    """A page computed longer ago than MAX_STALE is not served while newer answers are counted."""
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    url = f"/staff/review/{sid}/heard"
    html(client, url)
    monkeypatch.setattr(page_cache, "MAX_STALE", 0.0)
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="The clinic bus should run on Sundays too")
    db.conn.commit()
    now = html(client, url)
    assert NOTE not in now and now == fresh(app, client, url)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_note_gives_the_time_of_the_served_count_in_the_readers_language(app, client, themed, db, slow, language):
    """"Updated at 11:05 AM" in English, "11:05" in Spanish, as Babel writes times, in the session's time zone (the
    note printed "%H:%M UTC" in every language: a 24-hour clock in another zone to American residents)."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from babel.dates import format_time

    publish(client, themed, db)
    url = f"/s/{themed.session['code']}/results?lang={language}"
    client.get(url)
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="The clinic bus should run on Sundays too")
    db.conn.commit()
    served = html(client, url)
    with app.app_context():
        at = max(c.at for c in page_cache.app_cache().latest.values())
    zone = ZoneInfo(themed.session["timezone"])
    shown = format_time(datetime.fromtimestamp(at, timezone.utc), "short", tzinfo=zone, locale=language)
    assert shown in _note(served) and "UTC" not in _note(served)
