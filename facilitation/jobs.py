"""The page of one background job (issue 19): its progress and estimated time, cancel, start again, and an export's download.

It works without JavaScript: the page offers a "Check again" button and, if asked, refreshes itself
every few seconds with a meta refresh (opt-in, so nobody's screen reader is interrupted uninvited).
Anyone who may see the session may follow its jobs; cancelling or restarting a live draft is for
facilitators, as starting one is.
"""
from __future__ import annotations

import os

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from listening import jobs
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm

from .blueprint import READERS, bp, load_session, titled

REFRESH_SECONDS = jobs.REFRESH_SECONDS



def resume_note(job: dict) -> str | None:
    """Say what an interrupted theme run left behind and what starting it again does (docs/scaling.md)."""
    if job["kind"] != "themes":
        return None
    return _("Chorus stopped while this ran. The answers it had already placed in its new themes stay there. "
             "Starting it again runs the engine from the start over the answers as they are then, keeps the "
             "names of the themes it finds again, and places every answer.")


def done_note(session_id: int, job: dict) -> tuple[str, str, str] | None:
    """Return what a finished job of a session made: a sentence, a link and its label."""
    if job["kind"] == "themes":
        return (_("Draft themes are ready. Please review them: they are a starting point, not a finding."),
                url_for("review.session", session_id=session_id), _("See the draft themes"))
    if job["kind"] == "live_themes":
        made = job["result"] and job["result"].get("draft")
        return (_("A draft of themes is ready on the console. It shows on the screen only once you approve it.") if made
                else _("There were too few answers to draft themes."),
                url_for("facilitation.console", session_id=session_id) + "#themes", _("Back to the console"))
    return None


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
    """Tell whether the signed-in staff member may cancel or restart this job: only who may start such work (a live
    draft: facilitators; the internal .qdpx project: admins, since whoever restarts a job becomes its starter and
    downloads its file)."""
    if job["kind"] == "export" and (job["params"] or {}).get("set") == "internal":
        return g.user["role"] == "admin"
    return job["kind"] != "live_themes" or g.user["role"] in ("admin", "facilitator")


@bp.route("/sessions/<int:session_id>/jobs/<int:job_id>")
@requires(*READERS)
def job(session_id: int, job_id: int):
    """Show a job's progress, estimated time left and outcome."""
    found = load_session(session_id)
    current = load_job(session_id, job_id)
    follow = request.args.get("follow") == "1" and current["state"] in jobs.UNFINISHED
    address = {"session_id": session_id, "job_id": job_id}
    links = {"check": url_for("facilitation.job", **address), "cancel": url_for("facilitation.job_cancel", **address),
             "restart": url_for("facilitation.job_restart", **address),
             "download": url_for("facilitation.job_download", **address)}
    return render_template(
        "facilitation/job.html", s=found, title=titled(found), job=current, form=ActionForm(), timezone=found["timezone"],
        back=(url_for("facilitation.session_overview", session_id=session_id), titled(found)), links=links,
        done=done_note(session_id, current), resume_note=resume_note(current),
        follow=follow, refresh=REFRESH_SECONDS, may_change=may_change(current), **jobs.page_facts(get_db(), current),
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
