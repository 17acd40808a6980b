"""A theme run's placements move the kept counts once per batch (m045, `analysis.review.placing`), and end exactly where
the per-row triggers would have left them: the same placements, the same counts, equal to a recount."""
from __future__ import annotations

import random
from contextlib import contextmanager

import pytest

from analysis.review import placing, tallies
from analysis.review import queries as synthesis
from listening import queries
from listening.db import connect, transaction
from tests.factories import make_participant, make_session

COUNTED = ("answer_tallies", "heard_answers", "heard_people", "heard_profiles")


def counts(db) -> dict[str, list[tuple]]:
    """Return every row of the kept counts."""
    return {table: sorted(tuple(row) for row in db.execute(f"SELECT * FROM {table}")) for table in COUNTED}


def placements(db, sid: int) -> list[tuple]:
    """Return the session's placements as a run leaves them (not when each was written)."""
    return [tuple(row) for row in db.execute("SELECT response_id, theme_id, status, pinned, rank, quote FROM theme_assignments "
                                             "WHERE session_id = ? ORDER BY response_id", (sid,))]


def version(db, table: str, sid: int) -> int:
    """Return a session's counter in `data_versions` or `placement_versions`."""
    found = db.execute(f"SELECT version FROM {table} WHERE session_id = ?", (sid,)).fetchone()
    return found[0] if found else 0


def with_a_foreign_author(db, themed) -> None:
    """Add an answer to the session's open question by a person of another session (counted as foreign)."""
    stranger = make_participant(db, make_session(db))
    db.execute("INSERT INTO responses (session_id, participant_id, prompt_id, language, text, created_at, updated_at) "
               "VALUES (?, ?, ?, 'es', 'El autobús a la clínica no llega', 'now', 'now')",
               (themed.session["id"], stranger.id, themed.prompts[0]["id"]))
    db.conn.commit()


class Undo(Exception):
    """Raised to roll a transaction back after looking at what it did."""


def test_the_grouped_statements_count_what_the_triggers_count(themed, db):
    """Random placement changes (moved, unthemed, off topic, deleted, added; hidden, withdrawn and foreign authors' answers,
    "about you" profiles) written per row through the triggers and in one batch through `counted_once` leave the same
    counts, equal to a recount; the batch bumps the session's counters once."""
    sid = themed.session["id"]
    with_a_foreign_author(db, themed)
    themes = [t["id"] for t in synthesis.active_themes(db, sid)]
    answers = [row[0] for row in db.execute("SELECT id FROM responses WHERE session_id = ? AND text IS NOT NULL", (sid,))]
    rng = random.Random(45)
    writes, moved = [], []
    for rid in answers:
        choice = rng.randrange(5)
        if choice == 0:
            continue
        moved.append(rid)
        if choice == 4:
            writes.append(("DELETE FROM theme_assignments WHERE response_id = ?", (rid,)))
        else:
            theme, status = [(rng.choice(themes), "theme"), (None, "contentless"), (None, "off_topic")][choice - 1]
            writes.append(("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, rank, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, 'now') ON CONFLICT (response_id) DO UPDATE SET theme_id = excluded.theme_id, "
                           "status = excluded.status, rank = excluded.rank", (rid, sid, theme, status, rng.randrange(50))))
    assert tallies.recount(db) == {}
    start, per_row = counts(db), {}
    with pytest.raises(Undo), transaction(db):
        for sql, args in writes:
            db.execute(sql, args)
        per_row = counts(db)
        raise Undo
    before = {table: version(db, table, sid) for table in ("data_versions", "placement_versions")}
    with transaction(db), placing.counted_once(db, sid, moved):
        for sql, args in writes:
            db.execute(sql, args)
    assert counts(db) == per_row != start
    assert tallies.recount(db) == {}
    assert {table: version(db, table, sid) for table in before} == {table: n + 1 for table, n in before.items()}
    assert not db.execute("SELECT * FROM bulk_placing").fetchall()


def test_the_flag_is_never_left_outside_a_transaction(db):
    """`counted_once` refuses to start outside the caller's transaction, where its flag could be committed."""
    with pytest.raises(RuntimeError):
        with placing.counted_once(db, 1, []):
            pass


@contextmanager
def triggers_per_row(db, session_id, moved):
    """Write without the flag: every placement's own triggers count it (what runs did before m045)."""
    yield


def test_a_run_in_batches_places_and_counts_as_the_triggers_would(app, themed, db, tmp_path, monkeypatch):
    """A re-run in batches of 2 to 4, with a pinned answer, a reviewed theme, a hidden answer, a foreign author, "about
    you" profiles and a resident withdrawing after the first batch: the same placements and counts as the same run
    with the per-row triggers, equal to a recount; the pin and the reviewed theme's members kept, the withdrawn
    person's answer not placed, the placements' counter moved."""
    sid = themed.session["id"]
    with_a_foreign_author(db, themed)
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    members = synthesis.current_members(db, sid)
    pinned = sorted(members[themes[0]["id"]])[0]
    synthesis.move_answer(db, sid, pinned, themes[1]["id"], user_id=themed.planner_id)
    synthesis.set_reviewed(db, sid, themes[2]["id"], True, user_id=themed.planner_id)
    reviewed = set(synthesis.current_members(db, sid)[themes[2]["id"]])
    db.execute("UPDATE theme_assignments SET rank = rank + 7 WHERE theme_id = ?", (themes[0]["id"],))  # ranks to rewrite
    db.conn.commit()
    leaving = db.execute("SELECT participant_id, id FROM responses WHERE session_id = ? AND text IS NOT NULL AND participant_id "
                         "IN (SELECT id FROM participants WHERE session_id = ?) ORDER BY id DESC LIMIT 1", (sid, sid)).fetchone()
    copy = connect(str(tmp_path / "copy.db"))
    db.conn.backup(copy.conn)
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 4)
    monkeypatch.setattr(synthesis, "MIN_ASSIGNMENT_BATCH", 2)
    real_batch = synthesis._place_batch
    found = {}
    for name, target in (("bulk", db), ("per row", copy)):
        if name == "per row":
            monkeypatch.setattr(placing, "counted_once", triggers_per_row)
        written: list[int] = []

        def batch_then_withdraw(db_, *args, target=target, written=written):
            """Write a batch; after the first, the last answer's author withdraws."""
            took = real_batch(db_, *args)
            written.append(1)
            if len(written) == 1:
                queries.withdraw_for(target, leaving[0], reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0],
                                     by_user=themed.planner_id)
            return took

        monkeypatch.setattr(synthesis, "_place_batch", batch_then_withdraw)
        before = version(target, "placement_versions", sid)
        synthesis.run_themes(target, sid, user_id=themed.planner_id)
        assert len(written) > 5 and version(target, "placement_versions", sid) > before
        assert tallies.recount(target) == {}, name
        found[name] = (placements(target, sid), counts(target))
    assert found["bulk"] == found["per row"]
    placed = {row[0]: row for row in found["bulk"][0]}
    assert placed[pinned][1:4] == (themes[1]["id"], "theme", 1)
    assert all(placed[rid][1] == themes[2]["id"] for rid in reviewed)
    assert leaving[1] not in placed
    assert not db.execute("SELECT * FROM bulk_placing").fetchall()
    copy.conn.close()
