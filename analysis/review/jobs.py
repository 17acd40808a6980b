"""The review pages' background work: a theme run and an export of a big session, and a campaign's pooled
theme run, report and "who was heard" counts, as jobs (listening.jobs).

The handlers run in the job consumer (or inline when CHORUS_JOBS_IMMEDIATE is on) with the same query
functions the pages call, so a background run's result equals a run in the request. A campaign job
counts the sessions it was started over (`Context.session_ids`: the starter's, as the page counted
them), never more.
"""
from __future__ import annotations

import contextlib
import pickle

import sqlite_utils

from analysis import forking
from listening import campaigns, jobs, queries
from listening.db import transaction

from . import campaign_queries as pooled
from . import qdpx_queries
from . import queries as synthesis
from . import reporting


def run_themes_job(ctx: jobs.Context) -> dict:
    """Run the theme engine on a session (the review page's "Draft themes"), reporting progress.

    A run the consumer resumed after a restart (`jobs.recover`) continues from its checkpoint if the
    session's answers are as the engine read them (`synthesis.resume_themes`); else it says so on its
    page and starts again from the beginning.
    """
    with engine_forks(ctx):
        return _run_themes_job(ctx)


def engine_forks(ctx: jobs.Context):
    """Let the engine fork its helpers (`analysis.forking`, as `chorus themes` does) when the job has a process of its
    own, which exits when the job ends; in the consumer or a request the engine computes in process."""
    return forking.enable() if ctx.own_process else contextlib.nullcontext()


def _run_themes_job(ctx: jobs.Context) -> dict:
    """Do the work of `run_themes_job`."""
    prompt_ids = ctx.params.get("prompt_ids")
    result = None
    if ctx.checkpoint.get("resumed"):
        kept = ctx.kept()
        if kept is not None:
            with transaction(ctx.db):
                ctx.mark(outcome="continued")
            result = synthesis.resume_themes(ctx.db, ctx.session_id, kept, user_id=ctx.job["who"], checkpoint=ctx,
                                             progress=ctx.report)
        if result is None:
            start_again(ctx)
    if result is None:
        result = synthesis.run_themes(ctx.db, ctx.session_id, user_id=ctx.job["who"], prompt_ids=prompt_ids,
                                      progress=ctx.report, checkpoint=ctx)
    found = queries.session_by_id(ctx.db, ctx.session_id)
    queries.record_audit(ctx.db, user_id=ctx.job["who"], action="themes_run", target=found["code"],
                         detail=f"answers={result['answer_count']} themes={result['k_chosen']} job={ctx.job['id']}")
    return {"answers": result["answer_count"], "themes": result["k_chosen"], "checkpoint_bytes": ctx.kept_bytes}


def start_again(ctx: jobs.Context) -> None:
    """Give up a resumed job's checkpoint (the answers changed, or the engine had not finished): close the theme run
    it had begun, if any, so a new one may start, and say on its page that it starts again from the beginning."""
    ctx.forget_kept()
    with transaction(ctx.db):
        if ctx.checkpoint.get("run_id") and ctx.job["kind"] == "themes":
            ctx.db.execute("UPDATE theme_runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                           (jobs.now(), ctx.checkpoint["run_id"]))
        ctx.mark(outcome="again", run_id=None, stamp=None, target=None, taken=None, before=None, placed=None)


def themes_interrupted(db: sqlite_utils.Database, job: dict) -> None:
    """Let a new run start at once after a run died mid-way: close the theme runs it left open (no 30-minute wait)."""
    if job.get("started"):
        db.execute("UPDATE theme_runs SET finished_at = ? WHERE session_id = ? AND finished_at IS NULL AND created_at >= ?",
                   (jobs.now(), job["session_id"], job["started"]))


def _written(ctx: jobs.Context, write) -> dict:
    """Write a job's file owner-only with `write(file) -> result`; a failed or cancelled job leaves no file."""
    path = jobs.export_path(ctx.config, ctx.job["id"])
    # Counted before the work reads: any erasure after this (even during the export) makes the file stale.
    erasures = jobs.erasures_across(ctx.db, ctx.session_ids)
    try:
        with jobs.write_private(path) as file:
            result = write(file)
    except BaseException:
        jobs.forget_export(ctx.config, ctx.job["id"])
        raise
    return result | {"bytes": path.stat().st_size, "erasures": erasures}


def export_job(ctx: jobs.Context) -> dict:
    """Write a report or export of a big session to an owner-only file for its download (audited like any export).

    Progress is rows written of rows to write for the data exports (CSV, JSON, Excel), else the steps.
    """
    params = ctx.params

    def write(file) -> dict:
        """Write the export the job was asked for."""
        if params["format"] == "qdpx":
            name = qdpx_queries.export_qdpx(ctx.db, ctx.session_id, file, answer_set=params["set"], drafts=params["drafts"],
                                            draft_mark=params["draft_mark"],
                                            translation_mark=params.get("translation_mark", "Translation:"),
                                            user_id=ctx.job["who"], progress=ctx.report)
        else:
            name = reporting.export(ctx.db, ctx.session_id, file, fmt=params["format"], language=params["language"],
                                    user_id=ctx.job["who"], progress=ctx.report)
        return {"name": name, "format": params["format"]}

    return _written(ctx, write)


def job_sessions(ctx: jobs.Context) -> list[dict]:
    """Return the campaign's sessions this job counts, as the campaign pages list them."""
    return campaigns.campaign_sessions(ctx.db, ctx.campaign_id,
                                       ("SELECT session_id FROM job_sessions WHERE job_id = :job_scope", {"job_scope": ctx.job["id"]}))


def campaign_themes_job(ctx: jobs.Context) -> dict:
    """Run the engine over an open bank question's answers in the campaign's sessions (one round, or all)."""
    question = campaigns.bank_question(ctx.db, ctx.campaign_id, ctx.params["question_id"])
    if question is None:
        raise LookupError(f"Bank question {ctx.params['question_id']} is gone")
    with engine_forks(ctx):
        made = pooled.run_pooled_themes(ctx.db, ctx.campaign_id, question, ctx.session_ids, round_id=ctx.params.get("round_id"),
                                        progress=ctx.report, checkpoint=ctx)
    found = campaigns.campaign_by_id(ctx.db, ctx.campaign_id)
    queries.record_audit(ctx.db, user_id=ctx.job["who"], action="campaign_themes_run", target=f"campaign:{found['slug']}",
                         detail=f"question={question['id']} round={ctx.params.get('round_id') or 'all'} themes={made} "
                                f"job={ctx.job['id']}")
    return {"themes": made}


def campaign_export_job(ctx: jobs.Context) -> dict:
    """Write a campaign's report or codebook (counted over the job's sessions) to an owner-only file for its download."""
    from analysis import reports

    found = campaigns.campaign_by_id(ctx.db, ctx.campaign_id)
    fmt, language = ctx.params["format"], ctx.params["language"]

    def write(file) -> dict:
        """Assemble the campaign's report, write it, and log the export."""
        report = pooled.campaign_report(ctx.db, found, job_sessions(ctx), language, with_themes=ctx.params["with_themes"],
                                        progress=ctx.report)
        reports.write(report, fmt, file, pooled.synthesis.translations_for(language))
        name = reports.filename(found["slug"], fmt, language)
        queries.record_audit(ctx.db, user_id=ctx.job["who"], action="campaign_export", target=f"campaign:{found['slug']}",
                             detail=f"format={fmt} language={language} file={name} job={ctx.job['id']}")
        return {"name": name, "format": fmt}

    return _written(ctx, write)


def campaign_heard_job(ctx: jobs.Context) -> dict:
    """Count "who was heard" over the job's sessions and keep the result in the job's file for the page to show.

    The file holds published (disclosure-protected) counts only, keyed by the sessions' data versions read
    before counting, so the page can tell whether answers arrived since; an erasure deletes it like an export.
    """
    sessions = job_sessions(ctx)
    key = synthesis.data_versions(ctx.db, tuple(sorted(s["id"] for s in sessions)))
    data = pooled.heard_data(ctx.db, ctx.campaign_id, sessions, progress=ctx.report)

    def write(file) -> dict:
        """Keep the counts with the key they were counted at."""
        pickle.dump({"key": key, "data": data}, file)
        return {"key": list(key)}

    return _written(ctx, write)


def heard_built(config: dict, job: dict) -> dict | None:
    """Return what a finished "who was heard" job counted ({"key", "data"}), or None once its file is gone.

    The file is the app's own, written owner-only by `campaign_heard_job` beside the database.
    """
    try:
        with open(jobs.export_path(config, job["id"]), "rb") as file:
            return pickle.load(file)  # noqa: S301 - written by this app, owner-only, never uploaded
    except FileNotFoundError:
        return None
