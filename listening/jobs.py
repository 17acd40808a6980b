"""Background jobs: long work off the request (issue 19), and the `jobs` table staff see it through.

A theme run, a live draft of themes or an export of a big session can take a minute or more. Such
work is queued with Huey (its SQLite storage beside the database by default, Redis when
CHORUS_REDIS_URL is set) and run by a consumer process (`chorus jobs`, started by `chorus serve` and
`chorus demo`). This module owns the `jobs` table (m028_jobs): each job's state
(queued → running → done | failed | cancelled, or cancelling on the way; interrupted if the consumer
died while it ran), its progress out of a total, who started it, and its error. Every state change
is written to the audit log like any other staff action.

What a job does is not known here: listening may not import the engine or the staff packages, so
the composition root (`listening.app`) registers a handler per kind (`register`). A handler gets a
`Context` and reports progress through it; a report is also where a requested cancel stops the work.

A job belongs to a session or, for a campaign's pooled work (its theme run, report and exports, its
"who was heard" page), to a campaign; `job_sessions` (m033) lists the sessions a campaign job counts,
so that only staff who see all of them may follow it and an erasure in any of them deletes its file.
One unfinished job per session and one per campaign (partial unique indexes); a second is refused
with `JobBusy`. Work smaller than CHORUS_JOBS_THRESHOLD answers skips the queue and runs in the request.
"""
from __future__ import annotations

import copyreg
import json
import logging
import os
import pickle
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

import sqlite_utils
from flask import Flask, current_app, has_app_context
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import erasures
from .db import connect, database_path, make_private, one, rows, settle, transaction, unsynced

log = logging.getLogger("chorus.jobs")

KINDS = ("themes", "live_themes", "export", "campaign_themes", "campaign_export", "campaign_heard")
CAMPAIGN_KINDS = ("campaign_themes", "campaign_export", "campaign_heard")
# Kinds whose job writes a file beside the database (deleted after EXPORT_KEEP_HOURS, or at once by an erasure).
FILE_KINDS = ("export", "campaign_export", "campaign_heard")
UNFINISHED = ("queued", "running", "cancelling")
FINISHED = ("done", "failed", "cancelled", "interrupted")
# A finished run is started again with its own button; these never finished their work.
RESTARTABLE = ("failed", "cancelled", "interrupted")
# Kinds a restarted consumer continues instead of marking interrupted (`recover`): their handler keeps what is
# expensive to redo (the engine's result) with `Context.keep` and where it stopped with `Context.mark` (m044).
RESUMABLE = ("themes", "campaign_themes")
# Votes count this much less than answers towards CHORUS_JOBS_THRESHOLD (`background_wanted_across`): a vote is
# three numbers, an answer's words go through the theme engine.
VOTES_PER_ANSWER = 5
# Seconds between refreshes when staff ask a job's page to follow it.
REFRESH_SECONDS = 5
# An export file a job wrote is kept this long for its download, then deleted.
EXPORT_KEEP_HOURS = 24

_handlers: dict[str, Callable[["Context"], dict | None]] = {}
# The app a consumer process built (`chorus jobs`): its tasks run in this app's context.
_consumer_app: Flask | None = None


class CannotStart(RuntimeError):
    """A job could not be started; `message()` says why to staff (translated) and `status` is the page's HTTP status."""

    status = 500

    def message(self) -> str:
        """Say, in the page's language, why the task did not start."""
        raise NotImplementedError


class JobBusy(CannotStart):
    """Another job of this session (or campaign) is queued or running."""

    status = 409

    def __init__(self, job: dict | None, *, campaign: bool = False):
        """Keep the job that is in the way, so the page can link to it."""
        super().__init__("Another job of this session or campaign is unfinished")
        self.job = job
        self.campaign = campaign

    def message(self) -> str:
        """Say that another long task holds the session (or the campaign)."""
        if self.campaign:
            return _("Another long task is running on this campaign. Please wait for it to finish.")
        return _("Another long task is running on this session. Please wait for it to finish.")


class QueueUnavailable(CannotStart):
    """The job queue could not take a job (Redis down, the queue file unwritable)."""

    status = 503

    def message(self) -> str:
        """Say that no long task can start now, and who can look."""
        return _("Long tasks cannot be started right now. Please try again in a minute, "
                 "or ask your administrator to check the job runner.")


class Cancelled(Exception):
    """A staff member cancelled the job; raised from a progress report."""


def now() -> str:
    """Return the current UTC time as ISO 8601 (seconds), as the other tables store it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def register(kind: str, handler: Callable[["Context"], dict | None]) -> None:
    """Say what a kind of job does (called by the composition root)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown job kind {kind!r}")
    _handlers[kind] = handler


# --- the queue ------------------------------------------------------------------------------------


def queue_file(config: dict) -> str:
    """Return the path of Huey's SQLite queue: CHORUS_JOBS_FILE, or `<database>-jobs.db` beside the database."""
    return str(config.get("JOBS_FILE") or f"{config['DATABASE']}-jobs.db")


def init_app(app: Flask) -> None:
    """Give the app its Huey queue (SQLite, Redis, or immediate for tests) with the one task that runs a job."""
    from huey import RedisHuey, SqliteHuey

    global _consumer_app
    immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    # The queue's name is what the web workers and the consumer share: the same in every process.
    if app.config.get("REDIS_URL") and not immediate:
        huey = RedisHuey.from_url(app.config["REDIS_URL"], name="chorus", results=False)
    else:
        path = queue_file(app.config)
        if not immediate:
            make_private(path)  # the queue holds job ids only, but stays the owner's like the database
        huey = SqliteHuey(name="chorus", filename=path, results=False, immediate=immediate)
    _consumer_app = app
    task = huey.task(name="chorus.run_job", retries=0)(_run_job_task)
    quiet = huey.task(name="chorus.run_quiet", retries=0)(_run_quiet_task)
    app.extensions["chorus_jobs"] = {"huey": huey, "task": task, "quiet": quiet}


def huey_of(app: Flask):
    """Return the app's Huey instance (for the consumer)."""
    return app.extensions["chorus_jobs"]["huey"]


def _run_job_task(job_id: int, database: str) -> None:
    """Huey's task: run one job in an app context (the request's in immediate mode, else the consumer's app).

    In the consumer the job runs in a child process that exits when it ends (`listening.job_process`),
    so that a theme run's memory is not kept by the consumer afterwards.
    """
    app = current_app._get_current_object() if has_app_context() else _consumer_app
    if app.config.get("JOBS_IN_CHILD", True) and not app.config.get("JOBS_IMMEDIATE"):
        from . import job_process

        job_process.run_in_child(lambda: _run_job_here(app, job_id, database),
                                 lambda how: _mark_died(app, job_id, database))
        return
    _run_job_here(app, job_id, database)


def _mark_died(app: Flask, job_id: int, database: str) -> None:
    """Mark a job failed whose process died before it ended, tidied up like an interrupted one (`recover`);
    a job that did end is left as it ended."""
    from .job_process import DIED

    with app.app_context():
        db = connect(database, busy_timeout_ms=app.config["BUSY_TIMEOUT_MS"], synchronous=app.config["SQLITE_SYNCHRONOUS"])
        try:
            with transaction(db):
                found = job_by_id(db, job_id)
                if found is None or found["state"] not in UNFINISHED:
                    return
                db.execute("UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?", (now(), DIED, job_id))
                _audit(db, found, "job_failed", user_id=None, extra=f"error={DIED}")
                tidy = _interrupt_hooks.get(found["kind"])
                if tidy is not None:
                    tidy(db, found)
        finally:
            db.conn.close()
    forget_files(database, job_id)  # a file the dead job was writing is partial; its checkpoint resumes nothing now


def _run_job_here(app: Flask, job_id: int, database: str) -> None:
    """Run one job in this process, in the app's context, on its own connection."""
    with app.app_context():
        db = connect(database, busy_timeout_ms=app.config["BUSY_TIMEOUT_MS"], synchronous=app.config["SQLITE_SYNCHRONOUS"])
        try:
            execute(db, job_id)
        finally:
            db.conn.close()


# Work the consumer runs that no one started and no one follows: no `jobs` row, no audit line, no session held
# (a theme run or an export may run beside it). A screen's recomputation, such as a react question's opinion
# groups (`facilitation.opinion_live`), which the screens ask for again if it is lost.
_quiet_handlers: dict[str, Callable[[sqlite_utils.Database, dict], None]] = {}


def register_quiet(name: str, handler: Callable[[sqlite_utils.Database, dict], None]) -> None:
    """Say what a kind of quiet work does (called by the composition root)."""
    _quiet_handlers[name] = handler


def enqueue_quiet(name: str, params: dict) -> None:
    """Queue quiet work for the consumer (run at once with CHORUS_JOBS_IMMEDIATE); raise QueueUnavailable if the
    queue cannot take it."""
    if name not in _quiet_handlers:
        raise ValueError(f"Unknown quiet work {name!r}")
    app = current_app._get_current_object()
    try:
        app.extensions["chorus_jobs"]["quiet"](name, params, str(app.config["DATABASE"]))
    except Exception as exc:
        if app.config.get("JOBS_IMMEDIATE"):
            raise
        log.exception("Quiet work %s could not be queued", name)
        raise QueueUnavailable(str(exc)) from exc


def _run_quiet_task(name: str, params: dict, database: str) -> None:
    """Huey's task for quiet work: run its handler in an app context, on its own connection."""
    app = current_app._get_current_object() if has_app_context() else _consumer_app
    with app.app_context():
        db = connect(database, busy_timeout_ms=app.config["BUSY_TIMEOUT_MS"], synchronous=app.config["SQLITE_SYNCHRONOUS"])
        try:
            _quiet_handlers[name](db, params)
        except Exception:  # logged; the screens ask again, and it must not kill the consumer
            log.exception("Quiet work %s %s failed", name, params)
        finally:
            db.conn.close()


def background_wanted(db: sqlite_utils.Database, session_id: int, config: dict) -> bool:
    """Tell whether a session is big enough that long work on it goes to the queue (CHORUS_JOBS_THRESHOLD answers)."""
    return background_wanted_across(db, [session_id], config)


def background_wanted_across(db: sqlite_utils.Database, session_ids: list[int], config: dict) -> bool:
    """Tell whether sessions (a campaign's) hold more than CHORUS_JOBS_THRESHOLD answers between them, or more than
    VOTES_PER_ANSWER times as many votes on statements (a design session's reports work opinion groups out from
    every vote: 6 to 7 s of CPU at 875,000 votes, whatever its answers)."""
    threshold = int(config.get("JOBS_THRESHOLD", 5000))
    if threshold <= 0:
        return True
    if not session_ids:
        return False
    marks = ", ".join("?" for _ in session_ids)
    # Counted on the session indexes, stopping one past the threshold: cheap however big the sessions are.
    for table, limit in (("responses", threshold), ("votes", VOTES_PER_ANSWER * threshold)):
        found = one(db, f"SELECT count(*) AS n FROM (SELECT 1 FROM {table} WHERE session_id IN ({marks}) LIMIT ?)",
                    (*session_ids, limit + 1))
        if found is not None and found["n"] > limit:
            return True
    return False


# --- the jobs table ---------------------------------------------------------------------------------


def job_by_id(db: sqlite_utils.Database, job_id: int) -> dict | None:
    """Return a job with its parameters and result decoded, or None."""
    found = one(db, """SELECT j.*, u.email AS who_email FROM jobs j LEFT JOIN users u ON u.id = j.who WHERE j.id = ?""",
                (job_id,))
    if found is not None:
        found["params"] = json.loads(found["params"] or "{}")
        found["result"] = json.loads(found["result"]) if found["result"] else None
        found["checkpoint"] = json.loads(found.get("checkpoint") or "null") or {}
    return found


def active_job(db: sqlite_utils.Database, session_id: int) -> dict | None:
    """Return the session's unfinished job (queued, running or being cancelled), if any."""
    found = one(db, f"SELECT id FROM jobs WHERE session_id = ? AND state IN {UNFINISHED}", (session_id,))
    return job_by_id(db, found["id"]) if found else None


def active_campaign_job(db: sqlite_utils.Database, campaign_id: int) -> dict | None:
    """Return the campaign's unfinished job, if any."""
    found = one(db, f"SELECT id FROM jobs WHERE campaign_id = ? AND state IN {UNFINISHED}", (campaign_id,))
    return job_by_id(db, found["id"]) if found else None


def job_session_ids(db: sqlite_utils.Database, job_id: int) -> list[int]:
    """Return the sessions a campaign job counts (its own session for a session's job)."""
    found = [r["session_id"] for r in rows(db, "SELECT session_id FROM job_sessions WHERE job_id = ? ORDER BY session_id",
                                           (job_id,))]
    if found:
        return found
    own = one(db, "SELECT session_id FROM jobs WHERE id = ?", (job_id,))
    return [own["session_id"]] if own and own["session_id"] is not None else []


def campaign_jobs(db: sqlite_utils.Database, campaign_id: int, kind: str, limit: int = 20) -> list[dict]:
    """Return a campaign's latest jobs of one kind, newest first."""
    return [job_by_id(db, r["id"]) for r in rows(
        db, "SELECT id FROM jobs WHERE campaign_id = ? AND kind = ? ORDER BY id DESC LIMIT ?", (campaign_id, kind, limit))]


def session_jobs(db: sqlite_utils.Database, session_id: int, limit: int = 10) -> list[dict]:
    """Return a session's latest jobs, newest first."""
    return [job_by_id(db, r["id"]) for r in rows(db, "SELECT id FROM jobs WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                                                  (session_id, limit))]


def _audit(db: sqlite_utils.Database, job: dict, action: str, *, user_id: int | None, extra: str = "") -> None:
    """Write a job's state change to the audit log, inside the caller's transaction (a campaign's as `campaign:<slug>`)."""
    if job.get("campaign_id"):
        slug = one(db, "SELECT slug FROM campaigns WHERE id = ?", (job["campaign_id"],))
        target = f"campaign:{slug['slug']}" if slug else ""
    else:
        code = one(db, "SELECT code FROM sessions WHERE id = ?", (job["session_id"],))
        target = code["code"] if code else ""
    detail = f"job={job['id']} kind={job['kind']}" + (f" {extra}" if extra else "")
    db.execute("INSERT INTO audit_log (at, user_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
               (now(), user_id, action, target, detail))


def submit(db: sqlite_utils.Database, session_id: int | None, kind: str, params: dict | None = None, *,
           who: int | None, restart_of: int | None = None, config: dict | None = None,
           campaign_id: int | None = None, session_ids: list[int] | None = None) -> int:
    """Queue a job for a session (or, with `campaign_id`, for a campaign over `session_ids`) and return its id;
    raise JobBusy if the session or campaign already has one unfinished, QueueUnavailable if the queue
    cannot take it (the job is then marked failed)."""
    if kind not in KINDS or (campaign_id is None) == (kind in CAMPAIGN_KINDS) or (campaign_id is None) == (session_id is None):
        raise ValueError(f"Job kind {kind!r} needs exactly one of a session or a campaign")
    app = current_app._get_current_object()
    forget_old_exports(db, app.config)
    owner = {"id": None, "session_id": session_id, "campaign_id": campaign_id, "kind": kind}
    try:
        with transaction(db):
            job_id = db.execute(
                """INSERT INTO jobs (session_id, campaign_id, kind, params, state, created, who, restart_of)
                   VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)""",
                (session_id, campaign_id, kind, json.dumps(params or {}, sort_keys=True), now(), who, restart_of),
            ).lastrowid
            db.conn.executemany("INSERT INTO job_sessions (job_id, session_id) VALUES (?, ?)",
                                [(job_id, sid) for sid in sorted(set(session_ids or []))])
            _audit(db, owner | {"id": job_id}, "job_restarted" if restart_of else "job_queued", user_id=who,
                   extra=f"restart_of={restart_of}" if restart_of else "")
    except sqlite3.IntegrityError:
        if campaign_id is not None:
            raise JobBusy(active_campaign_job(db, campaign_id), campaign=True) from None
        raise JobBusy(active_job(db, session_id)) from None
    try:
        app.extensions["chorus_jobs"]["task"](job_id, str(app.config["DATABASE"]))
    except Exception as exc:
        if app.config.get("JOBS_IMMEDIATE"):
            raise
        # The queue could not take it (Redis down, the queue file unwritable): the job must not hold the session.
        log.exception("Job %s could not be queued", job_id)
        with transaction(db):
            db.execute("UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                       (now(), type(exc).__name__, job_id))
            _audit(db, owner | {"id": job_id}, "job_failed", user_id=None, extra=f"error={type(exc).__name__}")
        raise QueueUnavailable(str(exc)) from exc
    return job_id


def cancel(db: sqlite_utils.Database, job_id: int, *, who: int | None) -> bool:
    """Cancel a job: a queued one at once, a running one at its next progress report. False if it already ended."""
    with transaction(db):
        found = job_by_id(db, job_id)
        if found is None or found["state"] not in ("queued", "running"):
            return False
        state = "cancelled" if found["state"] == "queued" else "cancelling"
        db.execute("UPDATE jobs SET state = ?, finished = CASE WHEN ? = 'cancelled' THEN ? END WHERE id = ?",
                   (state, state, now(), job_id))
        _audit(db, found, "job_cancelled", user_id=who)
    if state == "cancelled" and found["kind"] in RESUMABLE:
        try:  # a run queued again after a restart keeps a checkpoint until it runs: cancelled, it will not
            os.remove(erasures.checkpoint_file(database_path(db), job_id))
        except FileNotFoundError:
            pass
    return True


def restart(db: sqlite_utils.Database, job_id: int, *, who: int | None, session_ids: list[int] | None = None) -> int:
    """Queue a finished job's work again (an interrupted, failed or cancelled run); return the new job's id.

    A campaign job counts `session_ids` (the restarter's sessions now: one may have left the campaign
    since), else the sessions it counted before.
    """
    found = job_by_id(db, job_id)
    if found is None or found["state"] not in RESTARTABLE:
        raise ValueError(f"Job {job_id} is not one to start again")
    if found["campaign_id"] is not None:
        return submit(db, None, found["kind"], found["params"], who=who, restart_of=job_id, campaign_id=found["campaign_id"],
                      session_ids=job_session_ids(db, job_id) if session_ids is None else session_ids)
    return submit(db, found["session_id"], found["kind"], found["params"], who=who, restart_of=job_id)


def recover(db: sqlite_utils.Database) -> list[int]:
    """Deal with every job that was running when the consumer stopped (called when a consumer starts); return their ids.

    The queue still holds queued jobs and runs them. A running job of a RESUMABLE kind (a theme run) is
    queued again under the same id and continues where it stopped (its handler reads its checkpoint, m044);
    any other's work was lost with its process: it is shown as interrupted, with a button to start it
    again, and its kind's `on_interrupt` tidies up. A job being cancelled is interrupted, never resumed.
    """
    resumed: list[int] = []
    with transaction(db):
        found = rows(db, "SELECT id FROM jobs WHERE state IN ('running', 'cancelling')")
        for row in found:
            job = job_by_id(db, row["id"])
            if job["kind"] in RESUMABLE and job["state"] == "running":
                times = int(job["checkpoint"].get("resumed", 0)) + 1
                db.execute("UPDATE jobs SET state = 'queued', checkpoint = ? WHERE id = ?",
                           (json.dumps(job["checkpoint"] | {"resumed": times}), job["id"]))
                _audit(db, job, "job_resumed", user_id=None)
                resumed.append(job["id"])
                continue
            db.execute("UPDATE jobs SET state = 'interrupted', finished = ? WHERE id = ?", (now(), job["id"]))
            _audit(db, job, "job_interrupted", user_id=None)
            tidy = _interrupt_hooks.get(job["kind"])
            if tidy is not None:
                tidy(db, job)
    for row in found:
        if row["id"] in resumed:
            continue
        # A file the dead job was writing is partial: never served (the job is not done), and not kept either.
        forget_files(database_path(db), row["id"])
    for job_id in resumed:
        _queue_again(db, job_id)
    return [r["id"] for r in found]


def _queue_again(db: sqlite_utils.Database, job_id: int) -> None:
    """Put a resumed job back in the queue; if the queue cannot take it, it is interrupted (staff may start it again)."""
    try:
        app = current_app._get_current_object()
        app.extensions["chorus_jobs"]["task"](job_id, str(app.config["DATABASE"]))
        return
    except Exception:
        log.exception("Job %s could not be queued again after a restart", job_id)
    with transaction(db):
        job = job_by_id(db, job_id)
        if job is None or job["state"] != "queued":
            return
        db.execute("UPDATE jobs SET state = 'interrupted', finished = ? WHERE id = ?", (now(), job_id))
        _audit(db, job, "job_interrupted", user_id=None)
        tidy = _interrupt_hooks.get(job["kind"])
        if tidy is not None:
            tidy(db, job)
    forget_files(database_path(db), job_id)


def forget_files(database: str, job_id: int) -> None:
    """Delete a job's export file and its checkpoint file, if they are there."""
    for path in (erasures.export_file(database, job_id), erasures.checkpoint_file(database, job_id)):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


_interrupt_hooks: dict[str, Callable[[sqlite_utils.Database, dict], None]] = {}


def on_interrupt(kind: str, hook: Callable[[sqlite_utils.Database, dict], None]) -> None:
    """Say how to tidy up after a job of this kind died mid-way (runs in recover's transaction)."""
    _interrupt_hooks[kind] = hook


# --- running a job ----------------------------------------------------------------------------------


@dataclass
class Context:
    """What a handler gets: the database, the job, and a way to report progress (and hear a cancel)."""

    db: sqlite_utils.Database
    job: dict
    config: dict
    _last: float = field(default=0.0)
    _side: sqlite_utils.Database | None = field(default=None, repr=False)
    # The erasure ledger's lines for the job's sessions when it started: a checkpoint kept after one more is stale.
    erasures_at_start: int = 0
    # The size of the checkpoint file `keep` last wrote (for the benchmark's figures).
    kept_bytes: int = 0

    @property
    def session_id(self) -> int | None:
        """The session the job works on (None for a campaign's job)."""
        return self.job["session_id"]

    @property
    def campaign_id(self) -> int | None:
        """The campaign the job works on (None for a session's job)."""
        return self.job.get("campaign_id")

    @property
    def session_ids(self) -> list[int]:
        """The sessions the job counts: a campaign job's, or its own session."""
        return job_session_ids(self.db, self.job["id"])

    def _progress_db(self) -> sqlite_utils.Database:
        """Return where progress is written: the job's connection, or a second one while the job holds a read
        snapshot (an export), since a write there would turn the snapshot into a write lock residents wait for."""
        if not self.db.conn.in_transaction:
            return self.db
        if self._side is None:
            self._side = connect(database_path(self.db), busy_timeout_ms=int(self.config.get("BUSY_TIMEOUT_MS", 5000)))
        return self._side

    def close(self) -> None:
        """Close the second connection progress may have opened."""
        if self._side is not None:
            self._side.conn.close()
            self._side = None

    @property
    def params(self) -> dict:
        """What the job was asked to do."""
        return self.job["params"]

    # --- a resumable job's checkpoint (m044): what is expensive to redo, and where the job stopped ------------

    def _checkpoint_path(self) -> Path:
        """Return the job's checkpoint file (owner-only, in the export folder; an erasure deletes it)."""
        export_folder(self.config)
        return erasures.checkpoint_file(self.config["DATABASE"], self.job["id"])

    def keep(self, state: Any) -> bool:
        """Keep `state` (the engine's result) in the job's checkpoint file; False if it was not kept.

        Written to a temporary file and renamed, so a death mid-write leaves no half file. It is a copy of
        what residents said, so an erasure of one of the job's sessions deletes it (`erasures.forget_exports`);
        one that came after the job started and before the file existed is caught here, and nothing is kept.
        """
        path = self._checkpoint_path()
        partial = path.with_suffix(".partial")
        try:
            with write_private(partial) as file:
                pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
                # The engine's frozen results hold read-only mappings, which pickle cannot take as they are.
                pickler.dispatch_table = copyreg.dispatch_table | {MappingProxyType: _reduce_proxy}
                pickler.dump(state)
            os.replace(partial, path)
            self.kept_bytes = path.stat().st_size
        except OSError:
            log.exception("Job %s could not keep its checkpoint", self.job["id"])
            self.forget_kept()
            return False
        if erasures_across(self.db, self.session_ids) != self.erasures_at_start:
            self.forget_kept()
            return False
        return True

    def kept(self) -> Any:
        """Return what `keep` kept for this job, or None (none kept, or an erasure deleted it)."""
        try:
            with open(self._checkpoint_path(), "rb") as file:
                return pickle.load(file)  # noqa: S301 - written by this app, owner-only, never uploaded
        except FileNotFoundError:
            return None
        except Exception:  # a half-written file, or one an older version of Chorus wrote: start again instead
            log.warning("Job %s: its checkpoint could not be read; it starts again", self.job["id"])
            return None

    def forget_kept(self) -> None:
        """Delete the job's checkpoint file (and a partial one)."""
        path = self._checkpoint_path()
        for each in (path, path.with_suffix(".partial")):
            try:
                os.remove(each)
            except FileNotFoundError:
                pass

    @property
    def checkpoint(self) -> dict:
        """Where the job stopped, as `mark` last recorded it ({} if never)."""
        return self.job.get("checkpoint") or {}

    def mark(self, **facts: Any) -> None:
        """Record where the job is (ids and counts only), inside the caller's transaction on the job's connection,
        so the mark commits with the work it describes."""
        self.job["checkpoint"] = self.checkpoint | facts
        self.db.execute("UPDATE jobs SET checkpoint = ? WHERE id = ?", (json.dumps(self.job["checkpoint"]), self.job["id"]))

    def report(self, done: int, total: int, *, cancellable: bool = True) -> None:
        """Record progress; raise Cancelled if a cancel was asked for and stopping here is safe."""
        target = self._progress_db()
        # Without an fsync inside the write lock (a progress bar may go back a step after a crash; the job's
        # end is written at the connection's own setting): on a busy disk a report's fsync held residents' answers.
        with unsynced(target), transaction(target):
            target.execute("UPDATE jobs SET progress = ?, total = ? WHERE id = ?", (int(done), int(total), self.job["id"]))
        if cancellable:
            state = one(target, "SELECT state FROM jobs WHERE id = ?", (self.job["id"],))
            if state is None or state["state"] == "cancelling":
                raise Cancelled()


def _reduce_proxy(proxy: MappingProxyType) -> tuple:
    """Pickle a read-only mapping as the dict it shows, to be wrapped again when read."""
    return _mapping_proxy, (dict(proxy),)


def _mapping_proxy(items: dict) -> MappingProxyType:
    """Wrap a dict read from a checkpoint back into a read-only mapping."""
    return MappingProxyType(items)


def execute(db: sqlite_utils.Database, job_id: int) -> str:
    """Run one queued job to its end and return its final state (a job no longer queued is left alone)."""
    # Committed without an fsync inside the write lock, then put on disk by the job itself outside it (`settle`):
    # on a busy disk the fsync of this first write held residents' answers a quarter of a second (issue 19).
    with unsynced(db), transaction(db):
        started = db.execute("UPDATE jobs SET state = 'running', started = ? WHERE id = ? AND state = 'queued'",
                             (now(), job_id)).rowcount
    settle(db)
    found = job_by_id(db, job_id)
    if not started or found is None:
        if found is not None and found["state"] in FINISHED and found["kind"] in RESUMABLE:
            try:  # a resumed run cancelled before it ran again: its checkpoint goes (never a finished export's file)
                os.remove(erasures.checkpoint_file(database_path(db), job_id))
            except FileNotFoundError:
                pass
        return found["state"] if found else "gone"
    handler = _handlers.get(found["kind"])
    context = Context(db, found, dict(current_app.config) if has_app_context() else {})
    if found["kind"] in RESUMABLE:
        context.erasures_at_start = erasures_across(db, context.session_ids)
    state, error, result = "done", None, None
    try:
        if handler is None:
            raise RuntimeError(f"No handler for jobs of kind {found['kind']!r}")
        result = handler(context)
    except Cancelled:
        state = "cancelled"
    except Exception as exc:  # a failed job is shown to staff and logged; it must not kill the consumer
        log.exception("Job %s (%s) failed", job_id, found["kind"])
        state, error = "failed", type(exc).__name__
    finally:
        context.close()
    if db.conn.in_transaction:
        db.conn.rollback()
    if found["kind"] in RESUMABLE and context.config.get("DATABASE"):
        context.forget_kept()  # the job ended: nothing to continue from
    with transaction(db):
        db.execute("""UPDATE jobs SET state = ?, finished = ?, error = ?, result = ?,
                        progress = CASE WHEN ? = 'done' THEN max(total, 1) ELSE progress END,
                        total = CASE WHEN ? = 'done' THEN max(total, 1) ELSE total END WHERE id = ?""",
                   (state, now(), error, json.dumps(result) if result is not None else None, state, state, job_id))
        _audit(db, found, {"done": "job_done", "failed": "job_failed", "cancelled": "job_cancelled"}[state],
               user_id=None, extra=f"error={error}" if error else "")
    return state


# A job still queued after this long suggests no consumer is running.
WAITING_LONG_SECONDS = 120


def waiting_long(job: dict) -> bool:
    """Tell whether a job has waited in the queue long enough that its page should say so."""
    if job["state"] != "queued":
        return False
    waited = (datetime.now(timezone.utc) - datetime.fromisoformat(job["created"])).total_seconds()
    return waited > WAITING_LONG_SECONDS


def estimate_seconds(db: sqlite_utils.Database, job: dict) -> int | None:
    """Estimate how many seconds a running job needs still: from its own pace, or from the last job of its kind."""
    if job["state"] not in ("queued", "running") or not job.get("started"):
        return None
    elapsed = (datetime.now(timezone.utc) - datetime.fromisoformat(job["started"])).total_seconds()
    if job["progress"] > 0 and job["total"] > job["progress"]:
        return max(1, int(elapsed * (job["total"] - job["progress"]) / job["progress"]))
    last = one(db, """SELECT started, finished, total FROM jobs WHERE kind = ? AND state = 'done' AND total > 0
                      AND started IS NOT NULL ORDER BY id DESC LIMIT 1""", (job["kind"],))
    if last is None or not job["total"]:
        return None
    took = (datetime.fromisoformat(last["finished"]) - datetime.fromisoformat(last["started"])).total_seconds()
    return max(1, int(took / last["total"] * job["total"] - elapsed))


# --- files an export job writes -----------------------------------------------------------------------


def export_folder(config: dict) -> Path:
    """Return the owner-only folder export jobs write to, beside the database (made if missing)."""
    folder = erasures.exports_folder(config["DATABASE"])
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def export_path(config: dict, job_id: int) -> Path:
    """Return where an export job keeps its file (an erasure deletes it: :func:`listening.erasures.forget_exports`)."""
    export_folder(config)
    return erasures.export_file(config["DATABASE"], job_id)


def write_private(path: Path) -> Any:
    """Open a new owner-only file for writing bytes."""
    handle = open(path, "wb")
    make_private(str(path))
    return handle


def forget_export(config: dict, job_id: int) -> None:
    """Delete an export job's file, if it is still there."""
    try:
        os.remove(export_path(config, job_id))
    except FileNotFoundError:
        pass


def forget_old_exports(db: sqlite_utils.Database, config: dict) -> None:
    """Delete export files older than EXPORT_KEEP_HOURS: a copy of answers is kept no longer than needed."""
    folder = erasures.exports_folder(config["DATABASE"])
    if not folder.is_dir():
        return
    cutoff = time.time() - EXPORT_KEEP_HOURS * 3600
    for path in (*folder.glob("job-*.bin"), *folder.glob("job-*.resume")):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue


def erasures_of(db: sqlite_utils.Database, session_id: int) -> int:
    """Count the erasure ledger's lines for a session (withdrawals, purges, undone imports): a rise makes older exports stale."""
    return erasures_across(db, [session_id])


def erasures_across(db: sqlite_utils.Database, session_ids: list[int]) -> int:
    """Count the erasure ledger's lines for these sessions (a campaign job's)."""
    if not session_ids:
        return 0
    marks = ", ".join("?" for _ in session_ids)
    found = one(db, f"""SELECT count(*) AS n FROM erasure_ledger
                        WHERE session_code IN (SELECT code FROM sessions WHERE id IN ({marks}))""", tuple(session_ids))
    return found["n"] if found else 0


# --- what a job's page shows (the session's and the campaign's job pages share it) ---------------------

KIND_TITLES = {
    "themes": _l("Drafting themes"),
    "live_themes": _l("Drafting themes for the room"),
    "export": _l("Preparing an export"),
    "campaign_themes": _l("Drafting themes across the campaign"),
    "campaign_export": _l("Preparing the campaign's report"),
    "campaign_heard": _l("Counting who was heard across the campaign"),
}
STATE_LABELS = {
    "queued": _l("Waiting to start"),
    "running": _l("Running"),
    "cancelling": _l("Stopping"),
    "done": _l("Finished"),
    "failed": _l("Stopped by an error"),
    "cancelled": _l("Cancelled"),
    "interrupted": _l("Interrupted: Chorus restarted while it ran"),
}


def restart_note(job: dict) -> str | None:
    """Say what a restart of Chorus did to a job it resumed (`recover`), or None if none did."""
    checkpoint = job.get("checkpoint") or {}
    if not checkpoint.get("resumed"):
        return None
    if checkpoint.get("outcome") == "continued":
        return _("Chorus restarted while this ran. It continued where it had stopped, with what the engine "
                 "had already found.")
    if checkpoint.get("outcome") == "again":
        return _("Chorus restarted while this ran. The answers had changed since the engine read them (or the "
                 "engine had not finished), so it started again from the beginning.")
    return _("Chorus restarted while this ran. It continues where it stopped if the answers have not changed "
             "since; otherwise it starts again from the beginning.")


def page_facts(db: sqlite_utils.Database, job: dict) -> dict:
    """Return what a job's page shows of it: its title, state, percent done, time left, whether it waits long,
    and what a restart did to it."""
    eta = estimate_seconds(db, job)
    return {"kind_title": KIND_TITLES[job["kind"]], "state_label": STATE_LABELS[job["state"]],
            "percent": int(100 * job["progress"] / job["total"]) if job["total"] else 0,
            "eta": format_timedelta(timedelta(seconds=eta), threshold=1.1) if eta else None,
            "unfinished": job["state"] in UNFINISHED, "waiting_long": waiting_long(job),
            "restart_note": restart_note(job)}
