"""Jobs resumable after a restart (issue 19): a theme run the consumer's death interrupted continues, when a new
consumer starts (`jobs.recover`), from its last committed batch with what its engine had found, if the session's
answers are as the engine read them; otherwise it says so and starts again. Its checkpoint file is a copy of
residents' words: an erasure deletes it like an export's file."""
from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

import analysis.themes
from analysis.review import queries as synthesis
from listening import erasures, jobs, queries
from listening.db import connect
from tests.conftest import migrated_app, sign_in, text_of


class Killed(BaseException):
    """The consumer's process dies (nothing of the job's own clean-up runs after this)."""


@pytest.fixture
def queued_app(tmp_path):
    """An app whose jobs wait in the SQLite queue; the test plays the consumer (`jobs.execute`)."""
    return migrated_app(tmp_path / "t.db", JOBS_THRESHOLD=0)


@pytest.fixture
def small_batches(monkeypatch):
    """Placements written four at a time, so a 30-answer run has several batches to be killed between (never halved
    for holding the lock long on a loaded machine)."""
    monkeypatch.setattr(synthesis, "ASSIGNMENT_BATCH", 4)
    monkeypatch.setattr(synthesis, "MIN_ASSIGNMENT_BATCH", 2)
    monkeypatch.setattr(synthesis, "LOCK_HOLD_S", 60.0)
    monkeypatch.setattr(synthesis, "PLACEMENT_BLOCK", 5)  # written in blocks of 5 by rank, not in answer-id order


def copied(app, tmp_path):
    """Return a connection to a page-for-page copy of the app's database as it is now."""
    path = tmp_path / "copy.db"
    source, target = sqlite3.connect(app.config["DATABASE"]), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    return connect(str(path))


def placed(db, session_id: int) -> dict:
    """Return every placement (status, theme label, rank, quote order) by answer id, and the live themes' labels."""
    found = {r[0]: tuple(r[1:]) for r in db.execute(
        """SELECT a.response_id, a.status, t.label, a.rank, a.quote FROM theme_assignments a
           LEFT JOIN themes t ON t.id = a.theme_id WHERE a.session_id = ?""", (session_id,))}
    labels = sorted(r[0] for r in db.execute("SELECT label FROM themes WHERE session_id = ? AND retired_at IS NULL",
                                             (session_id,)))
    return {"placed": found, "labels": labels}


def killed_after(app, db, monkeypatch, session_id: int, who: int, batches: int) -> int:
    """Start a theme job and kill its process once `batches` batches of placements have committed; return its id."""
    real = synthesis._place_batch
    written = []

    def dying(*args, **kwargs):
        """Write a batch, unless the process is already dead."""
        if len(written) == batches:
            raise Killed()
        written.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(synthesis, "_place_batch", dying)
    with app.test_request_context():
        job_id = jobs.submit(db, session_id, "themes", {}, who=who)
        with pytest.raises(Killed):
            jobs.execute(db, job_id)
    if db.conn.in_transaction:
        db.conn.rollback()
    # A dead process never reached the run's own `finally`: its run is still open, as after a real crash.
    db.execute("UPDATE theme_runs SET finished_at = NULL WHERE session_id = ?", (session_id,))
    db.conn.commit()
    monkeypatch.setattr(synthesis, "_place_batch", real)
    assert jobs.job_by_id(db, job_id)["state"] == "running"
    return job_id


def engine_counted(monkeypatch) -> list:
    """Count the engine's runs from now on."""
    calls = []
    real = analysis.themes.find_themes

    def counted(*args, **kwargs):
        """Run the engine and count it."""
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.themes, "find_themes", counted)
    return calls


def restart_consumer(app, db, job_id: int) -> str:
    """A new consumer starts: `recover` queues the job again, and the consumer runs it."""
    with app.test_request_context():
        assert jobs.recover(db) == [job_id]
        assert jobs.job_by_id(db, job_id)["state"] == "queued"
        return jobs.execute(db, job_id)


def test_a_run_killed_after_three_batches_continues_and_ends_as_an_uninterrupted_run(queued_app, heard, db, tmp_path,
                                                                                      monkeypatch, small_batches):
    """Killed after three committed batches, the run continues from the twelfth answer without running the engine
    again, and its themes and every placement (theme, rank, quote order) equal an uninterrupted run's."""
    sid = heard.session["id"]
    direct = copied(queued_app, tmp_path)
    synthesis.run_themes(direct, sid, user_id=heard.planner_id)
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=3)
    mark = jobs.job_by_id(db, job_id)["checkpoint"]
    assert mark["placed"] == 12 and mark["run_id"]
    assert erasures.checkpoint_file(queued_app.config["DATABASE"], job_id).exists()
    engine = engine_counted(monkeypatch)
    assert restart_consumer(queued_app, db, job_id) == "done"
    assert engine == []
    assert placed(db, sid) == placed(direct, sid)
    job = jobs.job_by_id(db, job_id)
    assert job["checkpoint"]["outcome"] == "continued" and job["progress"] == job["total"]
    assert not erasures.checkpoint_file(queued_app.config["DATABASE"], job_id).exists()
    assert db.execute("SELECT count(*) FROM theme_runs WHERE finished_at IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM theme_runs").fetchone()[0] == 1
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE detail LIKE ?", (f"job={job_id} %",))]
    assert actions == ["job_queued", "job_resumed", "job_done"]
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    assert "It continued where it had stopped" in text_of(client.get(f"/staff/sessions/{sid}/jobs/{job_id}"))


def test_a_run_begun_before_the_placements_were_written_in_blocks_continues_in_its_own_order(
        queued_app, heard, db, tmp_path, monkeypatch, small_batches):
    """A run interrupted under the version that wrote placements in answer-id order (its checkpoint names no order)
    continues in that order after an upgrade: every placement ends as an uninterrupted run's, none skipped."""
    sid = heard.session["id"]
    direct = copied(queued_app, tmp_path)
    synthesis.run_themes(direct, sid, user_id=heard.planner_id)
    blocks = synthesis._placement_order
    monkeypatch.setattr(synthesis, "_placement_order", lambda answers, result: answers)  # the older version
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=3)
    mark = dict(jobs.job_by_id(db, job_id)["checkpoint"])
    assert mark.pop("order") == "blocks"
    db.execute("UPDATE jobs SET checkpoint = ? WHERE id = ?", (json.dumps(mark), job_id))
    db.conn.commit()
    monkeypatch.setattr(synthesis, "_placement_order", blocks)
    answers = synthesis.open_answers(db, sid)
    assert [a["id"] for a in blocks(answers, _engine_result(direct, sid))] != [a["id"] for a in answers]
    assert restart_consumer(queued_app, db, job_id) == "done"
    assert placed(db, sid) == placed(direct, sid)


def _engine_result(db, session_id: int):
    """Return the engine's result over the session's open answers (as a run finds it)."""
    from analysis.themes import find_themes

    answers = synthesis.open_answers(db, session_id)
    return find_themes(synthesis.engine_answers(db, session_id, answers), seed=synthesis.SEED)


def test_an_answer_changed_in_between_makes_the_run_start_again_and_say_so(queued_app, heard, db, monkeypatch,
                                                                           small_batches):
    """An answer edited while the consumer was down: the kept result no longer covers the session, so the engine
    runs again over the answers as they are, the first run is closed, and the page says it started again."""
    sid = heard.session["id"]
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=2)
    edited = db.execute("SELECT min(response_id) FROM theme_assignments WHERE session_id = ?", (sid,)).fetchone()[0]
    db.execute("UPDATE responses SET text = text || ' and the night bus too' WHERE id = ?", (edited,))
    db.conn.commit()
    engine = engine_counted(monkeypatch)
    assert restart_consumer(queued_app, db, job_id) == "done"
    assert engine == [1]
    assert jobs.job_by_id(db, job_id)["checkpoint"]["outcome"] == "again"
    assert db.execute("SELECT count(*) FROM theme_runs WHERE finished_at IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM theme_runs").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE response_id = ?", (edited,)).fetchone()[0] == 1
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    assert "so it started again from the beginning" in text_of(client.get(f"/staff/sessions/{sid}/jobs/{job_id}"))


def test_a_withdrawal_in_between_deletes_the_checkpoint_and_the_answer_is_never_placed(queued_app, heard, db,
                                                                                       monkeypatch, small_batches):
    """Someone whose answer the run had not yet placed withdraws while the consumer is down: the checkpoint file (a
    copy of their words in the engine's themes) is deleted at once, and the restarted run never places the answer."""
    sid = heard.session["id"]
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=1)
    path = erasures.checkpoint_file(queued_app.config["DATABASE"], job_id)
    assert path.exists()
    leaving = db.execute("""SELECT r.id, r.participant_id FROM responses r JOIN participants p ON p.id = r.participant_id
                            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.text != '' AND r.hidden_at IS NULL
                              AND r.skipped = 0 AND r.id NOT IN (SELECT response_id FROM theme_assignments)
                            ORDER BY r.id DESC LIMIT 1""", (sid,)).fetchone()
    queries.withdraw_for(db, leaving[1], reason="in_person", by_user=heard.planner_id)
    assert not path.exists()
    assert restart_consumer(queued_app, db, job_id) == "done"
    assert jobs.job_by_id(db, job_id)["checkpoint"]["outcome"] == "again"
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE response_id = ?", (leaving[0],)).fetchone()[0] == 0


def test_a_withdrawal_while_the_engine_works_leaves_no_checkpoint(queued_app, heard, db, monkeypatch, small_batches):
    """A withdrawal after the run read the answers and before its file is written: nothing is kept (the file would
    hold the withdrawn words), the run still ends without placing them, and after a restart it starts again."""
    sid = heard.session["id"]
    leaving = db.execute("""SELECT r.id, r.participant_id FROM responses r JOIN participants p ON p.id = r.participant_id
                            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.text LIKE '%doula%'
                            ORDER BY r.id LIMIT 1""", (sid,)).fetchone()
    real = analysis.themes.find_themes

    def withdraw_meanwhile(*args, **kwargs):
        """The resident withdraws while the engine works."""
        queries.withdraw_for(db, leaving[1], reason="in_person", by_user=heard.planner_id)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.themes, "find_themes", withdraw_meanwhile)
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=1)
    assert not erasures.checkpoint_file(queued_app.config["DATABASE"], job_id).exists()
    monkeypatch.setattr(analysis.themes, "find_themes", real)
    assert restart_consumer(queued_app, db, job_id) == "done"
    assert jobs.job_by_id(db, job_id)["checkpoint"]["outcome"] == "again"
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE response_id = ?", (leaving[0],)).fetchone()[0] == 0


def test_a_run_being_cancelled_when_the_consumer_died_is_interrupted_not_resumed(queued_app, heard, db, monkeypatch,
                                                                                 small_batches):
    """A cancel asked for before the crash is kept: the run is not continued, its file goes, its run is closed."""
    sid = heard.session["id"]
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=1)
    db.execute("UPDATE jobs SET state = 'cancelling' WHERE id = ?", (job_id,))
    db.conn.commit()
    with queued_app.test_request_context():
        assert jobs.recover(db) == [job_id]
    assert jobs.job_by_id(db, job_id)["state"] == "interrupted"
    assert not erasures.checkpoint_file(queued_app.config["DATABASE"], job_id).exists()
    assert db.execute("SELECT count(*) FROM theme_runs WHERE finished_at IS NULL").fetchone()[0] == 0


def test_a_resumed_run_cancelled_before_it_runs_again_leaves_no_checkpoint(queued_app, heard, db, monkeypatch,
                                                                           small_batches):
    """Queued again after a restart, then cancelled from its page before the consumer takes it: its checkpoint
    file goes at once, and the task's later delivery changes nothing."""
    sid = heard.session["id"]
    job_id = killed_after(queued_app, db, monkeypatch, sid, heard.planner_id, batches=1)
    path = erasures.checkpoint_file(queued_app.config["DATABASE"], job_id)
    with queued_app.test_request_context():
        assert jobs.recover(db) == [job_id]
        assert path.exists() and jobs.cancel(db, job_id, who=heard.planner_id)
        assert not path.exists()
        assert jobs.execute(db, job_id) == "cancelled"


def test_the_engine_runs_in_a_thread_of_lower_priority_and_hands_back_its_result_or_error():
    """`at_low_priority` runs the work in a thread niced ENGINE_NICE below the caller (which keeps its own
    priority for the writes that follow) and hands back what it returned or raised."""
    import os
    import threading

    def priority() -> int:
        """Return this thread's nice value."""
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = priority()
    assert synthesis.at_low_priority(priority) == min(19, mine + synthesis.ENGINE_NICE)
    assert priority() == mine
    with pytest.raises(jobs.Cancelled):
        synthesis.at_low_priority(lambda: (_ for _ in ()).throw(jobs.Cancelled()))


def test_the_fingerprint_changes_with_every_change_to_what_the_engine_read(heard, db):
    """The answers' fingerprint is the same while nothing changed and differs after an answer is edited, translated,
    its quote consent withdrawn, hidden, or its person withdraws (a resumed run then starts again)."""
    sid = heard.session["id"]
    scope = synthesis.scope_prompt_ids(db, sid)

    def fingerprint() -> str:
        """Return the fingerprint of the session's answers as a run reads them now."""
        return synthesis.answers_fingerprint(scope, synthesis.open_answers(db, sid, scope))

    seen = [fingerprint()]
    assert fingerprint() == seen[0]
    answers = synthesis.open_answers(db, sid, scope)
    quoted = next(a for a in answers if a["quote_ok"])
    changes = [("UPDATE responses SET text = text || ' and the night bus' WHERE id = ?", answers[0]["id"]),
               ("UPDATE consents SET quote_ok = 0 WHERE participant_id = ?", quoted["participant_id"]),
               ("UPDATE responses SET hidden_at = '2026-12-02T05:00:00+00:00' WHERE id = ?", answers[2]["id"]),
               ("UPDATE participants SET withdrawn_at = '2026-12-02T05:00:00+00:00' WHERE id = ?", answers[3]["participant_id"])]
    synthesis.set_answer_translation(db, sid, answers[1]["id"], "The buses are late", language="en", user_id=heard.planner_id)
    seen.append(fingerprint())
    for sql, key in changes:
        db.execute(sql, (key,))
        db.conn.commit()
        seen.append(fingerprint())
    assert len(set(seen)) == len(seen) == 6
    assert synthesis.answers_fingerprint([*scope, scope[-1] + 1], synthesis.open_answers(db, sid, scope)) != seen[-1]


def test_a_run_reads_its_answers_as_tuples_into_the_same_fingerprint_answers_and_kept_columns(heard, db, monkeypatch):
    """The tuples a run reads (`open_answer_rows`) give the fingerprint the dicts gave (so a checkpoint kept before
    still matches), in chunks of any size, the same engine `Answer`s (with a translation and quote consent) and the same
    kept columns."""
    sid = heard.session["id"]
    scope = synthesis.scope_prompt_ids(db, sid)
    answers = synthesis.open_answers(db, sid, scope)
    synthesis.set_answer_translation(db, sid, answers[1]["id"], "The buses are late", language="en", user_id=heard.planner_id)
    db.execute("UPDATE consents SET quote_ok = 0 WHERE participant_id = ?", (answers[2]["participant_id"],))
    db.conn.commit()
    answers = synthesis.open_answers(db, sid, scope)
    columns, found = synthesis.open_answer_rows(db, sid, scope)
    assert [dict(zip(columns, row)) for row in found] == answers and len(found) > 7
    for chunk in (1, 3, 5000):
        monkeypatch.setattr(synthesis, "FINGERPRINT_CHUNK", chunk)
        assert synthesis.rows_fingerprint(scope, columns, found) == synthesis.answers_fingerprint(scope, answers)
    assert synthesis.rows_fingerprint(scope, (), []) == synthesis.answers_fingerprint(scope, [])
    given = synthesis.engine_answers_of_rows(db, sid, columns, found)
    assert given == synthesis.engine_answers(db, sid, answers)
    assert any(a.translation for a in given) and not all(a.quotable for a in given)
    assert synthesis._kept_columns(columns, found) == [{key: a[key] for key in synthesis.KEPT_COLUMNS} for a in answers]


def test_a_run_reads_without_collecting_and_keeps_what_it_holds_out_of_the_collectors_walks(heard, db, monkeypatch):
    """While a run reads its answers and the engine works Python's cyclic collector waits; while the placements are
    written, what the run holds is kept out of the collector's walks (`gc.freeze`); afterwards the collector is as it
    was, nothing kept aside, and the run's placements are those of a run without any of it."""
    import gc

    seen = {}
    real_rows, real_engine, real_place = synthesis.open_answer_rows, analysis.themes.find_themes, synthesis._place_answers

    def reading(*args, **kwargs):
        """Note whether the collector runs while the answers are read."""
        seen["reading"] = gc.isenabled()
        return real_rows(*args, **kwargs)

    def engine(*args, **kwargs):
        """Note whether the collector runs while the engine works."""
        seen["engine"] = gc.isenabled()
        return real_engine(*args, **kwargs)

    def placing(*args, **kwargs):
        """Note whether the collector runs and how many objects are kept aside while the placements are written."""
        seen["placing"] = (gc.isenabled(), gc.get_freeze_count())
        return real_place(*args, **kwargs)

    monkeypatch.setattr(synthesis, "open_answer_rows", reading)
    monkeypatch.setattr(analysis.themes, "find_themes", engine)
    monkeypatch.setattr(synthesis, "_place_answers", placing)
    sid = heard.session["id"]
    synthesis.run_themes(db, sid, user_id=None)
    assert seen["reading"] is False and seen["engine"] is False and seen["placing"][0] is True
    assert seen["placing"][1] > 1000
    assert gc.isenabled() and gc.get_freeze_count() == 0
    first = placed(db, sid)
    monkeypatch.setattr(synthesis, "_collecting_later", contextlib.nullcontext)
    monkeypatch.setattr(synthesis, "_long_lived_kept_aside", contextlib.nullcontext)
    monkeypatch.setattr(synthesis.gc, "freeze", lambda: None)
    synthesis.run_themes(db, sid, user_id=None)
    assert placed(db, sid) == first


def test_a_job_in_a_process_of_its_own_lets_the_engine_fork(queued_app, heard, db, monkeypatch):
    """A theme job run by the consumer's child (`own_process`) lets the engine fork its helpers, as `chorus themes`
    does; one run in the consumer itself or in a request does not; either way the placements are the same."""
    from analysis import forking

    seen = []
    real = analysis.themes.find_themes

    def noted(*args, **kwargs):
        """Note whether forking is on, then run the engine."""
        seen.append(forking.enabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.themes, "find_themes", noted)
    monkeypatch.delenv(forking.ENV, raising=False)
    sid = heard.session["id"]
    results = []
    for own in (True, False):
        with queued_app.test_request_context():
            job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
            assert jobs.execute(db, job_id, own_process=own) == "done"
        results.append(placed(db, sid))
    assert seen == [True, False] and not forking.enabled()
    assert results[0] == results[1]
