"""Cached synthesis pages (issue 19): keyed by the session's data version, identical to a fresh computation, and
never showing an answer after its author withdrew or a moderator hid it."""
from __future__ import annotations

import dataclasses

from analysis.review import page_cache
from analysis.review import queries as synthesis
from facilitation import live_queries as lq
from listening import queries
from tests.conftest import page, sign_in
from tests.factories import make_participant
from tests.review.conftest import answer
from tests.review.test_results_page import publish


def html(client, url: str) -> str:
    """Return a page's main content with the per-request parts (form tokens, script nonces) taken out."""
    response = client.get(url)
    assert response.status_code == 200
    soup = page(response)
    for token in soup.select("input[name=csrf_token]"):
        token.decompose()
    for tag in soup.select("[nonce]"):
        del tag["nonce"]
    return str(soup.find("main"))


def fresh(app, client, url: str) -> str:
    """Render a page with the app's page cache emptied first: the full computation, as before caching."""
    app.extensions.pop("chorus.page_cache", None)
    return html(client, url)


def urls(themed, db) -> list[str]:
    """The cached pages of the fixture's session: review, its largest theme, who was heard, publish, the residents' page."""
    sid = themed.session["id"]
    largest = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    return [f"/staff/review/{sid}", f"/staff/review/{sid}?theme={largest['id']}", f"/staff/review/{sid}/heard",
            f"/staff/review/{sid}/publish", f"/s/{themed.session['code']}/results?lang=en"]


def assert_cached_matches_fresh(app, client, themed, db) -> None:
    """Each page served from the cache (second request) equals the page computed from scratch."""
    for url in urls(themed, db):
        html(client, url)
        served = html(client, url)
        assert served == fresh(app, client, url), url


def changing_writes(themed, db) -> list:
    """Return writes that change what a synthesis page shows: a rename, a review mark, publishing, a residents' text,
    a moderator's hidden answer and a staff withdrawal (of the session's first open answer and its author)."""
    sid = themed.session["id"]
    theme = next(t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme")
    first = db.execute("SELECT participant_id, id FROM responses WHERE session_id = ? AND text IS NOT NULL "
                       "ORDER BY id LIMIT 1", (sid,)).fetchone()
    return [
        lambda: synthesis.rename_theme(db, sid, theme["id"], "Getting there", user_id=themed.planner_id),
        lambda: synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id),
        lambda: synthesis.save_settings(db, sid, published=True, published_by=None),
        lambda: synthesis.set_public_text(db, sid, 0, "summary", "en", "We listened."),
        lambda: lq.hide_response(db, sid, first[1], user_id=themed.planner_id, reason="abuse"),
        lambda: queries.withdraw_for(db, first[0], reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)),
                                     by_user=themed.planner_id),
    ]


def test_every_write_a_page_shows_bumps_the_version_and_live_moves_do_not(themed, db):
    """Answers, hiding, withdrawal, planner edits, settings and residents' texts bump the version; showing a question does not."""
    sid = themed.session["id"]
    for write in changing_writes(themed, db):
        before = synthesis.data_version(db, sid)
        write()
        db.conn.commit()
        assert synthesis.data_version(db, sid) > before
    before = synthesis.data_version(db, sid)
    lq.show_prompt(db, sid, themed.prompts[0]["id"])
    db.conn.commit()
    assert synthesis.data_version(db, sid) == before


def test_cached_pages_equal_the_full_computation_after_edits_hiding_and_withdrawal(app, client, themed, db):
    """Review, theme, who-was-heard and residents' pages from the cache match a fresh computation after each change."""
    publish(client, themed, db)
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    assert_cached_matches_fresh(app, client, themed, db)
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    synthesis.rename_theme(db, sid, theme["id"], "Getting to the clinic", user_id=themed.planner_id)
    db.conn.commit()
    assert "Getting to the clinic" in html(client, f"/staff/review/{sid}")
    assert_cached_matches_fresh(app, client, themed, db)
    quoted = [q for q in themed.quotable if q in html(client, f"/s/{themed.session['code']}/results?lang=en")]
    assert quoted, "the residents' page quotes someone"
    response_id = db.execute("SELECT id FROM responses WHERE text = ?", (quoted[0],)).fetchone()[0]
    lq.hide_response(db, sid, response_id, user_id=themed.planner_id, reason="abuse")
    db.conn.commit()
    for url in urls(themed, db):
        assert quoted[0] not in html(client, url), url
    assert_cached_matches_fresh(app, client, themed, db)
    quoted = [q for q in themed.quotable if q in html(client, f"/s/{themed.session['code']}/results?lang=en")]
    author = db.execute("SELECT participant_id FROM responses WHERE text = ?", (quoted[0],)).fetchone()[0]
    queries.withdraw_for(db, author, reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)), by_user=themed.planner_id)
    db.conn.commit()
    for url in urls(themed, db):
        assert quoted[0] not in html(client, url), url
    assert_cached_matches_fresh(app, client, themed, db)


def test_a_withdrawal_through_the_receipt_changes_the_cached_page_at_once(app, client, themed, db):
    """Who-was-heard counts a new resident on the next request and stops counting them as soon as they withdraw."""
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    url = f"/staff/review/{sid}/heard"
    before = html(client, url)
    assert html(client, url) == before
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="The clinic bus should run on Sundays too")
    db.conn.commit()
    joined = html(client, url)
    assert joined != before and joined == fresh(app, client, url)
    queries.withdraw(db, person.receipt)
    db.conn.commit()
    assert html(client, url) == before


def test_the_cache_keeps_a_bounded_number_of_entries():
    """The least recently used entry goes first once the cache is full."""
    cache = page_cache.PageCache(size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3


def test_a_second_request_reads_no_answers_until_something_changes(client, themed, db, monkeypatch):
    """The review page reads the session once per data version: again without a change, it does not load answers."""
    sign_in(client, "lead@example.org", "a long password")
    sid = themed.session["id"]
    html(client, f"/staff/review/{sid}")
    loads = []
    real = synthesis.load
    monkeypatch.setattr(synthesis, "load", lambda *a, **k: loads.append(a) or real(*a, **k))
    html(client, f"/staff/review/{sid}")
    html(client, f"/staff/review/{sid}/heard")
    assert len(loads) == 1  # who-was-heard's first time only
    synthesis.set_reviewed(db, sid, themed_theme(db, sid), True, user_id=themed.planner_id)
    db.conn.commit()
    html(client, f"/staff/review/{sid}")
    assert len(loads) == 2


def themed_theme(db, sid: int) -> int:
    """Return the id of one drafted theme of a session."""
    return next(t["id"] for t in synthesis.active_themes(db, sid) if t["kind"] == "theme")


def test_the_answers_a_planner_may_move_are_those_the_full_load_places(themed, db):
    """placed_answers names exactly the answers the full load groups (not hidden, withdrawn, blank or from another session)."""
    sid = themed.session["id"]
    stored = synthesis.load(db, sid)
    every = [row[0] for row in db.execute("SELECT id FROM responses")] + [10**9]
    assert synthesis.placed_answers(db, sid, every) == {a["id"] for a in stored.answers if a["id"] in stored.assignments}
    assert synthesis.placed_answers(db, sid, every * 3) == synthesis.placed_answers(db, sid, every)
    assert synthesis.placed_answers(db, sid + 1, every) == set()


def test_the_review_and_publish_pages_compute_the_same_from_the_load_without_lenses(themed, db):
    """Leaving "about you", choice answers and own words out of the load changes nothing the review or publish page shows."""
    from analysis.review import views

    sid = themed.session["id"]
    synthesis.set_reviewed(db, sid, themed_theme(db, sid), True, user_id=themed.planner_id)
    db.conn.commit()
    full, light = synthesis.load(db, sid), synthesis.load(db, sid, lenses=False)
    assert light.segments == {} and light.choices == [] and full.segments
    assert views.review_data(light, "en") == views.review_data(full, "en")
    assert views.publish_data(light) == views.publish_data(full)


def test_the_residents_page_computes_the_same_from_the_load_without_lenses(client, themed, db):
    """The residents' page from a load with choice answers but no "about you" answers equals the one from the full load."""
    from analysis import assemble

    choice = next(p for p in themed.prompts if p["kind"] in ("single", "multiple", "scale"))
    for n in range(12):
        person = make_participant(db, themed.session, quote_ok=False)
        picked = {"number": choice["scale_min"] + n % 2} if choice["kind"] == "scale" else {
            "choices": [choice["options"][n % 2]["id"]]}
        answer(db, themed.session, person, choice, **picked)
    db.conn.commit()
    publish(client, themed, db)
    sid = themed.session["id"]
    full, light = synthesis.load(db, sid), synthesis.load(db, sid, lenses=False, choices=True)
    assert light.segments == {} and light.choices == full.choices and full.choices
    for language in themed.session["languages"]:
        assert assemble.public_page(light, language) == assemble.public_page(full, language)
    assert synthesis.public_summary(db, sid, "en") == assemble.public_page(full, "en")


def test_who_was_heard_reads_the_same_tables_as_the_full_report_without_its_theme_sections(themed, db):
    """The page's report skips the theme sections (quotes, claims, sub-topics: the slow part) and nothing it shows
    differs from the full report's: people, participation, comparisons, themes by group, priority, what is withheld."""
    sid = themed.session["id"]
    stored = synthesis.load(db, sid)
    full = synthesis.report_from(db, stored, "en")
    lean = synthesis.report_from(db, stored, "en", themes=False)
    shown = ("participants", "participation", "representation", "representation_bars", "theme_by_group", "priority",
             "withheld", "threshold")
    assert {name: getattr(lean, name) for name in shown} == {name: getattr(full, name) for name in shown}
    assert full.themes and lean.themes == () and lean.other is None
    counted = synthesis.report_from(db, synthesis.load(db, sid, texts=False), "en", themes=False)
    assert dataclasses.replace(counted, generated_at="") == dataclasses.replace(lean, generated_at="")
