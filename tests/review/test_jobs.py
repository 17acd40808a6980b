"""Long work off the request (issue 19): theme runs, live drafts and exports of big sessions run as background
jobs with a progress page, one at a time per session, cancellable, and restartable after a crash."""
from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest

import analysis.themes
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import jobs, queries
from listening.db import connect, transaction
from tests.conftest import form_data, migrated_app, page, sign_in, text_of


@pytest.fixture
def app(tmp_path):
    """An app whose jobs run inside the request (CHORUS_JOBS_IMMEDIATE) and every session counts as big."""
    return migrated_app(tmp_path / "t.db", JOBS_IMMEDIATE=True, JOBS_THRESHOLD=0)


@pytest.fixture
def queued_app(tmp_path):
    """An app on the same database whose jobs wait in the SQLite queue (no consumer runs them)."""
    return migrated_app(tmp_path / "t.db", JOBS_THRESHOLD=0)


def placements(db, session_id: int) -> dict:
    """Return each placed answer's status and theme label, and the session's theme labels."""
    placed = {r[0]: (r[1], r[2]) for r in db.execute(
        """SELECT a.response_id, a.status, t.label FROM theme_assignments a LEFT JOIN themes t ON t.id = a.theme_id
           WHERE a.session_id = ?""", (session_id,))}
    labels = sorted(r[0] for r in db.execute("SELECT label FROM themes WHERE session_id = ? AND retired_at IS NULL",
                                             (session_id,)))
    return {"placed": placed, "labels": labels}


def job_actions(db, job_id: int) -> list[str]:
    """Return the audit log's actions that name this job, oldest first."""
    return [r[0] for r in db.execute("SELECT action, detail FROM audit_log ORDER BY id")
            if re.search(rf"\bjob={job_id}\b", r[1] or "")]


def run_from_page(client, session_id: int):
    """Press the review page's "Draft themes" button and return the response."""
    shown = client.get(f"/staff/review/{session_id}")
    forms = [i for i, f in enumerate(page(shown).find_all("form", method="post")) if str(f.get("action", "")).endswith("/run")]
    return client.post(f"/staff/review/{session_id}/run", data=form_data(shown, forms[0]))


def test_a_background_run_ends_done_and_equals_a_run_in_the_request(app, client, heard, db, tmp_path):
    """The review page's run of a big session becomes a job whose page says it finished; its themes and placements equal a direct run's."""
    sid = heard.session["id"]
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(app.config["DATABASE"])
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    sign_in(client, "lead@example.org", "a long password")
    response = run_from_page(client, sid)
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = jobs.job_by_id(db, job_id)
    assert (job["state"], job["kind"], job["error"]) == ("done", "themes", None)
    assert job["progress"] == job["total"] > 0 and job["started"] and job["finished"]
    shown = client.get(response.headers["Location"])
    assert "See the draft themes" in text_of(shown)
    direct = connect(str(copy))
    synthesis.run_themes(direct, sid, user_id=heard.planner_id, prompt_ids=[heard.prompts[0]["id"]])
    assert placements(db, sid) == placements(direct, sid)
    assert job_actions(db, job_id) == ["job_queued", "themes_run", "job_done"]


def test_a_small_session_still_runs_in_the_request(tmp_path, heard, db):
    """Below the threshold the run happens at once and no job is made."""
    small = migrated_app(tmp_path / "t.db", JOBS_IMMEDIATE=True, JOBS_THRESHOLD=5000)
    client = small.test_client()
    sign_in(client, "lead@example.org", "a long password")
    response = run_from_page(client, heard.session["id"])
    assert response.headers["Location"].endswith(f"/staff/review/{heard.session['id']}")
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0


def test_a_job_waits_queued_until_the_consumer_runs_it_and_only_one_per_session(queued_app, heard, db):
    """A submitted job is queued; a second for the same session is refused; running it makes it done."""
    sid = heard.session["id"]
    with queued_app.test_request_context():
        job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
        assert jobs.job_by_id(db, job_id)["state"] == "queued"
        with pytest.raises(jobs.JobBusy) as busy:
            jobs.submit(db, sid, "export", {"format": "csv", "language": "en"}, who=heard.planner_id)
        assert busy.value.job["id"] == job_id
        assert jobs.execute(db, job_id) == "done"
        assert jobs.job_by_id(db, job_id)["result"]["themes"] > 0
        assert jobs.execute(db, job_id) == "done"  # a second delivery of the task does nothing


def test_the_review_page_refuses_a_second_long_task_with_409(queued_app, heard, db):
    """While a job of the session waits, pressing "Draft themes" again answers 409 and queues nothing."""
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    assert run_from_page(client, heard.session["id"]).status_code == 303
    again = run_from_page(client, heard.session["id"])
    assert again.status_code == 409 and "Another long task" in again.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1
    link = page(client.get(f"/staff/review/{heard.session['id']}")).find("a", string="See its progress")
    assert link is not None and "/jobs/" in link["href"]


def test_cancelling_a_queued_job_means_it_never_runs(queued_app, heard, db):
    """A queued job cancelled before the consumer takes it ends cancelled and writes nothing."""
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
        assert jobs.cancel(db, job_id, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "cancelled"
    assert db.execute("SELECT count(*) FROM theme_runs").fetchone()[0] == 0


def test_cancelling_a_running_run_stops_it_before_it_writes(queued_app, heard, db, monkeypatch):
    """A cancel that arrives while the engine works stops the run at its next report: no run, no themes stored."""
    original = analysis.themes.find_themes
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)

        def cancel_meanwhile(*args, **kwargs):
            """A planner presses Cancel while the engine runs."""
            jobs.cancel(db, job_id, who=heard.planner_id)
            return original(*args, **kwargs)

        monkeypatch.setattr(analysis.themes, "find_themes", cancel_meanwhile)
        assert jobs.execute(db, job_id) == "cancelled"
    assert db.execute("SELECT count(*) FROM theme_runs").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM themes").fetchone()[0] == 0
    assert job_actions(db, job_id) == ["job_queued", "job_cancelled", "job_cancelled"]


def test_progress_is_written_without_an_fsync_and_the_job_ends_at_the_connections_own_setting(queued_app, heard, db,
                                                                                                 monkeypatch):
    """The job's start and each progress report commit at synchronous NORMAL (no fsync inside the write lock residents'
    answers wait for); the job's final state is written at the connection's FULL."""
    seen = []
    original = jobs.transaction

    @contextlib.contextmanager
    def noting(target):
        """Note the setting each of the jobs module's write transactions commits at."""
        seen.append(target.execute("PRAGMA synchronous").fetchone()[0])
        with original(target) as inside:
            yield inside

    monkeypatch.setattr(jobs, "transaction", noting)
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "done"
    # Queued (the request) and ended at FULL; the start and every report between at NORMAL.
    assert seen[0] == seen[-1] == 2 and len(seen) > 4 and set(seen[1:-1]) == {1}
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_job_that_fails_is_shown_failed_with_its_error_kind(queued_app, heard, db, monkeypatch):
    """An error inside the engine ends the job failed (the error's kind, never answers) and the consumer goes on."""
    def broken(*args, **kwargs):
        """The engine fails."""
        raise MemoryError("out of memory")

    monkeypatch.setattr(analysis.themes, "find_themes", broken)
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "failed"
    assert jobs.job_by_id(db, job_id)["error"] == "MemoryError"


def test_after_a_crash_a_run_being_cancelled_is_interrupted_and_can_be_started_again(app, client, heard, db):
    """A run being cancelled when its consumer died is marked interrupted when one starts (a running one continues:
    tests/review/test_job_resume.py); "Start again" runs it to the same result."""
    sid = heard.session["id"]
    with transaction(db):
        job_id = db.execute("INSERT INTO jobs (session_id, kind, params, state, created, started, who) "
                            "VALUES (?, 'themes', '{}', 'cancelling', ?, ?, ?)",
                            (sid, queries.now(), queries.now(), heard.planner_id)).lastrowid
        db.execute("INSERT INTO theme_runs (session_id, prompt_ids, seed, k_chosen, answer_count, method, created_at) "
                   "VALUES (?, '[]', 0, 0, 0, 'x', ?)", (sid, queries.now()))
    assert jobs.recover(db) == [job_id]
    assert jobs.job_by_id(db, job_id)["state"] == "interrupted"
    assert db.execute("SELECT count(*) FROM theme_runs WHERE finished_at IS NULL").fetchone()[0] == 0
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/sessions/{sid}/jobs/{job_id}"
    shown = client.get(url)
    assert "Start again" in text_of(shown)
    assert "The answers it had already placed in its new themes stay there." in text_of(shown)
    response = client.post(f"{url}/restart", data=form_data(shown))
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert jobs.job_by_id(db, new_id)["state"] == "done"
    assert jobs.job_by_id(db, new_id)["restart_of"] == job_id
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ?", (sid,)).fetchone()[0] > 0


def test_the_progress_page_works_without_javascript(queued_app, heard, db):
    """A running job's page shows a progress bar, the time left and a "Check again" button; it refreshes itself only when asked."""
    sid = heard.session["id"]
    with queued_app.test_request_context():
        job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
    with transaction(db):
        db.execute("UPDATE jobs SET state = 'running', started = ?, progress = 40, total = 100 WHERE id = ?",
                   (queries.now(), job_id))
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/sessions/{sid}/jobs/{job_id}"
    soup = page(client.get(url))
    bar = soup.select_one("progress#job-progress")
    assert (bar["value"], bar["max"]) == ("40", "100")
    assert soup.select_one("label[for=job-progress]") is not None
    assert soup.find("meta", attrs={"http-equiv": "refresh"}) is None
    assert all(s.get("src") for s in soup.find_all("script"))  # only the site's own files; nothing here needs them
    check = [f for f in soup.find_all("form") if f.get("method") == "get"]
    assert check and check[0].find("button").get_text() == "Check again"
    assert "left" in soup.get_text()
    followed = page(client.get(url + "?follow=1"))
    assert followed.find("meta", attrs={"http-equiv": "refresh"})["content"] == "5"
    cancel = client.post(f"{url}/cancel", data=form_data(client.get(url)))
    assert cancel.status_code == 303 and jobs.job_by_id(db, job_id)["state"] == "cancelling"


def test_an_answer_withdrawn_during_a_background_run_is_not_placed(queued_app, heard, db, monkeypatch):
    """Someone withdraws while the engine runs: the run finishes without placing their answer or failing."""
    sid = heard.session["id"]
    leaving = db.execute("""SELECT r.id, p.receipt_hash FROM responses r JOIN participants p ON p.id = r.participant_id
                            WHERE r.session_id = ? AND r.text LIKE '%doula%' ORDER BY r.id LIMIT 1""", (sid,)).fetchone()
    participant = db.execute("SELECT participant_id FROM responses WHERE id = ?", (leaving[0],)).fetchone()[0]
    original = analysis.themes.find_themes

    def withdraw_meanwhile(*args, **kwargs):
        """The resident withdraws (staff on their behalf) while the engine works."""
        queries.withdraw_for(db, participant, reason="in_person", by_user=heard.planner_id)
        return original(*args, **kwargs)

    monkeypatch.setattr(analysis.themes, "find_themes", withdraw_meanwhile)
    with queued_app.test_request_context():
        job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "done"
    assert db.execute("SELECT count(*) FROM responses WHERE id = ?", (leaving[0],)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE response_id = ?", (leaving[0],)).fetchone()[0] == 0


def test_a_big_export_is_a_job_whose_file_equals_the_direct_export(app, client, heard, db):
    """A CSV export of a big session is made in the background; its download equals the export made directly."""
    sid = heard.session["id"]
    sign_in(client, "lead@example.org", "a long password")
    shown = client.get(f"/staff/review/{sid}/export")
    response = client.post(f"/staff/review/{sid}/export", data={**form_data(shown, 0), "format": "csv", "language": "en"})
    assert response.status_code == 303
    url = response.headers["Location"]
    job_id = int(url.rsplit("/", 1)[1])
    shown = client.get(url)
    assert jobs.job_by_id(db, job_id)["state"] == "done" and "Download" in text_of(shown)
    got = client.post(f"{url}/download", data=form_data(shown))
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    import io

    direct = io.BytesIO()
    reporting.export(db, sid, direct, fmt="csv", language="en", user_id=None)
    body = got.data
    got.close()
    assert body == direct.getvalue()


def a_kept_json_export(app, client, sid: int) -> tuple[str, int]:
    """Sign the planner in, ask for a JSON export of the session, and return its job page and id (its file is kept)."""
    sign_in(client, "lead@example.org", "a long password")
    shown = client.get(f"/staff/review/{sid}/export")
    url = client.post(f"/staff/review/{sid}/export",
                      data={**form_data(shown, 0), "format": "json", "language": "en"}).headers["Location"]
    job_id = int(url.rsplit("/", 1)[1])
    assert jobs.export_path(app.config, job_id).exists()
    return url, job_id


def test_an_export_file_is_deleted_when_someone_withdraws_after_it_was_made(app, client, heard, db):
    """A withdrawal deletes the kept export file at once (it holds the withdrawn words: it must not wait a day for
    someone to try to download it), and the page asks for a new one."""
    sid = heard.session["id"]
    url, job_id = a_kept_json_export(app, client, sid)
    participant = db.execute("SELECT participant_id FROM responses WHERE session_id = ? LIMIT 1", (sid,)).fetchone()[0]
    queries.withdraw_for(db, participant, reason="in_person", by_user=heard.planner_id)
    assert not jobs.export_path(app.config, job_id).exists()
    got = client.post(f"{url}/download", data=form_data(client.get(url)))
    assert got.status_code == 303
    assert not jobs.export_path(app.config, job_id).exists()
    assert "no longer kept" in text_of(client.get(url))


def test_a_planner_may_follow_but_not_cancel_a_live_draft(queued_app, heard, db):
    """A live draft is the facilitators': a planner with access sees its page but may not cancel it."""
    sid = heard.session["id"]
    with queued_app.test_request_context():
        job_id = jobs.submit(db, sid, "live_themes", {"prompt_id": heard.prompts[0]["id"]}, who=None)
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/sessions/{sid}/jobs/{job_id}"
    shown = client.get(url)
    assert shown.status_code == 200 and "Cancel" not in text_of(shown)
    assert client.post(f"{url}/cancel", data=form_data(shown, 0)).status_code == 403


def test_a_queue_that_cannot_take_the_job_gives_a_message_and_frees_the_session(queued_app, heard, db):
    """With the queue down (Redis unreachable), "Draft themes" answers 503 with a message, and the job is failed, not stuck."""
    def down(*args, **kwargs):
        """The queue refuses."""
        raise ConnectionError("queue down")

    queued_app.extensions["chorus_jobs"]["task"] = down
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    response = run_from_page(client, heard.session["id"])
    assert response.status_code == 503 and "Long tasks cannot be started" in response.get_data(as_text=True)
    assert [tuple(r) for r in db.execute("SELECT state, error FROM jobs")] == [("failed", "ConnectionError")]
    assert jobs.active_job(db, heard.session["id"]) is None


def test_a_job_waiting_for_minutes_says_the_runner_may_be_stopped(queued_app, heard, db):
    """A job queued three minutes ago tells staff to have `chorus jobs` checked."""
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "themes", {}, who=heard.planner_id)
    with transaction(db):
        db.execute("UPDATE jobs SET created = '2000-01-01T00:00:00+00:00' WHERE id = ?", (job_id,))
    client = queued_app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    assert "chorus jobs" in text_of(client.get(f"/staff/sessions/{heard.session['id']}/jobs/{job_id}"))


def test_a_big_qdpx_export_is_a_job_and_only_its_starter_may_download_it(app, client, heard, db, make_user):
    """The REFI-QDA project of a big session is made in the background; another staff member with access may not take the file."""
    sid = heard.session["id"]
    sign_in(client, "lead@example.org", "a long password")
    shown = client.get(f"/staff/review/{sid}/export")
    index = [i for i, f in enumerate(page(shown).find_all("form", method="post")) if "qdpx" in str(f.get("action", ""))][0]
    response = client.post(f"/staff/review/{sid}/export/qdpx", data={**form_data(shown, index), "set": "quoted"})
    url = response.headers["Location"]
    assert response.status_code == 303 and "/jobs/" in url
    job = jobs.job_by_id(db, int(url.rsplit("/", 1)[1]))
    assert job["state"] == "done" and job["result"]["name"].endswith(".qdpx")
    got = client.post(f"{url}/download", data=form_data(client.get(url)))
    body = got.data
    got.close()
    assert got.status_code == 200 and body[:2] == b"PK"
    other = app.test_client()
    colleague = make_user("planner")
    from tests.factories import share

    share(db, heard.session, colleague)
    sign_in(other, colleague)
    shown = other.get(url)
    assert "Only the person who asked" in text_of(shown)
    assert other.post(f"{url}/download", data=form_data(shown, 0)).status_code == 403


def test_an_answer_deleted_during_a_run_without_a_withdrawal_is_caught_while_placing(heard, db, monkeypatch):
    """An answer deleted while the engine runs (an import undone deletes people outright) is not placed and its words leave the names."""
    sid = heard.session["id"]
    victim = synthesis.open_answers(db, sid)[0]
    original = analysis.themes.find_themes
    scrubbed = []
    monkeypatch.setattr(queries, "unname_answers", lambda db_, sid_, answers: scrubbed.extend(a["id"] for a in answers))

    def delete_meanwhile(*args, **kwargs):
        """The answer disappears while the engine works, with no withdrawal recorded."""
        result = original(*args, **kwargs)
        with transaction(db):
            db.execute("DELETE FROM responses WHERE id = ?", (victim["id"],))
        return result

    monkeypatch.setattr(analysis.themes, "find_themes", delete_meanwhile)
    synthesis.run_themes(db, sid, user_id=None)
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE response_id = ?", (victim["id"],)).fetchone()[0] == 0
    assert scrubbed == [victim["id"]]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_a_big_data_export_reports_rows_written_of_rows_to_write(queued_app, heard, db, monkeypatch, fmt):
    """A background data export's bar moves with the rows it writes: every report counts rows written of the
    session's answers to write (plus closing the file), from 0 up to all of them."""
    from analysis.review import exports

    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(exports, "PROGRESS_SECONDS", 0)
    seen = []
    original = jobs.Context.report

    def watch(self, done, total, **kwargs):
        """Record each report as the job's page would read it."""
        original(self, done, total, **kwargs)
        seen.append((done, total))
        # Committed at once, though the export reads in one snapshot: progress goes through a second connection.
        other = sqlite3.connect(queued_app.config["DATABASE"])
        assert other.execute("SELECT progress, total FROM jobs WHERE id = ?", (self.job["id"],)).fetchone() == (done, total)
        other.close()

    monkeypatch.setattr(jobs.Context, "report", watch)
    sid = heard.session["id"]
    rows = len(list(exports.answer_records(db, sid, "en", synthesis.scope_prompt_ids(db, sid), prefer_not="",
                                           visible=synthesis.visible_filter(db))))
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "export", {"format": fmt, "language": "en"}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "done"
    assert rows > 2 and seen[0] == (0, rows + 1) and seen[-1] == (rows, rows + 1)
    assert [done for done, _total in seen] == sorted(done for done, _total in seen) and len(seen) >= rows // 2
    assert jobs.job_by_id(db, job_id)["total"] == rows + 1


def test_a_big_report_export_reports_its_steps(queued_app, heard, db, monkeypatch):
    """A report (not rows) moves its bar in steps: assembled, then written."""
    seen = []
    original = jobs.Context.report
    monkeypatch.setattr(jobs.Context, "report", lambda self, done, total, **kw: (seen.append((done, total)),
                                                                                  original(self, done, total, **kw))[1])
    with queued_app.test_request_context():
        job_id = jobs.submit(db, heard.session["id"], "export", {"format": "md", "language": "en"}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "done"
    assert seen == [(0, 2), (1, 2)]


def test_only_an_admin_may_start_an_admins_internal_project_again(app, heard, db):
    """An admin's export of the internal .qdpx project (every answer, also of people who did not allow quoting) that
    stopped shows no "Start again" to a planner of the session, and a restart posted by hand is refused (403) with no
    job made: else the planner became the new job's starter and downloaded the internal set."""
    from listening.accounts import create_user, user_by_email

    sid = heard.session["id"]
    create_user(db, "boss@example.org", "a long password", "admin")
    admin_id = user_by_email(db, "boss@example.org")["id"]
    with transaction(db):
        job_id = db.execute("INSERT INTO jobs (session_id, kind, params, state, created, started, finished, who) "
                            """VALUES (?, 'export', '{"format": "qdpx", "set": "internal", "drafts": false}', 'cancelled',
                            ?, ?, ?, ?)""", (sid, queries.now(), queries.now(), queries.now(), admin_id)).lastrowid
    client = app.test_client()
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/sessions/{sid}/jobs/{job_id}"
    shown = client.get(url)
    assert shown.status_code == 200 and "Start again" not in text_of(shown)
    before = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert client.post(f"{url}/restart", data=form_data(client.get(f"/staff/review/{sid}/export"), 0)).status_code == 403
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == before
    admin = app.test_client()
    sign_in(admin, "boss@example.org", "a long password")
    assert "Start again" in text_of(admin.get(url))


def test_an_idle_consumer_looks_at_the_queue_every_second_at_most(app):
    """`chorus jobs`'s consumer polls an empty queue at least once a second (Huey's default backs off to 10 s, which a
    job queued on a quiet evening waited before it began)."""
    from listening import cli as chorus_cli

    consumer = chorus_cli.job_consumer_of(app, None)
    assert consumer.max_delay == chorus_cli.JOBS_POLL_MAX_S <= 1.0
    assert len(consumer.worker_threads) == app.config["JOBS_WORKERS"]


def test_an_export_file_is_deleted_when_an_answer_in_it_is_hidden(app, client, heard, db):
    """Hiding an answer (it names someone) deletes the kept export files of its session: a file made before holds it."""
    from facilitation import live_queries

    sid = heard.session["id"]
    url, job_id = a_kept_json_export(app, client, sid)
    answer = db.execute("SELECT id FROM responses WHERE session_id = ? AND text IS NOT NULL LIMIT 1", (sid,)).fetchone()[0]
    assert live_queries.hide_response(db, sid, answer, user_id=heard.planner_id, reason="Names a nurse")
    assert not jobs.export_path(app.config, job_id).exists()
    assert "no longer kept" in text_of(client.post(f"{url}/download", data=form_data(client.get(url)), follow_redirects=True))


@pytest.mark.parametrize("how", ["hidden", "rewritten"])
def test_an_answer_hidden_or_rewritten_during_a_background_run_does_not_name_a_theme(queued_app, heard, db, monkeypatch,
                                                                                     how):
    """A facilitator hides an answer (or its author rewrites it) while the engine runs, and the engine named a theme
    with its words: the run stores the theme under its key terms instead, as it does for an answer whose author
    withdrew meanwhile."""
    import dataclasses

    from facilitation import live_queries

    sid = heard.session["id"]
    answer_id, words, person, prompt = db.execute(
        "SELECT id, text, participant_id, prompt_id FROM responses WHERE session_id = ? AND text LIKE '%doula%' "
        "ORDER BY id LIMIT 1", (sid,)).fetchone()
    original = analysis.themes.find_themes

    def change_meanwhile(*args, **kwargs):
        """The answer is hidden or rewritten while the engine works, which names a theme with its words."""
        found = original(*args, **kwargs)
        if how == "hidden":
            live_queries.hide_response(db, sid, answer_id, user_id=heard.planner_id, reason="Names a nurse")
        else:
            queries.save_response(db, session_id=sid, participant_id=person, prompt_id=prompt, nonce="rewrite-meanwhile",
                                  text="Someone helped", language="en")
        first = dataclasses.replace(found.themes[0], label=words)
        return dataclasses.replace(found, themes=(first, *found.themes[1:]))

    monkeypatch.setattr(analysis.themes, "find_themes", change_meanwhile)
    with queued_app.test_request_context():
        job_id = jobs.submit(db, sid, "themes", {}, who=heard.planner_id)
        assert jobs.execute(db, job_id) == "done"
    labels = [r[0] for r in db.execute("SELECT label FROM themes WHERE session_id = ? AND retired_at IS NULL", (sid,))]
    assert labels and words not in labels
