"""A theme run writes its placements in short batches (so residents' answers are never held up), keeps
what a person placed meanwhile, and runs once at a time per session."""
from __future__ import annotations

from analysis import assemble
from analysis.review import queries as synthesis
from listening.db import transaction
from tests.conftest import form_data, page, sign_in


def test_a_run_writes_its_placements_in_many_short_transactions(themed, db, monkeypatch):
    """With batches of 5, re-running 38 answers takes at least 8 write transactions, and every answer is placed."""
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 5)
    begun = []
    db.conn.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None)
    run = synthesis.run_themes(db, themed.session["id"], user_id=None)
    db.conn.set_trace_callback(None)
    answers = synthesis.open_answers(db, themed.session["id"])
    assert len(begun) >= len(answers) // 5 + 2
    placed = db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ?", (themed.session["id"],)).fetchone()[0]
    assert placed == len(answers) == run["answer_count"]
    assert run["finished_at"] is not None


def test_a_run_writes_its_batches_without_waiting_for_the_disk_and_copies_the_log_itself(themed, db, monkeypatch):
    """The placements' batches commit at synchronous NORMAL (no fsync while the write lock is held) and never copy
    the log into the database inside a commit (no automatic checkpoint), the run checkpoints the log itself every
    SETTLE_EVERY batches and at the end, and the connection's FULL and automatic checkpoint come back."""
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 5)
    monkeypatch.setattr(synthesis, "SETTLE_EVERY", 2)
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    during, statements, automatic = [], [], []
    pages = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages > 0
    original = synthesis._place_batch

    def spy(db_, *args, **kwargs):
        """Note the connection's synchronous setting while a batch is written."""
        during.append(db_.execute("PRAGMA synchronous").fetchone()[0])
        automatic.append(db_.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        return original(db_, *args, **kwargs)

    monkeypatch.setattr(synthesis, "_place_batch", spy)
    db.conn.set_trace_callback(statements.append)
    synthesis.run_themes(db, themed.session["id"], user_id=None)
    db.conn.set_trace_callback(None)
    answers = synthesis.open_answers(db, themed.session["id"])
    assert len(during) >= -(-len(answers) // 5) and set(during) == {1} and set(automatic) == {0}
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == pages
    checkpoints = [sql for sql in statements if "wal_checkpoint(PASSIVE)" in sql]
    assert len(checkpoints) >= len(during) // 2 + 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    placed = db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ?", (themed.session["id"],)).fetchone()[0]
    assert placed == len(answers)


def test_batches_shrink_when_they_hold_the_lock_too_long_and_every_answer_is_still_placed(themed, db, monkeypatch):
    """A batch that holds the write lock longer than LOCK_HOLD_S halves the next one (down to MIN_ASSIGNMENT_BATCH), and
    the run leaves the lock free between batches; every answer is placed once."""
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 8)
    monkeypatch.setattr(synthesis, "MIN_ASSIGNMENT_BATCH", 2)
    monkeypatch.setattr(synthesis, "LOCK_HOLD_S", 0.0)
    sizes = []
    original = synthesis._place_batch
    monkeypatch.setattr(synthesis, "_place_batch", lambda db_, sid, batch, *a: sizes.append(len(batch)) or original(db_, sid, batch, *a))
    synthesis.run_themes(db, themed.session["id"], user_id=None)
    answers = synthesis.open_answers(db, themed.session["id"])
    assert sizes[:2] == [4, 2] and set(sizes[1:-1]) == {2} and sum(sizes) == len(answers)
    placed = db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ?", (themed.session["id"],)).fetchone()[0]
    assert placed == len(answers)


def test_a_run_plans_its_placements_before_the_write_lock_and_again_only_if_a_theme_changed(themed, db, monkeypatch):
    """What to keep and which drafts continue is worked out once, before the lock; when the live themes read inside
    the lock differ (a theme retired meanwhile), it is worked out again from them."""
    sid = themed.session["id"]
    plans = []
    original_plan = synthesis._plan_placements
    monkeypatch.setattr(synthesis, "_plan_placements", lambda *a: plans.append(db.conn.in_transaction) or original_plan(*a))
    synthesis.run_themes(db, sid, user_id=None)
    assert plans == [False]
    plans.clear()
    original_themes = synthesis._live_themes

    def one_retired_inside(db_, session_id):
        """Inside the lock, the first draft theme is gone (merged away meanwhile)."""
        found = original_themes(db_, session_id)
        return dict(list(found.items())[1:]) if db_.conn.in_transaction else found

    monkeypatch.setattr(synthesis, "_live_themes", one_retired_inside)
    synthesis.run_themes(db, sid, user_id=None)
    assert plans == [False, True]


def test_an_answer_a_person_pins_during_a_run_keeps_its_place(themed, db, monkeypatch):
    """A planner moves an answer while the run is writing: the run's later batches do not move it back."""
    sid = themed.session["id"]
    moved = synthesis.open_answers(db, sid)[-1]["id"]
    original = synthesis._place_answers

    def place_then_move(db_, *args, **kwargs):
        """Let a planner move the last answer off-topic just before the placements are written."""
        synthesis.move_answer(db, sid, moved, None, user_id=None, off_topic=True)
        original(db_, *args, **kwargs)

    monkeypatch.setattr(synthesis, "_place_answers", place_then_move)
    synthesis.run_themes(db, sid, user_id=None)
    row = db.execute("SELECT status, pinned FROM theme_assignments WHERE response_id = ?", (moved,)).fetchone()
    assert tuple(row) == ("off_topic", 1)


def test_a_second_run_while_one_is_writing_is_refused_with_a_clear_message(client, themed, db):
    """An unfinished run of the session (started minutes ago) makes the Run button answer 409 and change nothing."""
    sid = themed.session["id"]
    with transaction(db):
        db.execute("UPDATE theme_runs SET finished_at = NULL WHERE session_id = ?", (sid,))
    before = db.execute("SELECT count(*) FROM theme_runs").fetchone()[0]
    sign_in(client, "lead@example.org", "a long password")
    shown = client.get(f"/staff/review/{sid}")
    forms = [i for i, f in enumerate(page(shown).find_all("form", method="post")) if str(f.get("action", "")).endswith("/run")]
    response = client.post(f"/staff/review/{sid}/run", data=form_data(shown, forms[0]))
    assert response.status_code == 409
    assert "already running" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM theme_runs").fetchone()[0] == before


def test_a_themes_page_lists_its_answers_a_hundred_at_a_time(client, themed, db, monkeypatch):
    """With pages of 5, a theme's page shows its 5 most typical answers and a link to the next 5, until all are shown once."""
    sid = themed.session["id"]
    monkeypatch.setattr(synthesis, "THEME_PAGE", 5)
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    expected = [a["id"] for a in assemble.theme_answers(synthesis.load(db, sid))[theme["id"]]]
    sign_in(client, "lead@example.org", "a long password")
    url, seen = f"/staff/review/{sid}?theme={theme['id']}", []
    while url:
        soup = page(client.get(url))
        ids = [int(box["value"]) for box in soup.select("#theme input[name=answer_ids]")]
        assert 0 < len(ids) <= 5
        seen += ids
        link = soup.select_one("#theme .pager-links a[rel=next]")
        url = link["href"] if link else None
    assert seen == expected


def test_a_run_reads_the_placements_before_the_write_lock_and_again_only_if_one_moved(themed, db, monkeypatch):
    """The placements (200,000 rows in a big session) are read outside the write lock; a planner's move between that
    read and the lock is seen (they are read again, and the moved answer keeps its place), and with no move they are
    read once."""
    sid = themed.session["id"]
    reads = []
    original = synthesis._placements
    monkeypatch.setattr(synthesis, "_placements", lambda db_, sid_: reads.append(sid_) or original(db_, sid_))
    synthesis.run_themes(db, sid, user_id=None)
    assert len(reads) == 1

    moved = synthesis.open_answers(db, sid)[0]["id"]
    reads.clear()

    def read_then_move(db_, sid_):
        """Read the placements, then let a planner move an answer off-topic before the run takes the lock."""
        found = original(db_, sid_)
        if not reads:
            synthesis.move_answer(db, sid, moved, None, user_id=None, off_topic=True)
        reads.append(sid_)
        return found

    monkeypatch.setattr(synthesis, "_placements", read_then_move)
    synthesis.run_themes(db, sid, user_id=None)
    assert len(reads) == 2
    row = db.execute("SELECT status, pinned FROM theme_assignments WHERE response_id = ?", (moved,)).fetchone()
    assert tuple(row) == ("off_topic", 1)


def test_a_run_stores_its_themes_without_an_fsync_or_json_inside_the_lock(themed, db, monkeypatch):
    """The themes' transaction commits at synchronous NORMAL with every theme's details encoded before it (sub-topics list
    every answer id: megabytes at 200,000 answers), the run copies the log itself after it, and FULL comes back."""
    encoded, stored_at = [], []
    original_details, original_store = synthesis.theme_details, synthesis._store_machine_themes
    monkeypatch.setattr(synthesis, "theme_details", lambda *a: encoded.append(db.conn.in_transaction) or original_details(*a))

    def store(db_, *args):
        """Note the connection's synchronous setting while the themes are written."""
        stored_at.append(db_.execute("PRAGMA synchronous").fetchone()[0])
        return original_store(db_, *args)

    monkeypatch.setattr(synthesis, "_store_machine_themes", store)
    statements = []
    db.conn.set_trace_callback(statements.append)
    synthesis.run_themes(db, themed.session["id"], user_id=None)
    db.conn.set_trace_callback(None)
    assert encoded and not any(encoded)
    assert stored_at == [1]
    themes_commit = next(i for i, sql in enumerate(statements) if sql.startswith("INSERT INTO theme_runs"))
    assert any("wal_checkpoint(PASSIVE)" in sql for sql in statements[themes_commit:])
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_run_reads_the_live_themes_without_their_stored_details_inside_the_lock(themed, db):
    """Inside the themes' transaction the run reads the live themes' ids, kinds, labels and marks only, never what the
    engine stored about them (every sub-topic's answer ids, megabytes at 200,000 answers), and decides as before."""
    sid = themed.session["id"]
    synthesis.run_themes(db, sid, user_id=None)
    inside = []
    db.conn.set_trace_callback(lambda sql: inside.append(sql) if db.conn.in_transaction else None)
    synthesis.run_themes(db, sid, user_id=None)
    db.conn.set_trace_callback(None)
    read = [sql for sql in inside if "FROM themes" in sql and sql.lstrip().startswith("SELECT")]
    assert read and not any("t.*" in sql or "subthemes" in sql or "claims" in sql for sql in read)
    live = synthesis._live_themes(db, sid)
    assert {tid: (t["kind"], t["label"], t["reviewed"]) for tid, t in live.items()} == {
        t["id"]: (t["kind"], t["label"], t["reviewed"]) for t in synthesis.active_themes(db, sid)}


def test_a_run_leaves_no_gap_between_batches_when_nobody_waits_for_the_lock(themed, db, monkeypatch):
    """With no other writer waiting, the batches follow each other without a pause (it was as long as each batch)."""
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 5)
    paused, sizes = [], []
    monkeypatch.setattr(synthesis, "_pause", paused.append)
    original = synthesis._place_batch
    monkeypatch.setattr(synthesis, "_place_batch", lambda db_, sid, batch, *a: sizes.append(len(batch)) or original(db_, sid, batch, *a))
    synthesis.run_themes(db, themed.session["id"], user_id=None)
    assert len(sizes) >= 3 and paused == []


def test_a_run_leaves_the_lock_free_after_a_batch_another_writer_waited_for(themed, db, app, monkeypatch):
    """A writer that waits for the lock while a batch holds it (here another thread's answer) gets the lock after that
    batch, before the run writes again (the run gives way at most as long as the batch held it, LOCK_GAP_S at most);
    the batches nobody waited for are followed by none."""
    import threading
    import time

    from listening.db import connect

    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 5)
    gave, batches, writers, order = [], [], [], []
    real_give_way = synthesis._give_way
    monkeypatch.setattr(synthesis, "_give_way", lambda db_, longest: gave.append((longest, real_give_way(db_, longest))))
    other = connect(app.config["DATABASE"])

    def answer_meanwhile(sql: str) -> None:
        """At the second batch's read inside its transaction, let another thread start a write and wait for the lock."""
        if sql.lstrip().startswith("SELECT r.id, a.response_id IS NOT NULL"):
            batches.append(sql)
            order.append("batch")
            if len(batches) == 2:
                writers.append(threading.Thread(target=lambda: (_write_once(other), order.append("answer"))))
                writers[0].start()
                time.sleep(0.02)

    db.conn.set_trace_callback(answer_meanwhile)
    synthesis.run_themes(db, themed.session["id"], user_id=None)
    db.conn.set_trace_callback(None)
    writers[0].join(5)
    assert len(batches) >= 4
    assert 1 <= len(gave) < len(batches) - 1
    assert all(0.02 <= longest <= synthesis.LOCK_GAP_S for longest, _free in gave)  # as long as the batch held it, at most
    assert order[:3] == ["batch", "batch", "answer"]  # the answer got in right after the batch it waited for
    assert other.execute("SELECT count(*) FROM theme_edits WHERE action = 'waited'").fetchone()[0] == 1
    other.conn.close()


class _Clock:
    """A clock for `_give_way` that moves only when it pauses: each look of the gap is one millisecond."""

    def __init__(self, then=None):
        self.now, self.looks, self.then = 1000.0, 0, then or (lambda looks: None)

    def monotonic(self) -> float:
        return self.now

    def monotonic_ns(self) -> int:
        return int(self.now * 1e9)

    def pause(self, seconds: float) -> None:
        self.now += seconds
        self.looks += 1
        self.then(self.looks)


def _given_way(db, monkeypatch, clock: _Clock, longest: float = 0.08) -> float:
    """Run `_give_way` on the fake clock; return how long it left the lock free."""
    import types

    monkeypatch.setattr(synthesis, "time", types.SimpleNamespace(monotonic=clock.monotonic, monotonic_ns=clock.monotonic_ns))
    monkeypatch.setattr(synthesis, "_pause", clock.pause)
    return synthesis._give_way(db, longest)


def test_a_run_gives_way_only_a_moment_when_nobody_writes_or_waits(db, monkeypatch):
    """With no other writer holding or waiting for the lock, the run goes on after half the gap it may leave (at least
    GIVE_WAY_QUIET_S), not the whole gap."""
    clock = _Clock()
    free = _given_way(db, monkeypatch, clock)
    assert abs(free - 0.04) < 0.0015 and clock.looks <= 41
    assert abs(_given_way(db, monkeypatch, _Clock(), longest=0.004) - synthesis.GIVE_WAY_QUIET_S) < 0.0015


def test_a_run_gives_way_while_another_process_has_the_turn_and_goes_on_once_it_ends(db, app, monkeypatch):
    """While another process has the turn on the lock file the run waits (never longer than it was asked to); once the
    other writer is done and nobody waits, it goes on after half the gap's length of quiet."""
    import fcntl
    import os

    other = os.open(app.config["DATABASE"] + "-writer", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        assert abs(_given_way(db, monkeypatch, _Clock()) - 0.08) < 0.0015  # held all along: the whole gap, no more

        def release_at_ten(looks: int) -> None:
            """The other process's write ends at the tenth look."""
            if looks == 10:
                fcntl.flock(other, fcntl.LOCK_UN)

        fcntl.flock(other, fcntl.LOCK_EX)
        free = _given_way(db, monkeypatch, _Clock(release_at_ten), longest=0.04)
        assert abs(free - (0.010 + 0.02)) < 0.0025
    finally:
        os.close(other)


def test_a_run_gives_way_while_another_writer_says_it_waits(db, app, monkeypatch):
    """A writer that says in the lock file that it waits (every millisecond while it waits) keeps the lock free for it;
    once it stops saying so the run goes on after half the gap's length of quiet."""
    import os
    import struct

    clock = _Clock()
    descriptor = os.open(app.config["DATABASE"] + "-writer", os.O_RDWR)

    def waits_until_the_fifth(looks: int) -> None:
        """Another process says it waits at each look up to the fifth."""
        if looks <= 5:
            os.pwrite(descriptor, struct.pack("<qqq", clock.monotonic_ns(), os.getpid() + 1, 0), 0)

    clock.then = waits_until_the_fifth
    try:
        free = _given_way(db, monkeypatch, clock, longest=0.02)
    finally:
        os.close(descriptor)
    assert 0.005 + 0.01 - 0.0015 < free < 0.005 + 0.01 + 0.0025


def _write_once(db) -> None:
    """Write one row (as a resident's answer would), waiting for the lock if it is held."""
    with transaction(db):
        db.execute("INSERT INTO theme_edits (session_id, action, detail, at) SELECT id, 'waited', '', '' FROM sessions LIMIT 1")


def test_machine_themes_are_matched_to_drafts_as_by_each_pairs_jaccard_similarity():
    """Counting each machine theme's overlap with every draft in one pass over its answers matches the same drafts as
    the Jaccard similarity of each pair of answer sets (random themes, ties, empty drafts, a group of another kind)."""
    import random
    from types import SimpleNamespace

    def by_pairs(machine_themes, themes, members):
        """The matching as it was: every pair's `_jaccard`, best first, one to one."""
        pairs = sorted((-synthesis._jaccard(set(m.answer_ids), members.get(tid, set())), m.id, tid)
                       for m in machine_themes for tid, t in themes.items() if t["kind"] == "theme"
                       if synthesis._jaccard(set(m.answer_ids), members.get(tid, set())) >= synthesis.MATCH_THRESHOLD)
        matched, taken = {}, set()
        for _score, machine_id, theme_id in pairs:
            if machine_id not in matched and theme_id not in taken:
                matched[machine_id], _ = theme_id, taken.add(theme_id)
        return matched

    rng = random.Random(21)
    found = 0
    for _round in range(40):
        answers = list(range(rng.randrange(1, 300)))
        themes = {tid: {"kind": "other" if tid == 9 else "theme"} for tid in rng.sample(range(1, 12), rng.randrange(1, 8))}
        members: dict[int, set[int]] = {tid: set() for tid in themes if rng.random() < 0.9}
        for rid in answers:
            if members and rng.random() < 0.8:
                members[rng.choice(sorted(members))].add(rid)
        machine = [SimpleNamespace(id=f"m{i}", answer_ids=tuple(rng.sample(answers, rng.randrange(0, len(answers) + 1))))
                   for i in range(rng.randrange(1, 7))]
        matched = synthesis._match_machine_themes(machine, themes, members)
        assert matched == by_pairs(machine, themes, members)
        found += len(matched)
    assert found > 10
