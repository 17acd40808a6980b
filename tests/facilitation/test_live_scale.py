"""The console and projector count and window answers in SQL on the question's index, with the same
rules as the row-by-row functions (visible, quotable, on the wall), so a big session stays quick."""
from __future__ import annotations

import random

import pytest

from facilitation import live_queries as lq
from listening import queries
from listening.db import transaction
from tests.factories import make_participant, make_session

PROMPTS = [{"kind": "open", "text": "What helps you?"},
           {"kind": "multiple", "text": "What would help?", "options": ["Rides", "Food", "Doulas"]},
           {"kind": "scale", "text": "How well were you heard?"}]


@pytest.fixture
def room(db):
    """A live session where 80 residents answered every question, some hidden, declined, approved, skipped or blank."""
    session = make_session(db, mode="live", prompts=PROMPTS)
    open_q, multi, scale = queries.prompts_for_session(db, session["id"])
    rng = random.Random(7)
    with transaction(db):
        for i in range(80):
            person = make_participant(db, session, quote_ok=i % 3 != 0)
            text = ["", "   ", f"answer {i}"][min(i % 7, 2)]
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=open_q["id"],
                                  nonce=f"o{i}", language="en", text=text or None, skipped=i % 11 == 0)
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=multi["id"], nonce=f"m{i}",
                                  language="en", choices=[o["id"] for o in rng.sample(multi["options"], rng.randint(1, 3))])
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=scale["id"],
                                  nonce=f"s{i}", language="en", number=rng.randint(scale["scale_min"], scale["scale_max"]))
    for row in lq.visible_responses(db, session["id"], open_q["id"])[::5]:
        lq.hide_response(db, session["id"], row["id"], user_id=None, reason="test")
    for n, row in enumerate(lq.wall_candidates(lq.visible_responses(db, session["id"], open_q["id"]))):
        if n % 4:
            lq.decide_wall(db, session["id"], row["id"], approve=n % 4 != 1, user_id=None)
    return queries.session_by_id(db, session["id"]), open_q, multi, scale


@pytest.mark.parametrize("moderated", [True, False])
def test_sql_counts_and_windows_match_the_row_by_row_rules(db, room, moderated):
    """Counts, tallies, the wall's newest 30, the waiting queue and each answer's wall state agree with the Python rules."""
    session, open_q, multi, scale = room
    lq.set_wall_moderation(db, session["id"], moderated, user_id=None)
    session = queries.session_by_id(db, session["id"])
    visible = [r for r in lq.visible_responses(db, session["id"], open_q["id"]) if not r["skipped"]]
    assert lq.visible_count(db, session["id"], open_q["id"]) == len(visible)
    assert lq.visible_count(db, session["id"], open_q["id"], written=True) == sum(1 for r in visible if (r["text"] or "").strip())
    for prompt in (multi, scale):
        rows = lq.visible_responses(db, session["id"], prompt["id"])
        assert lq.visible_tallies(db, session["id"], prompt) == lq.tallies(prompt, rows)
    candidates = lq.wall_candidates(visible)
    shown = lq.wall_answers(session, candidates)
    assert [r["id"] for r in lq.wall_window(db, session, open_q["id"])] == [r["id"] for r in shown][-30:]
    queue, waiting = lq.wall_waiting(db, session, open_q["id"])
    expected = lq.wall_queue(session, candidates)
    assert waiting == min(len(expected), lq.WAITING_CAP + 1) and [r["id"] for r in queue] == [r["id"] for r in expected][:30]
    on_wall, in_queue = {r["id"] for r in shown}, {r["id"] for r in expected}
    for row in lq.answer_feed(db, session["id"], open_q["id"]):
        want = None if row["id"] not in {c["id"] for c in candidates} else \
            "on_wall" if row["id"] in on_wall else "waiting" if row["id"] in in_queue else "kept_off"
        assert lq.wall_state(session, row) == want


def plan(db, sql: str, params) -> str:
    """Return SQLite's query plan for a statement, as one line."""
    return " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_live_counts_and_feeds_use_the_questions_index_not_the_sessions(db, room):
    """Counting (from covering indexes), the feed and the wall windows search responses by the question, never by session, and never sort them all."""
    session, open_q, _multi, _scale = room
    args = (open_q["id"], session["id"])
    for sql in (f"SELECT count(*) {lq.VISIBLE_SQL}",
                f"SELECT r.id {lq.CANDIDATE_SQL} AND r.wall_status = 'approved' ORDER BY r.id DESC LIMIT 30",
                f"SELECT r.id {lq.CANDIDATE_SQL} AND r.wall_status IS NULL ORDER BY r.id LIMIT 30"):
        found = plan(db, sql, args)
        assert "responses_by_session" not in found and "INDEX responses_" in found, found
        assert "TEMP B-TREE" not in found, found
    assert "COVERING INDEX responses_tallies" in plan(db, f"SELECT count(*) {lq.VISIBLE_SQL}", args)
    # The count and the bars the projector polls read the kept counts (a few rows per question), not the answers.
    for call in (lambda: lq.visible_count(db, session["id"], _multi["id"]), lambda: lq.visible_tallies(db, session["id"], _multi)):
        kept = traced_plans(db, call)
        assert kept and all(line.startswith("SEARCH t USING PRIMARY KEY (session_id=? AND prompt_id=?)") for line in kept), kept
    counts = plan(db, "SELECT r.language, r.source, count(*) FROM responses r WHERE r.prompt_id = ? AND r.skipped = 0 "
                      "GROUP BY r.language, r.source", (open_q["id"],))
    assert "COVERING INDEX responses_live_counts" in counts, counts
    feed = plan(db, """SELECT r.id FROM responses r JOIN participants p ON p.id = r.participant_id
                       WHERE r.prompt_id = ? AND +r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
                       ORDER BY r.updated_at DESC, r.id DESC LIMIT 200""", args)
    assert "responses_feed" in feed and "responses_by_session" not in feed, feed


def test_a_long_wall_queue_is_counted_up_to_the_cap(db, room, monkeypatch):
    """Past the cap the queue's count stops (the console then says "More than"), and the first 30 still come oldest first."""
    session, open_q, _multi, _scale = room
    monkeypatch.setattr(lq, "WAITING_CAP", 3)
    queue, waiting = lq.wall_waiting(db, session, open_q["id"])
    assert waiting == 4 and [r["id"] for r in queue] == sorted(r["id"] for r in queue)


def traced_plans(db, call) -> list[str]:
    """Run `call()` and return the query plan of every statement it ran, one line each."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        db.conn.set_trace_callback(None)
    return [plan(db, sql, ()) for sql in statements if sql.lstrip().upper().startswith("SELECT")]


def test_the_wall_and_its_queue_read_only_the_index_of_answers_allowed_on_the_wall(db, room):
    """The wall's newest 30, the queue's oldest 30 and its count search the partial index `responses_wall`, never the question's
    other answers, and never sort more than the window (where nobody allowed the wall the index is empty: nothing is walked)."""
    session, open_q, _multi, _scale = room
    found = []
    for moderated in (True, False):
        lq.set_wall_moderation(db, session["id"], moderated, user_id=None)
        session = queries.session_by_id(db, session["id"])
        found += traced_plans(db, lambda: (lq.wall_window(db, session, open_q["id"]), lq.wall_waiting(db, session, open_q["id"])))
    assert len(found) == 4
    for line in found:
        searches = [step for step in line.split(" | ") if step.startswith(("SEARCH r ", "SCAN r"))]
        assert searches and all("INDEX responses_wall " in step for step in searches), line
        # A window of one range comes in index order; only the two ranges of an unmoderated wall are merged (60 rows).
        assert "TEMP B-TREE" not in line or "UNION ALL" in line, line


def test_the_wall_mark_follows_consent_and_text_and_never_lets_an_answer_up_alone(db, room):
    """`wall_ok` follows a consent that stops (or starts) allowing the screen and an answer's text; a forged mark shows nothing."""
    session, open_q, _multi, _scale = room
    lq.set_wall_moderation(db, session["id"], False, user_id=None)
    session = queries.session_by_id(db, session["id"])
    allowed = {r["id"] for r in lq.wall_answers(session, lq.wall_candidates(
        r for r in lq.visible_responses(db, session["id"], open_q["id"]) if not r["skipped"]))}
    marked = {r[0] for r in db.execute("SELECT id FROM responses WHERE wall_ok = 1 AND prompt_id = ?", (open_q["id"],))}
    assert allowed <= marked
    shown = lq.wall_window(db, session, open_q["id"])
    newest = one_row(db, shown[-1]["id"])
    with transaction(db):
        db.execute("UPDATE consents SET quote_scope = 'reports' WHERE participant_id = ?", (newest["participant_id"],))
    assert one_row(db, newest["id"])["wall_ok"] == 0
    assert newest["id"] not in [r["id"] for r in lq.wall_window(db, session, open_q["id"])]
    with transaction(db):
        db.execute("UPDATE consents SET quote_scope = 'screen_and_reports' WHERE participant_id = ?", (newest["participant_id"],))
        db.execute("UPDATE responses SET text = '   ' WHERE id = ?", (newest["id"],))
    assert one_row(db, newest["id"])["wall_ok"] == 0
    # An answer whose author never allowed quoting, forged into the index, is still checked against the consent.
    refused = db.execute("""SELECT r.id FROM responses r JOIN consents c ON c.participant_id = r.participant_id
                            WHERE r.prompt_id = ? AND c.quote_ok = 0 AND r.text IS NOT NULL AND trim(r.text) != ''
                              AND r.hidden_at IS NULL AND r.skipped = 0 ORDER BY r.id DESC LIMIT 1""", (open_q["id"],)).fetchone()[0]
    with transaction(db):
        db.execute("UPDATE responses SET wall_ok = 1, wall_status = 'approved' WHERE id = ?", (refused,))
    assert refused not in [r["id"] for r in lq.wall_window(db, session, open_q["id"], limit=1000)]
    assert refused not in [r["id"] for r in lq.wall_waiting(db, session, open_q["id"], limit=1000)[0]]


def one_row(db, response_id: int) -> dict:
    """Return one answer row as a dict."""
    return dict(db.execute("SELECT * FROM responses WHERE id = ?", (response_id,)).fetchone())


def test_the_console_feed_shows_one_screen_and_links_to_older_answers_without_javascript(db, room, as_admin):
    """The console shows the newest FEED_SIZE answers and an "Older answers" link (a keyset on the feed index); following it shows the next ones, then the way back."""
    from tests.conftest import page

    session, open_q, _multi, _scale = room
    lq.show_prompt(db, session["id"], open_q["id"])
    first = page(as_admin.get(f"/staff/sessions/{session['id']}/live"))
    ids = [int(li["data-response"]) for li in first.select("#feed ul.feed > li")]
    assert len(ids) == lq.FEED_SIZE
    older = first.select_one("#feed a[rel=next]")
    assert older is not None and f"older={ids[-1]}" in older["href"]
    second = page(as_admin.get(older["href"]))
    more = [int(li["data-response"]) for li in second.select("#feed ul.feed > li")]
    expected = [r["id"] for r in lq.answer_feed(db, session["id"], open_q["id"], limit=1000)]
    assert ids + more == expected[:len(ids) + len(more)] and more and not set(ids) & set(more)
    assert second.select_one("#feed a[rel=next]") is None
    # The older page is a keyset search on (question, updated_at), not an offset or a sort.
    keyset = traced_plans(db, lambda: lq.answer_feed(db, session["id"], open_q["id"], older_than=ids[-1]))[0]
    assert "INDEX responses_feed (prompt_id=? AND updated_at<?)" in keyset and "TEMP B-TREE" not in keyset, keyset
    assert second.select_one("#feed .feed-pages a")["href"].endswith(f"/staff/sessions/{session['id']}/live#feed")
    assert f"older={ids[-1]}" in second.select_one("#live-panel")["data-src"]
    panel = page(as_admin.get(f"/staff/sessions/{session['id']}/live/panel?older={ids[-1]}"))
    assert [int(li["data-response"]) for li in panel.select("ul.feed > li")] == more
    # Hiding an answer on the older page comes back to that page.
    hide = next(f for f in second.select("#feed form.moderate") if f.select_one("input[name=reason]"))
    fields = {i["name"]: i.get("value", "") for i in hide.select("input[type=hidden]")}
    done = as_admin.post(hide["action"], data={**fields, "reason": "test", "action": "hide"})
    assert done.status_code == 303 and f"older={ids[-1]}" in done.headers["Location"]
