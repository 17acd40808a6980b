"""Campaign pages for backbone and partner staff (blueprint "campaigns", under /staff/campaigns) and the
public campaign page (blueprint "campaign_public", at /c/<slug>).

Who may open what: admins every campaign; a campaign's backbone staff (members without a
partner) all of it; a partner's staff the campaign's pages counted over their partner's
sessions only; anyone else gets 404 for the campaign, as if it did not exist. Changing a
campaign (partners, members, rounds, sessions, bank, publishing) is for admins and backbone
facilitators; pooled themes, rounds and commitments for the backbone. Every change is written
to the audit log. SQL lives in `listening.campaigns` and `analysis.review.campaign_queries`.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.exceptions import Forbidden, NotFound

from listening import access, campaigns, jobs, queries
from listening.accounts import load_user, requires, user_by_email
from listening.db import get_db
from listening.forms import ActionForm
from listening.i18n import app_languages, current_language, language_name

from . import campaign_jobs
from . import campaign_queries as pooled
from . import page_cache

bp = Blueprint("campaigns", __name__, template_folder="../templates")
public_bp = Blueprint("campaign_public", __name__, template_folder="../templates")

READERS = ("facilitator", "planner")
MAX_TEXT = 2000


@bp.before_request
def campaign_user() -> None:
    """Put the signed-in staff member on `g.user` and answer 404 for a campaign they may not open."""
    load_user()
    campaign_id = (request.view_args or {}).get("campaign_id")
    if campaign_id is not None and g.get("user") is not None and access.campaign_role(get_db(), g.user, campaign_id) is None:
        raise NotFound()


def load_campaign(campaign_id: int) -> tuple[dict, str, list[dict]]:
    """Return a campaign the signed-in member may open, their standing in it, and the sessions they may see in it."""
    db = get_db()
    standing = access.campaign_role(db, g.user, campaign_id)
    if standing is None:
        raise NotFound()
    found = campaigns.campaign_by_id(db, campaign_id)
    return found, standing, campaigns.campaign_sessions(db, campaign_id, access.campaign_sessions_for(g.user, campaign_id))


def require_backbone(standing: str, *, change: bool = False) -> None:
    """Refuse (403) partner staff, and planners where the campaign itself is changed."""
    if standing not in ("admin", "backbone") or (change and g.user["role"] not in ("admin", "facilitator")):
        raise Forbidden()


def audit(action: str, found: dict, detail: str = "") -> None:
    """Write a campaign change to the audit log."""
    queries.record_audit(get_db(), user_id=g.user["id"], action=action, target=f"campaign:{found['slug']}", detail=detail)


def name_of(found: dict) -> str:
    """Return a campaign's name in the page's language (else its default)."""
    return campaigns.campaign_text(found, "name", current_language())


def back(endpoint: str, found: dict, message: str | None = None, category: str = "info", **args):
    """Flash a message and go back to a campaign page (303)."""
    if message:
        flash(message, category)
    return redirect(url_for(endpoint, campaign_id=found["id"], **args)), 303


def valid_form() -> bool:
    """Check a posted form's CSRF token."""
    return ActionForm(request.form).validate()


@bp.route("/", methods=["GET", "POST"])
@requires(*READERS)
def index():
    """The campaigns this staff member may open; admins create campaigns here."""
    db = get_db()
    error = None
    if request.method == "POST":
        if g.user["role"] != "admin":
            raise Forbidden()
        slug = (request.form.get("slug") or "").strip().lower()
        name = (request.form.get("name") or "").strip()
        languages = [code for code in request.form.getlist("languages") if code in app_languages()] or ["en"]
        if not valid_form():
            error = _("This page was open for a long time. Please try again.")
        elif not name or len(name) > 200 or not campaigns.SLUG.match(slug) or campaigns.campaign_by_slug(db, slug):
            error = _("Give the campaign a name and a free short address of 3 to 40 letters, digits or dashes.")
        else:
            campaign_id = campaigns.create_campaign(db, slug=slug, languages=languages, created_by=g.user["id"],
                                                    texts={"name": {languages[0]: name}})
            queries.record_audit(db, user_id=g.user["id"], action="campaign_created", target=f"campaign:{slug}")
            return redirect(url_for("campaigns.dashboard", campaign_id=campaign_id)), 303
    found = campaigns.campaigns_among(db, access.accessible_campaigns(g.user))
    return render_template("campaigns/index.html", campaigns=found, form=ActionForm(), error=error,
                           languages=app_languages(), language_name=language_name,
                           name_of=name_of), 400 if error else 200


@bp.route("/<int:campaign_id>/")
@requires(*READERS)
def dashboard(campaign_id: int):
    """A campaign at a glance: its sessions by round and partner, people heard, and (backbone) its setup."""
    found, standing, sessions = load_campaign(campaign_id)
    db = get_db()
    return render_template(
        "campaigns/dashboard.html", c=found, name=name_of(found), standing=standing, sessions=sessions,
        totals=pooled.totals(sessions), rounds=campaigns.rounds_of(db, campaign_id),
        partners=campaigns.partners_of(db, campaign_id), members=campaigns.members_of(db, campaign_id)
        if standing in ("admin", "backbone") else [], form=ActionForm(),
        addable=access.sessions_for(db, g.user) if standing in ("admin", "backbone") else [],
        can_change=standing in ("admin", "backbone") and g.user["role"] in ("admin", "facilitator"),
        bank=campaigns.bank_of(db, campaign_id), language=current_language(), wording=campaigns.wording)


@bp.route("/<int:campaign_id>/", methods=["POST"])
@requires(*READERS)
def manage(campaign_id: int):
    """Change a campaign: partners, rounds, members, its sessions, bank questions, or publishing."""
    found, standing, _sessions = load_campaign(campaign_id)
    require_backbone(standing, change=True)
    if not valid_form():
        return back("campaigns.dashboard", found, _("This page was open for a long time. Please try again."), "error")
    what = request.form.get("what", "")
    handler = MANAGERS.get(what)
    if handler is None:
        return back("campaigns.dashboard", found, _("Nothing was changed."), "error")
    return handler(found)


def _text(field: str, limit: int = 200) -> str:
    """Return a posted text field, stripped, or '' when it is too long."""
    value = (request.form.get(field) or "").strip()
    return value if len(value) <= limit else ""


def _int(field: str) -> int | None:
    """Return a posted whole number, or None."""
    try:
        return int(request.form.get(field, ""))
    except ValueError:
        return None


def _add_partner(found: dict):
    """Add a partner organisation."""
    name = _text("name")
    if not name or campaigns.add_partner(get_db(), found["id"], name) is None:
        return back("campaigns.dashboard", found, _("Give the partner a name this campaign does not have yet."), "error")
    audit("campaign_partner_added", found, name)
    return back("campaigns.dashboard", found, _("Partner added."))


def _add_round(found: dict):
    """Add a round after the last."""
    name = _text("name")
    if not name:
        return back("campaigns.dashboard", found, _("Give the round a name."), "error")
    campaigns.add_round(get_db(), found["id"], name)
    audit("campaign_round_added", found, name)
    return back("campaigns.dashboard", found, _("Round added."))


def _add_member(found: dict):
    """Make a facilitator or planner a member of a partner or of the backbone."""
    db = get_db()
    person = user_by_email(db, _text("email"))
    partner_id = _int("partner_id") or None
    if person is None or not campaigns.set_member(db, found["id"], person["id"], partner_id, given_by=g.user["id"]):
        return back("campaigns.dashboard", found, _("Only an active facilitator or planner account can be a member."), "error")
    audit("campaign_member_set", found, f"{person['email']} partner={partner_id or 'backbone'}")
    return back("campaigns.dashboard", found, _("Member saved."))


def _remove_member(found: dict):
    """End someone's membership."""
    user_id = _int("user_id")
    if user_id is None or not campaigns.remove_member(get_db(), found["id"], user_id):
        return back("campaigns.dashboard", found, _("Nothing was changed."), "error")
    audit("campaign_member_removed", found, f"user={user_id}")
    return back("campaigns.dashboard", found, _("Member removed."))


def _add_session(found: dict):
    """Put a session the member may see into a round, hosted by a partner (from another campaign only for who may
    change that one too: moving it takes it from that campaign's counts and from its partner's staff)."""
    db = get_db()
    session_id = _int("session_id")
    place = campaigns.session_place(db, session_id) if session_id is not None else None
    if place is not None and place["campaign_id"] != found["id"] and not (
            access.campaign_role(db, g.user, place["campaign_id"]) in ("admin", "backbone")
            and g.user["role"] in ("admin", "facilitator")):
        return back("campaigns.dashboard", found, _("That session belongs to another campaign. Someone who runs that "
                                                    "campaign must take it out first."), "error")
    if session_id is None or not access.can_see_session(db, g.user, session_id) or not campaigns.add_session(
            db, found["id"], session_id, round_id=_int("round_id") or 0, partner_id=_int("partner_id") or 0,
            added_by=g.user["id"]):
        return back("campaigns.dashboard", found, _("Choose a session, a round and a partner."), "error")
    audit("campaign_session_added", found, queries.session_by_id(db, session_id)["code"])
    return back("campaigns.dashboard", found, _("Session added to the campaign."))


def _remove_session(found: dict):
    """Take a session out of the campaign."""
    session_id = _int("session_id")
    if session_id is None or not campaigns.remove_session(get_db(), found["id"], session_id):
        return back("campaigns.dashboard", found, _("Nothing was changed."), "error")
    audit("campaign_session_removed", found, f"session={session_id}")
    return back("campaigns.dashboard", found, _("Session taken out of the campaign."))


def _add_question(found: dict):
    """Add a question to the bank, worded in the campaign's languages."""
    kind = request.form.get("kind", "")
    texts = {code: _text(f"text_{code}", MAX_TEXT) for code in found["languages"]}
    options = {code: (request.form.get(f"options_{code}") or "").splitlines()[:30] for code in found["languages"]}
    if kind not in campaigns.BANK_KINDS or not all(texts.values()) or (kind == "about" and not any(options.values())):
        return back("campaigns.dashboard", found, _("Write the question in every language of the campaign (and, for "
                                                    "“about you”, its choices)."), "error")
    campaigns.add_question(get_db(), found["id"], kind=kind, texts=texts, options=options,
                           demographic=_text("demographic", 40) or None)
    audit("campaign_question_added", found, kind)
    return back("campaigns.dashboard", found, _("Question added to the bank."))


def _copy_question(found: dict):
    """Copy a bank question into one of the campaign's draft sessions, linked so its answers pool."""
    db = get_db()
    question = campaigns.bank_question(db, found["id"], _int("question_id") or 0)
    session_id = _int("session_id") or 0
    place = campaigns.session_place(db, session_id)
    session = queries.session_by_id(db, session_id)
    if question is None or place is None or place["campaign_id"] != found["id"] or session["status"] != "draft" \
            or not access.can_see_session(db, g.user, session_id):
        return back("campaigns.dashboard", found, _("Bank questions can be added to the campaign's draft sessions only."),
                    "error")
    campaigns.copy_into_session(db, question, session)
    audit("campaign_question_copied", found, f"question={question['id']} session={session['code']}")
    return back("campaigns.dashboard", found, _("Question added to the session."))


def _reference(found: dict):
    """Save the reference population's shares and the priority groups of an "about you" bank question."""
    db = get_db()
    question = campaigns.bank_question(db, found["id"], _int("question_id") or 0)
    if question is None or question["kind"] != "about":
        raise NotFound()
    percents = {}
    for option in question["options"]:
        raw = (request.form.get(f"share-{option['id']}") or "").strip().replace(",", ".").rstrip("%")
        try:
            value = float(raw) if raw else None
        except ValueError:
            value = -1.0
        if value is not None and not 0 <= value <= 100:
            return back("campaigns.dashboard", found, _("Each share is a number from 0 to 100."), "error")
        percents[option["id"]] = value
    priority = {o["id"] for o in question["options"] if request.form.get(f"priority-{o['id']}")}
    campaigns.save_reference(db, question["id"], percents, source=_text("source"), priority=priority)
    audit("campaign_reference", found, f"question={question['id']}")
    return back("campaigns.dashboard", found, _("Reference population saved."))


def _publish(found: dict):
    """Show or hide the public campaign page."""
    on = request.form.get("published") == "1"
    campaigns.set_published(get_db(), found["id"], on)
    audit("campaign_published" if on else "campaign_unpublished", found)
    return back("campaigns.dashboard", found, _("Public page published.") if on else _("Public page hidden."))


def _texts(found: dict):
    """Save the campaign's name and purpose in each of its languages."""
    texts = {field: {code: _text(f"{field}_{code}", MAX_TEXT) for code in found["languages"]} for field in ("name", "purpose")}
    if not texts["name"][found["default_language"]]:
        return back("campaigns.dashboard", found, _("The campaign needs a name in its main language."), "error")
    campaigns.set_campaign_texts(get_db(), found["id"], texts)
    audit("campaign_texts", found)
    return back("campaigns.dashboard", found, _("Saved."))


MANAGERS = {"partner": _add_partner, "round": _add_round, "member": _add_member, "unmember": _remove_member,
            "session": _add_session, "unsession": _remove_session, "question": _add_question, "copy": _copy_question,
            "reference": _reference, "publish": _publish, "texts": _texts}


@bp.route("/<int:campaign_id>/heard", methods=["GET", "POST"])
@requires(*READERS)
def heard(campaign_id: int):
    """Who was heard across the campaign (the sessions this member may see) against the reference population.

    Above CHORUS_JOBS_THRESHOLD answers the counting is a background job (a POST starts it): the page
    shows the newest count over these sessions, saying when answers arrived since it was made.
    """
    found, standing, sessions = load_campaign(campaign_id)
    db = get_db()
    if request.method == "POST":
        if not valid_form():
            return back("campaigns.heard", found, _("This page was open for a long time. Please try again."), "error")
        if not campaign_jobs.is_big(sessions):
            return back("campaigns.heard", found)
        try:
            job_id = campaign_jobs.start(found, standing, sessions, "campaign_heard", {})
        except jobs.CannotStart as refused:
            return back("campaigns.heard", found, refused.message(), "error")
        return redirect(url_for("campaigns.job", campaign_id=campaign_id, job_id=job_id)), 303
    ids = [s["id"] for s in sessions]
    what = ("campaign-heard", campaign_id)
    built = None
    if campaign_jobs.is_big(sessions):
        data = page_cache.peek_across(db, ids, what)
        if data is None:
            built, stored = campaign_jobs.built_heard(found, standing, sessions)
            data = stored["data"] if stored else None
            if stored and tuple(stored["key"]) == campaign_jobs.current_key(sessions):
                page_cache.keep_across(ids, tuple(stored["key"]), what, data)
                built = None  # as fresh as a count made now
    else:
        # Recomputed after any write to these sessions or to a campaign table.
        data = page_cache.cached_across(db, ids, what, lambda: pooled.heard_data(db, campaign_id, sessions))
    tables, listen_next, references = data or ([], {"behind": [], "hidden": [], "quiet_partners": []}, {})
    return render_template("campaigns/heard.html", c=found, name=name_of(found), standing=standing, tables=tables,
                           totals=pooled.totals(sessions), sessions=sessions, next=listen_next,
                           references=references, counted=data is not None, built=built, form=ActionForm(),
                           running=campaign_jobs.running_for(found, standing, sessions) if data is None or built else None,
                           language=current_language(), wording=campaigns.wording, prefer_not=pooled.PREFER_NOT,
                           not_given=pooled.NOT_GIVEN)


@bp.route("/<int:campaign_id>/themes", methods=["GET", "POST"])
@requires(*READERS)
def themes(campaign_id: int):
    """Pooled themes of one shared open question (one round or all), drafted by the engine; planners rename them."""
    found, standing, sessions = load_campaign(campaign_id)
    require_backbone(standing)
    db = get_db()
    bank = [q for q in campaigns.bank_of(db, campaign_id) if q["kind"] == "open"]
    rounds = campaigns.rounds_of(db, campaign_id)
    source = request.form if request.method == "POST" else request.args
    question = next((q for q in bank if str(q["id"]) == source.get("question", "")), bank[0] if bank else None)
    round_id = next((r["id"] for r in rounds if str(r["id"]) == source.get("round", "")), None)
    if request.method == "POST":
        if question is None or not valid_form():
            return back("campaigns.themes", found, _("This page was open for a long time. Please try again."), "error")
        if request.form.get("what") == "rename":
            label = _text("label")
            if not label or not pooled.rename_pooled_theme(db, campaign_id, _int("theme_id") or 0, label):
                return back("campaigns.themes", found, _("Give the theme a name."), "error",
                            question=question["id"], round=round_id or "")
            audit("campaign_theme_renamed", found, label)
        else:
            scope = [s for s in sessions if round_id is None or s["round_id"] == round_id]
            refused = None
            if campaign_jobs.is_big(scope):
                try:
                    job_id = campaign_jobs.start(found, standing, scope, "campaign_themes",
                                                 {"question_id": question["id"], "round_id": round_id})
                    return redirect(url_for("campaigns.job", campaign_id=campaign_id, job_id=job_id)), 303
                except jobs.CannotStart as error:
                    refused = error
            elif jobs.active_campaign_job(db, campaign_id) is not None:
                refused = jobs.JobBusy(None, campaign=True)
            if refused is not None:
                return back("campaigns.themes", found, refused.message(), "error", question=question["id"], round=round_id or "")
            made = pooled.run_pooled_themes(db, campaign_id, question, [s["id"] for s in scope], round_id=round_id)
            audit("campaign_themes_run", found, f"question={question['id']} round={round_id or 'all'} themes={made}")
        return back("campaigns.themes", found, _("Saved."), question=question["id"], round=round_id or "")
    shown = pooled.pooled_themes(db, campaign_id, question["id"], round_id) if question else {"themes": [], "total": None}
    return render_template("campaigns/themes.html", c=found, name=name_of(found), bank=bank, rounds=rounds,
                           question=question, round_id=round_id, shown=shown, form=ActionForm(),
                           running=campaign_jobs.running_for(found, standing, sessions),
                           language=current_language(), wording=campaigns.wording)


def in_language(code: str, text: str) -> Markup:
    """Return text in a span that lets its own direction show, marked with its language when the page is in another."""
    if not text:
        return Markup("")
    if code == current_language():
        return Markup('<span dir="auto">{}</span>').format(text)
    return Markup('<span dir="auto" lang="{}">{}</span>').format(code, text)


def worded(texts: dict[str, str], language: str, fallback: str) -> Markup:
    """Return a bank or priority text in a language (else the fallback, else any), marked with the language it is in."""
    return in_language(*campaigns.wording_in(texts, language, fallback))


@bp.route("/<int:campaign_id>/rounds")
@requires(*READERS)
def rounds(campaign_id: int):
    """Compare a round with the one before: priority groups' share of the people heard, and themes by planner name."""
    found, standing, sessions = load_campaign(campaign_id)
    require_backbone(standing)
    db = get_db()
    all_rounds = campaigns.rounds_of(db, campaign_id)
    chosen = next((r for r in all_rounds if str(r["id"]) == request.args.get("round", "")), all_rounds[-1])
    earlier = [r for r in all_rounds if r["position"] < chosen["position"]]
    before = earlier[-1] if earlier else None
    pair = [r for r in (before, chosen) if r is not None]
    by_round = {r["id"]: [s for s in sessions if s["round_id"] == r["id"]] for r in pair}
    bank = campaigns.bank_of(db, campaign_id)
    compared = []
    if before is not None:
        for question in (q for q in bank if q["kind"] == "open"):
            a = pooled.pooled_themes(db, campaign_id, question["id"], before["id"])["themes"]
            b = pooled.pooled_themes(db, campaign_id, question["id"], chosen["id"])["themes"]
            if a or b:
                compared.append((question, pooled.compare_themes(a, b)))
    return render_template("campaigns/rounds.html", c=found, name=name_of(found), rounds=all_rounds, chosen=chosen,
                           before=before, people={r["id"]: sum(s["people"] for s in by_round[r["id"]]) for r in pair},
                           priority=pooled.priority_participation(
                               db, bank, by_round, {rid: [s for s in sessions if s["round_id"] == rid] for rid in {s["round_id"] for s in sessions}}),
                           compared=compared,
                           language=current_language(), wording=campaigns.wording)


@bp.route("/<int:campaign_id>/commitments", methods=["GET", "POST"])
@requires(*READERS)
def commitments(campaign_id: int):
    """The commitments tracker: we heard, we will, we did, with owner, status, dates and linked themes."""
    found, standing, _sessions = load_campaign(campaign_id)
    db = get_db()
    error = None
    if request.method == "POST":
        require_backbone(standing)
        error = _save_commitment(found)
        if error is None:
            return back("campaigns.commitments", found, _("Saved."))
    backbone = standing in ("admin", "backbone")
    # A partner reads what the public page and their report show: published commitments only (an internal one may
    # answer what another partner's residents wrote), and no pooled theme names (they quote every partner's residents).
    items = pooled.commitments_of(db, campaign_id, published_only=not backbone)
    if not backbone:
        items = [{**item, "themes": []} for item in items]
    return render_template("campaigns/commitments.html", c=found, name=name_of(found), standing=standing,
                           items=items, themes=pooled.all_campaign_themes(db, campaign_id) if backbone else [],
                           priorities=list(pooled.campaign_priorities(db, campaign_id).values()),
                           language=current_language(), wording=campaigns.wording, worded=worded,
                           form=ActionForm(), error=error, statuses=campaigns.COMMITMENT_STATUSES,
                           status_labels=status_labels(), language_name=language_name,
                           can_edit=backbone), 400 if error else 200


def _save_commitment(found: dict) -> str | None:
    """Create or change a commitment from the posted form; return an error to show, or None."""
    import datetime

    if not valid_form():
        return _("This page was open for a long time. Please try again.")
    texts = {field: {code: _text(f"{field}_{code}", MAX_TEXT) for code in found["languages"]}
             for field in campaigns.COMMITMENT_FIELDS}
    status = request.form.get("status", "")
    dates = {}
    for field in ("due_on", "done_on"):
        raw = _text(field, 10)
        try:
            dates[field] = datetime.date.fromisoformat(raw).isoformat() if raw else None
        except ValueError:
            return _("Write dates as YYYY-MM-DD.")
    if status not in campaigns.COMMITMENT_STATUSES or not texts["will"][found["default_language"]]:
        return _("Say what the coalition will do, in the campaign's main language, and choose a status.")
    commitment_id = _int("commitment_id")
    if commitment_id is not None and pooled.commitment(get_db(), found["id"], commitment_id) is None:
        raise NotFound()
    theme_ids = [int(x) for x in request.form.getlist("theme_ids") if x.isdigit()]
    saved = pooled.save_commitment(get_db(), found["id"], commitment_id, texts=texts, owner=_text("owner"), status=status,
                                   published=request.form.get("published") == "1", theme_ids=theme_ids,
                                   priority_keys=request.form.getlist("priority_keys"), user_id=g.user["id"], **dates)
    audit("commitment_saved", found, f"commitment={saved} status={status}")
    return None


def status_labels() -> dict[str, str]:
    """Name each commitment status in the page's language."""
    # TRANSLATORS: the status of something a coalition committed to do.
    return {"planned": _("Planned"), "in_progress": _("In progress"), "done": _("Done"), "dropped": _("Not going ahead")}


@bp.route("/<int:campaign_id>/export", methods=["GET", "POST"])
@requires(*READERS)
def export(campaign_id: int):
    """Download the campaign's report (HTML, Word, Markdown: for sharing) or its tables (CSV, Excel, JSON:
    internal), in any of its languages, counted over the sessions this member may see; every export is logged."""
    import io

    from flask import send_file

    from analysis import reports

    found, standing, sessions = load_campaign(campaign_id)
    # TRANSLATORS: the formats a campaign's report can be downloaded in.
    formats = {"html": _("Web page (prints to PDF)"), "docx": _("Word document"), "md": _("Markdown")}
    if standing in ("admin", "backbone"):
        formats["codebook"] = _("Codebook (CSV)")
    fmt, language = request.form.get("format", ""), request.form.get("language", "")
    if request.method == "GET" or not valid_form() or fmt not in formats or language not in found["languages"]:
        return render_template("campaigns/export.html", c=found, name=name_of(found), standing=standing, form=ActionForm(),
                               formats=formats, language_name=language_name,
                               running=campaign_jobs.running_for(found, standing, sessions)), 200 if request.method == "GET" else 400
    if campaign_jobs.is_big(sessions):
        try:
            job_id = campaign_jobs.start(found, standing, sessions, "campaign_export",
                                         {"format": fmt, "language": language, "with_themes": standing in ("admin", "backbone")})
        except jobs.CannotStart as refused:
            return back("campaigns.export", found, refused.message(), "error")
        return redirect(url_for("campaigns.job", campaign_id=campaign_id, job_id=job_id)), 303
    report = pooled.campaign_report(get_db(), found, sessions, language, with_themes=standing in ("admin", "backbone"))
    buffer = io.BytesIO()
    reports.write(report, fmt, buffer, pooled.synthesis.translations_for(language))
    buffer.seek(0)
    name = reports.filename(found["slug"], fmt, language)
    audit("campaign_export", found, f"format={fmt} language={language} file={name}")
    return send_file(buffer, mimetype=reports.MIMETYPES[fmt], as_attachment=True, download_name=name)


# --- a campaign's background jobs: the shared job page (facilitation/job.html) -------------------------


def load_job(campaign_id: int, job_id: int) -> tuple[dict, str, list[dict], dict]:
    """Return the campaign, the member's standing and sessions, and a job of it they may follow; else 404."""
    found, standing, sessions = load_campaign(campaign_id)
    current = jobs.job_by_id(get_db(), job_id)
    if not campaign_jobs.may_see(current, campaign_id, standing, sessions):
        raise NotFound()
    return found, standing, sessions, current


@bp.route("/<int:campaign_id>/jobs/<int:job_id>")
@requires(*READERS)
def job(campaign_id: int, job_id: int):
    """Show a campaign job's progress, estimated time left and outcome."""
    found, _standing, _sessions, current = load_job(campaign_id, job_id)
    address = {"campaign_id": campaign_id, "job_id": job_id}
    links = {"check": url_for("campaigns.job", **address), "cancel": url_for("campaigns.job_cancel", **address),
             "restart": url_for("campaigns.job_restart", **address), "download": url_for("campaigns.job_download", **address)}
    return render_template(
        "facilitation/job.html", title=name_of(found), job=current, form=ActionForm(), timezone="UTC",
        back=(url_for("campaigns.dashboard", campaign_id=campaign_id), name_of(found)), links=links,
        done=campaign_jobs.done_note(found, current), resume_note=campaign_jobs.resume_note(current),
        follow=request.args.get("follow") == "1" and current["state"] in jobs.UNFINISHED, refresh=jobs.REFRESH_SECONDS,
        may_change=True, **jobs.page_facts(get_db(), current))


@bp.route("/<int:campaign_id>/jobs/<int:job_id>/cancel", methods=["POST"])
@requires(*READERS)
def job_cancel(campaign_id: int, job_id: int):
    """Cancel a campaign's queued or running job."""
    found, _standing, _sessions, current = load_job(campaign_id, job_id)
    if not valid_form():
        return back("campaigns.job", found, _("This page was open for a long time. Please try again."), "error", job_id=job_id)
    if jobs.cancel(get_db(), job_id, who=g.user["id"]):
        return back("campaigns.job", found, _("Cancelled. A run that had begun writing its results finishes them first, "
                                              "so nothing is left half done."), "ok", job_id=job_id)
    return back("campaigns.job", found, _("This task had already finished."), "error", job_id=job_id)


@bp.route("/<int:campaign_id>/jobs/<int:job_id>/restart", methods=["POST"])
@requires(*READERS)
def job_restart(campaign_id: int, job_id: int):
    """Start a campaign job's work again (after an interruption, an error or a cancel) over the same sessions."""
    found, _standing, sessions, current = load_job(campaign_id, job_id)
    if not valid_form():
        return back("campaigns.job", found, _("This page was open for a long time. Please try again."), "error", job_id=job_id)
    if current["state"] not in jobs.RESTARTABLE:
        return back("campaigns.job", found, _("Only a task that did not finish can be started again."), "error", job_id=job_id)
    # The same work again: the sessions it counted that are still the campaign's and still seen (a round's run
    # keeps to its round), never sessions of another standing's scope.
    counted = set(jobs.job_session_ids(get_db(), job_id))
    scope = [s["id"] for s in sessions if s["id"] in counted]
    try:
        new_id = jobs.restart(get_db(), job_id, who=g.user["id"], session_ids=scope)
    except jobs.CannotStart as refused:
        return back("campaigns.job", found, refused.message(), "error",
                    job_id=refused.job["id"] if getattr(refused, "job", None) else job_id)
    return redirect(url_for("campaigns.job", campaign_id=campaign_id, job_id=new_id)), 303


@bp.route("/<int:campaign_id>/jobs/<int:job_id>/download", methods=["POST"])
@requires(*READERS)
def job_download(campaign_id: int, job_id: int):
    """Download the file a finished campaign export job wrote (its starter only), unless someone withdrew since."""
    import os

    from flask import send_file

    from analysis import reports

    found, _standing, _sessions, current = load_job(campaign_id, job_id)
    if not valid_form():
        return back("campaigns.job", found, _("This page was open for a long time. Please try again."), "error", job_id=job_id)
    path = jobs.export_path(current_app.config, job_id)
    if current["kind"] != "campaign_export" or current["state"] != "done" or not os.path.exists(path):
        return back("campaigns.job", found, _("This file is no longer kept. Please make the export again."), "error",
                    job_id=job_id)
    if current["who"] != g.user["id"]:
        raise Forbidden()
    if jobs.erasures_across(get_db(), jobs.job_session_ids(get_db(), job_id)) != current["result"].get("erasures"):
        jobs.forget_export(current_app.config, job_id)
        return back("campaigns.job", found, _("Someone withdrew after this export was made, so it was deleted. "
                                              "Please make the export again."), "error", job_id=job_id)
    audit("campaign_export_download", found, f"job={job_id} file={current['result']['name']}")
    response = send_file(open(path, "rb"), mimetype=reports.MIMETYPES[current["result"]["format"]], as_attachment=True,
                         download_name=current["result"]["name"], conditional=False, etag=False, last_modified=None)
    response.headers["Cache-Control"] = "no-store"
    return response


@public_bp.route("/c/<slug>")
def page(slug: str):
    """The public campaign page: what the coalition heard, will do and did, in every offered language (published only)."""
    db = get_db()
    found = campaigns.campaign_by_slug(db, slug)
    if found is None or not found["published"]:
        raise NotFound()
    g.session_languages = found["languages"]
    language = current_language() if current_language() in found["languages"] else found["default_language"]
    items = pooled.commitments_of(db, found["id"], published_only=True)
    pick = (lambda texts, field: in_language(*campaigns.wording_in(
        {code: text for (name, code), text in texts.items() if name == field}, language, found["default_language"])))
    texts = {field: {code: body for (name, code), body in found["texts"].items() if name == field} for field in ("name", "purpose")}
    return render_template("campaigns/public.html", c=found, language=language, worded=worded,
                           name=campaigns.campaign_text(found, "name", language),
                           # Marked with the language it is in when that is not the page's (a screen reader reads it right).
                           shown_name=worded(texts["name"], language, found["default_language"]),
                           purpose=worded(texts["purpose"], language, found["default_language"]), items=items, pick=pick,
                           status_labels=status_labels(), sessions=pooled.published_sessions(db, found["id"]))
