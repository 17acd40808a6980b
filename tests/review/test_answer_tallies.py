"""The answer counts the triggers keep (m036, `answer_tallies`) never drift from counting the answers: after every
write the app makes, and after any SQL write of an answer, its author or its placement, cascades included."""
from __future__ import annotations

import random
import sqlite3

from analysis.review import queries as synthesis
from analysis.review import tallies
from facilitation import live_queries as lq
from listening import queries, retention
from listening.backup import backup, restore
from listening.db import connect
from tests.factories import make_participant, make_session
from tests.review.conftest import answer
from tests.review.test_tallies import assert_same_as_full_load, varied


def test_every_removal_and_change_the_app_makes_keeps_the_counts_exact_and_the_pages_equal(client, themed, db):
    """Withdrawals (by receipt and by staff), hidden and restored answers, edits, a skip, moves, a merge, a re-run,
    a narrower scope and a retention purge: the kept counts equal a recount after each, and the pages the full load."""
    sid = varied(client, themed, db)
    planner = themed.planner_id
    assert tallies.recount(db) == {}
    open_prompt = themed.prompts[0]
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    members = synthesis.current_members(db, sid)
    first, last = sorted(members[themes[0]["id"]]), sorted(members[themes[-1]["id"]])
    author = db.execute("SELECT participant_id FROM responses WHERE id = ?", (first[0],)).fetchone()[0]
    leaving = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, leaving, open_prompt, text="I will leave about the bus")
    db.conn.commit()

    def edit(response_id: int, **values) -> None:
        """Answer again, as a resident going back to change an answer."""
        person, prompt_id = db.execute("SELECT participant_id, prompt_id FROM responses WHERE id = ?", (response_id,)).fetchone()
        queries.save_response(db, session_id=sid, participant_id=person, prompt_id=prompt_id, nonce=f"edit-{response_id}-{len(values)}",
                              language="en", **values)

    steps = [
        lambda: queries.withdraw(db, leaving.receipt),
        lambda: queries.withdraw_for(db, author, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=planner),
        lambda: lq.hide_response(db, sid, first[1], user_id=planner, reason="abuse"),
        lambda: lq.hide_response(db, sid, first[2], user_id=planner, reason="abuse"),
        lambda: lq.restore_response(db, sid, first[2], user_id=planner),
        lambda: edit(first[3], text="   "),
        lambda: edit(first[4], skipped=True),
        lambda: edit(last[0], text="A new text about the clinic hours"),
        lambda: synthesis.move_answer(db, sid, last[1], themes[0]["id"], user_id=planner),
        lambda: synthesis.move_answer(db, sid, last[2], None, user_id=planner, off_topic=True),
        lambda: synthesis.merge_themes(db, sid, themes[0]["id"], themes[1]["id"], user_id=planner),
        lambda: synthesis.run_themes(db, sid, user_id=planner),
        lambda: synthesis.save_settings(db, sid, prompt_ids=[open_prompt["id"]]),
    ]
    for number, step in enumerate(steps):
        step()
        db.conn.commit()
        assert tallies.recount(db) == {}, number
        if number in (1, 4, 10, 12):
            assert_same_as_full_load(db, sid)
    retention.purge_session(db, sid, reason="retention period over")
    db.conn.commit()
    assert tallies.recount(db) == {}
    assert not db.execute("SELECT 1 FROM answer_tallies WHERE n = 0").fetchall()  # a withdrawal leaves no trace


def test_any_sql_write_of_answers_authors_and_placements_keeps_the_counts_exact(themed, db):
    """Random inserts, updates and deletes (answers moved between questions and sessions, authors withdrawn and
    restored, placements changed, themes, people and a whole session deleted with their cascades): no drift."""
    sid = themed.session["id"]
    other = make_session(db)
    stranger = make_participant(db, other)
    db.conn.commit()
    rng = random.Random(19)
    prompts = [p["id"] for p in themed.prompts] + [p["id"] for p in queries.prompts_for_session(db, other["id"])]
    themes = [t["id"] for t in synthesis.active_themes(db, sid)]

    def some(sql: str, *args):
        """Return one id the query finds, at random, or None."""
        found = [row[0] for row in db.execute(sql, args).fetchall()]
        return rng.choice(found) if found else None

    writes = [
        lambda r: db.execute("UPDATE responses SET text = ? WHERE id = ?", (rng.choice(["", "  ", None, "bus again"]), r)),
        lambda r: db.execute("UPDATE responses SET skipped = 1 - skipped WHERE id = ?", (r,)),
        lambda r: db.execute("UPDATE responses SET hidden_at = CASE WHEN hidden_at IS NULL THEN 'now' END WHERE id = ?", (r,)),
        lambda r: db.execute("UPDATE OR IGNORE responses SET prompt_id = ? WHERE id = ?", (rng.choice(prompts), r)),
        lambda r: db.execute("UPDATE responses SET language = ?, choices = ?, number = ? WHERE id = ?",
                             (rng.choice(["en", "es"]), rng.choice([None, "", "[1, 2]", "[1]"]), rng.choice([None, 0, 3]), r)),
        lambda r: db.execute("UPDATE responses SET session_id = ? WHERE id = ?", (rng.choice([sid, other["id"]]), r)),
        lambda r: db.execute("UPDATE participants SET withdrawn_at = CASE WHEN withdrawn_at IS NULL THEN 'now' END "
                             "WHERE id = (SELECT participant_id FROM responses WHERE id = ?)", (r,)),
        lambda r: db.execute("UPDATE participants SET session_id = ? WHERE id = (SELECT participant_id FROM responses WHERE id = ?)",
                             (rng.choice([sid, other["id"]]), r)),
        lambda r: db.execute("UPDATE theme_assignments SET theme_id = ?, status = ? WHERE response_id = ?",
                             (rng.choice(themes + [None]), rng.choice(["theme", "off_topic", "contentless"]), r)),
        lambda r: db.execute("UPDATE theme_assignments SET session_id = ? WHERE response_id = ?", (rng.choice([sid, other["id"]]), r)),
        lambda r: db.execute("UPDATE theme_assignments SET rank = rank + 1, quote = NULL WHERE response_id = ?", (r,)),
        lambda r: db.execute("DELETE FROM theme_assignments WHERE response_id = ?", (r,)),
        lambda r: db.execute("INSERT OR IGNORE INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) "
                             "VALUES (?, ?, ?, 'theme', 'now')", (r, sid, rng.choice(themes))),
        lambda r: db.execute("DELETE FROM responses WHERE id = ?", (r,)),
        lambda r: db.execute("DELETE FROM participants WHERE id = (SELECT participant_id FROM responses WHERE id = ?)", (r,)),
        lambda r: db.execute("INSERT OR IGNORE INTO responses (session_id, participant_id, prompt_id, language, text, created_at, "
                             "updated_at) VALUES (?, ?, ?, 'en', 'a stranger wrote this', 'now', 'now')",
                             (sid, stranger.id, rng.choice(prompts))),
    ]
    for number in range(160):
        target = some("SELECT id FROM responses WHERE session_id IN (?, ?)", sid, other["id"])
        try:
            rng.choice(writes)(target)
            if number == 80:
                db.execute("DELETE FROM themes WHERE id = ?", (themes[-1],))  # placements' theme set to NULL
        except sqlite3.IntegrityError:  # a refused write is undone whole, its triggers' counts included
            pass
        if number % 20 == 0:
            assert tallies.recount(db) == {}, number
    assert tallies.recount(db) == {}
    db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
    assert tallies.recount(db) == {}
    assert not db.execute("SELECT 1 FROM answer_tallies WHERE session_id = ? OR n = 0", (sid,)).fetchall()


def test_languages_tied_in_a_theme_are_listed_as_the_full_load_lists_them(client, themed, db):
    """Two languages with as many answers each in a theme are ordered by their first answer in the theme's order
    (the only case that reads the theme's answers), as the full load orders them, whichever way round."""
    sid = varied(client, themed, db)
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"),
                key=lambda t: len(synthesis.current_members(db, sid)[t["id"]]))
    members = synthesis.current_members(db, sid)[theme["id"]]
    ranked = [r for (r,) in db.execute("SELECT response_id FROM theme_assignments WHERE theme_id = ? ORDER BY rank, response_id",
                                       (theme["id"],)) if r in members]
    assert len(ranked) >= 5
    orders = []
    for first, second in (("fr", "vi"), ("vi", "fr")):
        db.execute(f"UPDATE responses SET language = 'en' WHERE id IN ({', '.join('?' for _ in ranked)})", ranked)
        for language, ids in ((first, ranked[1:3]), (second, ranked[3:5])):
            db.conn.executemany("UPDATE responses SET language = ? WHERE id = ?", [(language, i) for i in ids])
        db.conn.commit()
        assert tallies.recount(db) == {}
        assert_same_as_full_load(db, sid)
        heard_in = tallies.review_data(db, sid, "en")["heard_in"][theme["id"]]
        assert len(heard_in) == 3
        orders.append(heard_in[1:])
    assert orders[0] == orders[1][::-1]  # the tie was decided by the theme's order, not by the languages' names


def test_a_backup_taken_before_a_withdrawal_restores_with_counts_that_leave_the_person_out(app, client, themed, db, tmp_path):
    """Backup, withdraw one resident by receipt and one whose answer is in a theme by staff, restore: the copy came back
    with both in its kept counts, and re-applying the withdrawals (by SQL, through the triggers) leaves counts equal to a
    recount and pages equal to the full load."""
    sid = themed.session["id"]
    leaving = make_participant(db, themed.session, quote_ok=True, language="es")
    answer(db, themed.session, leaving, themed.prompts[0], text="Me voy: el autobús a la clínica", language="es")
    db.conn.commit()
    counted_with = kept_count(db, sid)
    theme = next(t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme")
    placed = min(synthesis.current_members(db, sid)[theme["id"]])
    author, = db.execute("SELECT participant_id FROM responses WHERE id = ?", (placed,)).fetchone()
    authors_answers = db.execute("SELECT count(*) FROM responses WHERE participant_id = ? AND skipped = 0", (author,)).fetchone()[0]
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    queries.withdraw(db, leaving.receipt)
    queries.withdraw_for(db, author, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=themed.planner_id)
    db.conn.commit()
    counted_without = kept_count(db, sid)
    assert counted_without == counted_with - 1 - authors_answers
    db.conn.close()

    restored = restore(copy.path, app.config["DATABASE"], force=True)

    assert restored.withdrawals == 2
    again = connect(app.config["DATABASE"])
    try:
        assert tallies.recount(again) == {}
        assert kept_count(again, sid) == counted_without
        assert not again.execute("SELECT 1 FROM answer_tallies WHERE n = 0").fetchall()
        assert_same_as_full_load(again, sid)
    finally:
        again.conn.close()


def kept_count(db, sid: int) -> int:
    """Return how many of the session's answers the kept counts hold."""
    return db.execute("SELECT coalesce(sum(n), 0) FROM answer_tallies WHERE session_id = ?", (sid,)).fetchone()[0]
