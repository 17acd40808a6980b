"""The review pages' background work: a theme run and an export of a big session, as jobs (listening.jobs).

The handlers run in the job consumer (or inline when CHORUS_JOBS_IMMEDIATE is on) with the same query
functions the pages call, so a background run's result equals a run in the request.
"""
from __future__ import annotations

import sqlite_utils

from listening import jobs, queries

from . import qdpx_queries
from . import queries as synthesis


def run_themes_job(ctx: jobs.Context) -> dict:
    """Run the theme engine on a session (the review page's "Draft themes"), reporting progress."""
    prompt_ids = ctx.params.get("prompt_ids")
    result = synthesis.run_themes(ctx.db, ctx.session_id, user_id=ctx.job["who"], prompt_ids=prompt_ids,
                                  progress=ctx.report)
    found = queries.session_by_id(ctx.db, ctx.session_id)
    queries.record_audit(ctx.db, user_id=ctx.job["who"], action="themes_run", target=found["code"],
                         detail=f"answers={result['answer_count']} themes={result['k_chosen']} job={ctx.job['id']}")
    return {"answers": result["answer_count"], "themes": result["k_chosen"]}


def themes_interrupted(db: sqlite_utils.Database, job: dict) -> None:
    """Let a new run start at once after a run died mid-way: close the theme runs it left open (no 30-minute wait)."""
    if job.get("started"):
        db.execute("UPDATE theme_runs SET finished_at = ? WHERE session_id = ? AND finished_at IS NULL AND created_at >= ?",
                   (jobs.now(), job["session_id"], job["started"]))


def export_job(ctx: jobs.Context) -> dict:
    """Write a report or export of a big session to an owner-only file for its download (audited like any export)."""
    path = jobs.export_path(ctx.config, ctx.job["id"])
    ctx.report(0, 1)
    # Counted before the export reads: any erasure after this (even during the export) makes the file stale.
    erasures = jobs.erasures_of(ctx.db, ctx.session_id)
    try:
        with jobs.write_private(path) as file:
            if ctx.params["format"] == "qdpx":
                name = qdpx_queries.export_qdpx(ctx.db, ctx.session_id, file, answer_set=ctx.params["set"],
                                                drafts=ctx.params["drafts"], draft_mark=ctx.params["draft_mark"],
                                                translation_mark=ctx.params.get("translation_mark", "Translation:"),
                                                user_id=ctx.job["who"])
            else:
                name = synthesis.export(ctx.db, ctx.session_id, file, fmt=ctx.params["format"],
                                        language=ctx.params["language"], user_id=ctx.job["who"])
        ctx.report(1, 1)
    except BaseException:
        jobs.forget_export(ctx.config, ctx.job["id"])
        raise
    return {"name": name, "format": ctx.params["format"], "bytes": path.stat().st_size, "erasures": erasures}
