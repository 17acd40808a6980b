"""Each background job runs in a child process of the consumer that exits when it ends (issue 19: the consumer
keeps no theme run's memory afterwards); a child that dies leaves its job failed, never running."""
from __future__ import annotations

import os
import signal

import pytest

import analysis.themes
from listening import erasures, jobs
from tests.conftest import migrated_app, sign_in, text_of


@pytest.fixture
def app(tmp_path):
    """An app whose jobs wait in the SQLite queue for a consumer (here the test calls the consumer's task)."""
    return migrated_app(tmp_path / "t.db", JOBS_THRESHOLD=0)


def consume(app, job_id: int) -> None:
    """Do what the consumer's worker thread does with one delivered job."""
    jobs._run_job_task(job_id, str(app.config["DATABASE"]))


def test_a_theme_run_happens_in_a_child_process_and_its_result_lands(app, heard, db, monkeypatch):
    """The engine runs in another process (so its memory leaves with it); the job ends done with its themes stored."""
    ran_in: list[int] = []
    engine = analysis.themes.find_themes

    def watched(*args, **kwargs):
        """The engine, noting which process ran it (in a file: the child's memory is its own)."""
        with open(str(app.config["DATABASE"]) + ".pid", "w") as handle:
            handle.write(str(os.getpid()))
        return engine(*args, **kwargs)

    monkeypatch.setattr(analysis.themes, "find_themes", watched)
    with app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
    consume(app, job_id)
    with open(str(app.config["DATABASE"]) + ".pid") as handle:
        ran_in.append(int(handle.read()))
    assert ran_in[0] != os.getpid()
    job = jobs.job_by_id(db, job_id)
    assert job["state"] == "done" and job["result"]["themes"] > 0 and job["progress"] == job["total"] > 0
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ?", (heard.session["id"],)).fetchone()[0] > 0


def test_a_child_that_dies_leaves_its_job_failed_with_a_translated_message(app, heard, db, monkeypatch):
    """Killed mid-run (as the system's out-of-memory killer would), the job is failed, its theme run closed, its page translated."""
    def killed(*args, **kwargs):
        """The process running the engine is killed."""
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(analysis.themes, "find_themes", killed)
    sid = heard.session["id"]
    with app.test_request_context():
        job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
    database = str(app.config["DATABASE"])
    for leftover in (erasures.export_file(database, job_id), erasures.checkpoint_file(database, job_id)):
        os.makedirs(os.path.dirname(leftover), exist_ok=True)
        with open(leftover, "w") as handle:
            handle.write("written before the process died")
    consume(app, job_id)
    job = jobs.job_by_id(db, job_id)
    assert (job["state"], job["error"]) == ("failed", "ProcessDied")
    assert db.execute("SELECT count(*) FROM theme_runs WHERE finished_at IS NULL").fetchone()[0] == 0
    # What the dead job had written beside the database (a partial export, the engine's checkpoint: a copy of
    # residents' answers) goes with it: a failed job resumes nothing, so nothing would ever delete them.
    for leftover in (erasures.export_file(database, job_id), erasures.checkpoint_file(database, job_id)):
        assert not os.path.exists(leftover)
    assert any("job_failed" == r[0] and f"job={job_id}" in r[1] for r in db.execute("SELECT action, detail FROM audit_log"))
    client = app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    for language, said in (("en", "It stopped with an error"), ("es", "Se detuvo por un error")):
        shown = text_of(client.get(f"/staff/sessions/{sid}/jobs/{job_id}?lang={language}"))
        assert said in shown and "Traceback" not in shown and "SIGKILL" not in shown


def test_an_engine_error_in_the_child_is_the_jobs_own_failure(app, heard, db, monkeypatch):
    """An exception in the child ends its job failed with the error's kind, as in the consumer itself."""
    def broken(*args, **kwargs):
        """The engine fails."""
        raise MemoryError("out of memory")

    monkeypatch.setattr(analysis.themes, "find_themes", broken)
    with app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
    consume(app, job_id)
    assert (jobs.job_by_id(db, job_id)["state"], jobs.job_by_id(db, job_id)["error"]) == ("failed", "MemoryError")


def test_jobs_in_child_off_runs_the_job_in_the_consumer(tmp_path, heard, db, monkeypatch):
    """CHORUS_JOBS_IN_CHILD=0 keeps the old way: the job runs in the consumer's own process."""
    app = migrated_app(tmp_path / "t.db", JOBS_THRESHOLD=0, JOBS_IN_CHILD=False)
    pids: list[int] = []
    engine = analysis.themes.find_themes
    monkeypatch.setattr(analysis.themes, "find_themes", lambda *a, **k: (pids.append(os.getpid()), engine(*a, **k))[1])
    with app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
    consume(app, job_id)
    assert pids == [os.getpid()] and jobs.job_by_id(db, job_id)["state"] == "done"
