"""The page of one background job (issue 19): its progress and estimated time, cancel, start again, and an export's download.

It works without JavaScript: the page offers a "Check again" button and, if asked, refreshes itself
every few seconds with a meta refresh (opt-in, so nobody's screen reader is interrupted uninvited).
Anyone who may see the session may follow its jobs; cancelling or restarting a live draft is for
facilitators, as starting one is.
"""
from __future__ import annotations

import os
from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden

from listening import jobs
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm

from .blueprint import READERS, bp, load_session, titled

# Seconds between refreshes when staff ask the page to follow a job.
REFRESH_SECONDS = 5

KIND_TITLES = {
    "themes": _l("Drafting themes"),
    "live_themes": _l("Drafting themes for the room"),
    "export": _l("Preparing an export"),
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


def job_address(session_id: int, job: dict | None) -> str:
    """Return the page of a job (or of the session when there is none)."""
    if job is None:
        return url_for("facilitation.session_overview", session_id=session_id)
    return url_for("facilitation.job", session_id=session_id, job_id=job["id"])


def load_job(session_id: int, job_id: int) -> dict:
    """Return a job of a session the staff member may see, or answer 404."""
    load_session(session_id)
    found = jobs.job_by_id(get_db(), job_id)
    if found is None or found["session_id"] != session_id:
        abort(404)
    return found


def may_change(job: dict) -> bool:
    """Tell whether the signed-in staff member may cancel or restart this job (a live draft: facilitators)."""
    return job["kind"] != "live_themes" or g.user["role"] in ("admin", "facilitator")


@bp.route("/sessions/<int:session_id>/jobs/<int:job_id>")
@requires(*READERS)
def job(session_id: int, job_id: int):
    """Show a job's progress, estimated time left and outcome."""
    found = load_session(session_id)
    current = load_job(session_id, job_id)
    db = get_db()
    eta = jobs.estimate_seconds(db, current)
    follow = request.args.get("follow") == "1" and current["state"] in jobs.UNFINISHED
    return render_template(
        "facilitation/job.html", s=found, title=titled(found), job=current, form=ActionForm(),
        kind_title=KIND_TITLES[current["kind"]], state_label=STATE_LABELS[current["state"]],
        percent=int(100 * current["progress"] / current["total"]) if current["total"] else 0,
        eta=format_timedelta(timedelta(seconds=eta), threshold=1.1) if eta else None,
        follow=follow, refresh=REFRESH_SECONDS, may_change=may_change(current),
        unfinished=current["state"] in jobs.UNFINISHED, waiting_long=jobs.waiting_long(current),
    )


@bp.route("/sessions/<int:session_id>/jobs/<int:job_id>/cancel", methods=["POST"])
@requires(*READERS)
def job_cancel(session_id: int, job_id: int):
    """Cancel a queued or running job."""
    current = load_job(session_id, job_id)
    if not may_change(current):
        raise Forbidden()
    if not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
    elif jobs.cancel(get_db(), job_id, who=g.user["id"]):
        flash(_("Cancelled. A run that had begun writing its results finishes them first, so nothing is left half done."), "ok")
    else:
        flash(_("This task had already finished."), "error")
    return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)


@bp.route("/sessions/<int:session_id>/jobs/<int:job_id>/restart", methods=["POST"])
@requires(*READERS)
def job_restart(session_id: int, job_id: int):
    """Start a finished job's work again (after an interruption, an error or a cancel)."""
    current = load_job(session_id, job_id)
    if not may_change(current):
        raise Forbidden()
    if not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)
    if current["state"] not in jobs.RESTARTABLE:
        flash(_("Only a task that did not finish can be started again."), "error")
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)
    try:
        new_id = jobs.restart(get_db(), job_id, who=g.user["id"])
    except jobs.CannotStart as refused:
        flash(refused.message(), "error")
        if isinstance(refused, jobs.JobBusy):
            return redirect(job_address(session_id, refused.job), 303)
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)
    return redirect(url_for("facilitation.job", session_id=session_id, job_id=new_id), 303)


@bp.route("/sessions/<int:session_id>/jobs/<int:job_id>/download", methods=["POST"])
@requires(*READERS)
def job_download(session_id: int, job_id: int):
    """Download the file a finished export job wrote, unless someone withdrew since (then it is deleted)."""
    current = load_job(session_id, job_id)
    back = redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)
    if not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return back
    path = jobs.export_path(current_app.config, job_id)
    if current["kind"] != "export" or current["state"] != "done" or not os.path.exists(path):
        flash(_("This file is no longer kept. Please make the export again."), "error")
        return back
    if current["who"] != g.user["id"]:
        # The file is the starter's download: an admin's internal project must not reach a planner.
        raise Forbidden()
    if jobs.erasures_of(get_db(), session_id) != current["result"].get("erasures"):
        jobs.forget_export(current_app.config, job_id)
        flash(_("Someone withdrew after this export was made, so it was deleted. Please make the export again."), "error")
        return back
    from analysis import reports

    fmt = current["result"]["format"]
    response = send_file(open(path, "rb"), mimetype="application/zip" if fmt == "qdpx" else reports.MIMETYPES[fmt],
                         as_attachment=True,
                         download_name=current["result"]["name"], conditional=False, etag=False, last_modified=None)
    response.headers["Cache-Control"] = "no-store"
    return response
