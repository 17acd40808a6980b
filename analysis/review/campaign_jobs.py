"""A campaign's long work as background jobs (issue 19): which jobs a member may follow, starting one, and
what the shared job page (facilitation/job.html) shows of a campaign's job.

A job counts the sessions its starter saw (`job_sessions`) and remembers their standing: a backbone
job (over every session, with the pooled themes) is for the backbone and admins; a partner's job is
for staff of that partner who see every session it counts. Anyone else gets 404, as for a job that
does not exist. The routes are in `campaigns.py`; the work in `jobs.py`.
"""
from __future__ import annotations

from flask import current_app, g, url_for
from flask_babel import gettext as _

from listening import campaigns, jobs
from listening.db import get_db

from . import jobs as job_work
from . import queries as synthesis

BACKBONE = ("admin", "backbone")


def scope_params(campaign_id: int, standing: str) -> dict:
    """Return what a job records of its starter's standing: the backbone's, or which partner's."""
    if standing in BACKBONE:
        return {"standing": "backbone", "partner_id": None}
    member = campaigns.membership(get_db(), campaign_id, g.user["id"])
    return {"standing": "partner", "partner_id": member["partner_id"] if member else None}


def may_see(job: dict, campaign_id: int, standing: str, sessions: list[dict]) -> bool:
    """Tell whether the signed-in member may follow a campaign's job: same standing, and every session it counts seen."""
    if job is None or job["campaign_id"] != campaign_id or job["kind"] not in jobs.CAMPAIGN_KINDS:
        return False
    if standing not in BACKBONE:
        if job["params"].get("standing") != "partner" or job["kind"] == "campaign_themes":
            return False
        if job["params"].get("partner_id") != scope_params(campaign_id, standing)["partner_id"]:
            return False
    return set(jobs.job_session_ids(get_db(), job["id"])) <= {s["id"] for s in sessions}


def is_big(sessions: list[dict]) -> bool:
    """Tell whether the work counts more than CHORUS_JOBS_THRESHOLD answers over these sessions."""
    return jobs.background_wanted_across(get_db(), [s["id"] for s in sessions], current_app.config)


def start(found: dict, standing: str, sessions: list[dict], kind: str, params: dict) -> int:
    """Queue a campaign job over these sessions and return its id (raises jobs.CannotStart)."""
    return jobs.submit(get_db(), None, kind, params | scope_params(found["id"], standing), who=g.user["id"],
                       campaign_id=found["id"], session_ids=[s["id"] for s in sessions])


def done_note(found: dict, job: dict) -> tuple[str, str, str] | None:
    """Return what a finished campaign job made: a sentence, a link and its label."""
    if job["kind"] == "campaign_themes":
        return (_("Draft themes are ready. Please review them: they are a starting point, not a finding."),
                url_for("campaigns.themes", campaign_id=found["id"], question=job["params"]["question_id"],
                        round=job["params"].get("round_id") or ""), _("See the themes"))
    if job["kind"] == "campaign_heard":
        return "", url_for("campaigns.heard", campaign_id=found["id"]), _("See who was heard")
    return None


def resume_note(job: dict) -> str | None:
    """Say what an interrupted campaign theme run left (docs/scaling.md: nothing half written)."""
    if job["kind"] != "campaign_themes":
        return None
    return _("Chorus stopped while this ran. A campaign's themes are written all at once at the end, so the "
             "themes from before are unchanged. Start it again to run it from the start.")


def built_heard(found: dict, standing: str, sessions: list[dict]) -> tuple[dict | None, dict | None]:
    """Return the newest finished "who was heard" count over exactly these sessions that this member may see
    (its job and what it counted), or (None, None)."""
    ids = sorted(s["id"] for s in sessions)
    for job in jobs.campaign_jobs(get_db(), found["id"], "campaign_heard"):
        if job["state"] != "done" or jobs.job_session_ids(get_db(), job["id"]) != ids:
            continue
        if not may_see(job, found["id"], standing, sessions):
            continue
        built = job_work.heard_built(current_app.config, job)
        # An erasure deletes the file; should that have failed, a count from before it is still not shown.
        if built is not None and jobs.erasures_across(get_db(), ids) == job["result"].get("erasures"):
            return job, built
    return None, None


def current_key(sessions: list[dict]) -> tuple:
    """Return the data-version key of these sessions and the campaign tables now."""
    return synthesis.data_versions(get_db(), tuple(sorted(s["id"] for s in sessions)))


def running_for(found: dict, standing: str, sessions: list[dict]) -> dict | None:
    """Return the campaign's unfinished job if this member may follow it (a partner never learns of another's)."""
    current = jobs.active_campaign_job(get_db(), found["id"])
    return current if current is not None and may_see(current, found["id"], standing, sessions) else None
