"""The session builder: the dashboard, creating a session, its overview, settings, texts in
every language, retention, who else may see it, opening and closing it, its questions, and the
QR code and flyer people join with.
"""
from __future__ import annotations

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden, NotFound

from listening import access, accounts, queries, retention
from listening.accounts import requires
from listening.consent import default_consent
from listening.db import get_db
from listening.forms import ActionForm
from listening.i18n import app_languages, language_name

from . import live_queries
from .blueprint import EDITORS, READERS, bp, join_url, link_is_local, load_session, local_link_warning, opening_problem, titled
from .forms import (
    DEMOGRAPHIC_LABELS,
    PROMPT_KIND_LABELS,
    AccessForm,
    RetentionForm,
    option_lines,
    prompt_form,
    session_form,
    texts_form,
    timezone_choices,
)
from .flyer import MAX_PLACE, flyer_blocks, parse_when
from .standard_questions import fill_standard_prompt, standard_prompt_data
from .starters import STARTERS, add_starter_prompts, session_texts_from
from .qr import qr_png, qr_svg

# --- sessions ---------------------------------------------------------------------------------


@bp.route("/")
@requires(*READERS)
def dashboard():
    """List the sessions this staff member may see, with status, code and number of participants."""
    return render_template("facilitation/dashboard.html", sessions=access.sessions_for(get_db(), g.user))


@bp.route("/sessions/new", methods=["GET", "POST"])
@requires(*EDITORS)
def new_session():
    """Create a draft session with the default consent statement in each of its languages."""
    languages = app_languages()
    form = session_form(
        languages, request.form if request.method == "POST" else None, creating=True,
        data={"default_language": current_app.config["DEFAULT_LANGUAGE"], "mode": "",
              "timezone": current_app.config["TIMEZONE"], "minutes": 15, "wall_moderation": True},
    )
    if request.method == "POST" and form.validate():
        chosen = form.chosen_languages()
        db = get_db()
        contact = (form.contact.data or "").strip()
        starter = STARTERS.get(form.starter.data or "")
        built = starter.build(chosen) if starter else None
        found = queries.create_session(
            db, languages=chosen, mode=form.mode.data or starter.mode, timezone_name=form.timezone.data,
            created_by=g.user["id"], minutes=form.minutes.data, contact=contact,
            wall_moderation=form.wall_moderation.data,
            texts={
                **session_texts_from(built, chosen, title=form.title.data, purpose=form.purpose.data),
                "consent": {code: default_consent(code, minutes=form.minutes.data, contact=contact) for code in chosen},
            },
        )
        if built is not None:
            add_starter_prompts(db, found["id"], built)
        queries.record_audit(db, user_id=g.user["id"], action="session_created", target=found["code"])
        flash(_("Session created. Add your questions, then fill in every language."), "ok")
        return redirect(url_for("facilitation.session_overview", session_id=found["id"]))
    return render_template(
        "facilitation/session_form.html", form=form, creating=True, timezones=timezone_choices(),
    ), (400 if request.method == "POST" else 200)


@bp.route("/sessions/<int:session_id>")
@requires(*READERS)
def session_overview(session_id: int):
    """Show a session: status, join code, what is missing before it can open, and its prompts."""
    found = load_session(session_id)
    db = get_db()
    texts = queries.texts_for_session(db, session_id)
    return render_template(
        "facilitation/session.html", s=found, title=titled(found, texts), texts=texts,
        prompts=queries.prompts_for_session(db, session_id),
        missing=describe_missing(found, queries.missing_texts(db, session_id)),
        counts=queries.session_counts(db, session_id), join_url=join_url(found),
        local_link=local_link_warning() if link_is_local(join_url(found)) else "",
        kind_labels=PROMPT_KIND_LABELS, form=ActionForm(), **retention_context(found),
        owner=accounts.user_by_id(db, found["created_by"]) if found["created_by"] else None,
        shared_with=len(access.people_with_access(db, session_id)),
    )


def retention_context(found: dict, form: RetentionForm | None = None) -> dict:
    """Return what the overview shows about keeping and purging a session's data."""
    default_days = current_app.config["RETENTION_DAYS"]
    return {
        "retention_form": form or RetentionForm(data={"retention_days": found.get("retention_days"),
                                                      "legal_hold": bool(found.get("legal_hold"))}),
        "retention_days": retention.retention_days(found, default_days),
        "purge_due": retention.purge_due_at(found, default_days),
    }


@bp.route("/sessions/<int:session_id>/retention", methods=["POST"])
@requires(*EDITORS)
def session_retention(session_id: int):
    """Change how long a session keeps raw answer text after closing, or put it on legal hold."""
    found = load_session(session_id)
    db = get_db()
    form = RetentionForm(request.form)
    if not form.validate():
        flash(form.retention_days.errors[0] if form.retention_days.errors
              else _("That could not be done. Please try again."), "error")
        return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303
    retention.set_retention(db, session_id, days=form.retention_days.data, legal_hold=form.legal_hold.data)
    queries.record_audit(db, user_id=g.user["id"], action="retention_changed", target=found["code"],
                         detail=f"days={form.retention_days.data if form.retention_days.data is not None else 'default'} "
                                f"legal_hold={int(form.legal_hold.data)}")
    flash(_("Data keeping settings saved."), "ok")
    return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303


@bp.route("/sessions/<int:session_id>/access", methods=["GET", "POST"])
@requires(*READERS)
def session_access(session_id: int):
    """Show who may see a session; its owner or an admin gives access to staff or takes it away (logged)."""
    found = load_session(session_id)
    db = get_db()
    allowed = access.can_share(found, g.user)
    form = AccessForm(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not allowed:
            raise Forbidden()
        person = accounts.user_by_id(db, form.user_id.data) if form.validate() else None
        action = request.form.get("action", "")
        if form.csrf_failed:
            flash(_("This page was open for a long time. Please try again."), "error")
        elif person is None or action not in ("give", "take"):
            flash(_("Please choose someone from the list."), "error")
        elif action == "give" and access.give_access(db, session_id, person["id"], given_by=g.user["id"]):
            queries.record_audit(db, user_id=g.user["id"], action="access_given", target=found["code"],
                                 detail=f"user={person['email']} role={person['role']}")
            flash(_("%(email)s can now see this session.", email=person["email"]), "ok")
        elif action == "take" and access.take_access(db, session_id, person["id"]):
            queries.record_audit(db, user_id=g.user["id"], action="access_taken", target=found["code"],
                                 detail=f"user={person['email']} role={person['role']}")
            flash(_("%(email)s can no longer see this session.", email=person["email"]), "ok")
        else:
            flash(_("Please choose someone from the list."), "error")
        return redirect(url_for("facilitation.session_access", session_id=session_id)), 303
    owner = accounts.user_by_id(db, found["created_by"]) if found["created_by"] else None
    return render_template(
        "facilitation/access.html", s=found, title=titled(found), owner=owner, allowed=allowed,
        people=access.people_with_access(db, session_id),
        candidates=access.could_be_given(db, found) if allowed else [], form=ActionForm(),
        role_names={"admin": _("Admin"), "facilitator": _("Facilitator"), "planner": _("Planner")},
    )


def describe_missing(found: dict, missing: list) -> list[dict]:
    """Turn missing text slots into plain descriptions a facilitator can act on."""
    where = {
        ("session", "title"): _("Title"),
        ("session", "purpose"): _("What it is for"),
        # TRANSLATORS: a row of the translation grid; it may stay empty in a language.
        ("session", "contact"): _("Whom residents can contact (optional: empty uses the contact in the settings)"),
        ("session", "consent"): _("Consent statement"),
    }
    described = []
    for slot, language in missing:
        if slot.owner == "session":
            place = where[(slot.owner, slot.field)]
        elif slot.owner == "prompt":
            label = {"text": _("wording"), "min_label": _("label for the lowest number"),
                     "max_label": _("label for the highest number")}[slot.field]
            place = _("Question %(number)s: %(what)s", number=slot.prompt_position, what=label)
        else:
            place = _("Question %(number)s: choice %(choice)s", number=slot.prompt_position, choice=slot.option_position)
        described.append({"language": language, "language_name": language_name(language), "place": place,
                          "anchor": f"{slot.key}--{language}"})
    return described


def keep_open_session_complete(db, found: dict) -> None:
    """After an edit, send an open session back to draft if a text is now missing, else record its consent."""
    if found["status"] != "open":
        return
    if queries.missing_texts(db, found["id"]):
        queries.set_status(db, found["id"], "draft")
        flash(_("This session went back to draft because some text is now missing."), "error")
    else:
        queries.snapshot_consent(db, found["id"])


@bp.route("/sessions/<int:session_id>/settings", methods=["GET", "POST"])
@requires(*EDITORS)
def session_settings(session_id: int):
    """Change a session's languages, mode, time zone, length and contact."""
    found = load_session(session_id)
    db = get_db()
    form = session_form(
        app_languages(), request.form if request.method == "POST" else None, creating=False,
        data={"default_language": found["default_language"], "languages": found["languages"][1:],
              "mode": found["mode"], "timezone": found["timezone"], "minutes": found["minutes"],
              "contact": found["contact"], "wall_moderation": bool(found["wall_moderation"])},
    )
    if request.method == "POST" and form.validate():
        chosen = form.chosen_languages()
        texts = queries.texts_for_session(db, session_id)
        consent = texts.get(("session", session_id, "consent"), {})
        contact = (form.contact.data or "").strip()
        changed = {**found, "contact": contact}
        for code in chosen:
            old_default = default_consent(code, minutes=found["minutes"], contact=queries.contact_for(texts, found, code))
            if code not in consent or consent[code] == old_default:
                # Keep the statement in step with the settings unless someone has edited it.
                queries.set_text(db, session_id, "session", session_id, "consent", code,
                                 default_consent(code, minutes=form.minutes.data,
                                                 contact=queries.contact_for(texts, changed, code)))
        queries.update_session(db, session_id, languages=chosen, mode=form.mode.data, timezone=form.timezone.data,
                               minutes=form.minutes.data, contact=contact)
        if live_queries.set_wall_moderation(db, session_id, form.wall_moderation.data, user_id=g.user["id"]):
            queries.record_audit(db, user_id=g.user["id"], target=found["code"],
                                 action="wall_moderation_on" if form.wall_moderation.data else "wall_moderation_off")
        keep_open_session_complete(db, found)
        queries.record_audit(db, user_id=g.user["id"], action="session_settings", target=found["code"])
        flash(_("Settings saved."), "ok")
        return redirect(url_for("facilitation.session_overview", session_id=session_id))
    return render_template(
        "facilitation/session_form.html", form=form, creating=False, s=found, title=titled(found),
        timezones=timezone_choices(),
    ), (400 if request.method == "POST" else 200)


def follow_contact_in_consent(db, found: dict, before: dict) -> None:
    """Where a language's contact changed and its consent statement is still the default one, reword the
    statement with the new contact (an edited statement is left as it is)."""
    after = queries.texts_for_session(db, found["id"])
    consent = after.get(("session", found["id"], "consent"), {})
    for code in found["languages"]:
        old, new = queries.contact_for(before, found, code), queries.contact_for(after, found, code)
        if old != new and consent.get(code) == default_consent(code, minutes=found["minutes"], contact=old):
            queries.set_text(db, found["id"], "session", found["id"], "consent", code,
                             default_consent(code, minutes=found["minutes"], contact=new))


@bp.route("/sessions/<int:session_id>/texts", methods=["GET", "POST"])
@requires(*EDITORS)
def session_texts(session_id: int):
    """Edit every piece of session text side by side in each language; missing ones stand out."""
    found = load_session(session_id)
    db = get_db()
    slots = queries.text_slots(db, session_id)
    texts = queries.texts_for_session(db, session_id)
    data = {
        f"{slot.key}--{code}": texts.get((slot.owner, slot.owner_id, slot.field), {}).get(code, "")
        for slot in slots for code in found["languages"]
    }
    form = texts_form([slot.key for slot in slots], found["languages"],
                      request.form if request.method == "POST" else None, data=data)
    if request.method == "POST" and form.validate():
        for slot in slots:
            for code in found["languages"]:
                queries.set_text(db, session_id, slot.owner, slot.owner_id, slot.field, code,
                                 form[f"{slot.key}--{code}"].data or "")
        follow_contact_in_consent(db, found, texts)
        keep_open_session_complete(db, found)
        queries.record_audit(db, user_id=g.user["id"], action="session_texts", target=found["code"])
        flash(_("Texts saved."), "ok")
        return redirect(url_for("facilitation.session_texts", session_id=session_id))
    prompts = {p["id"]: p for p in queries.prompts_for_session(db, session_id)}
    return render_template(
        "facilitation/texts.html", s=found, title=titled(found, texts), slots=slots, form=form, prompts=prompts,
        describe=lambda slot: describe_missing(found, [(slot, found["default_language"])])[0]["place"],
    ), (400 if request.method == "POST" else 200)


@bp.route("/sessions/<int:session_id>/status", methods=["POST"])
@requires(*EDITORS)
def session_status(session_id: int):
    """Open, pause (back to draft) or close a session; opening needs every text in every language."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    wanted = request.form.get("status", "")
    if not form.validate() or wanted not in ("draft", "open", "closed"):
        flash(_("That could not be done. Please try again."), "error")
        return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303
    problem = opening_problem(db, session_id) if wanted == "open" else None
    if problem is not None:
        flash(_("Add at least one question before opening the session.") if problem == "questions" else
              _("The session cannot open yet: some text is missing. See the list below."), "error")
        return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303
    queries.set_status(db, session_id, wanted)
    queries.record_audit(db, user_id=g.user["id"], action=f"session_{wanted}", target=found["code"])
    flash({"open": _("The session is open. Residents can join now."),
           "draft": _("The session is paused and back in draft."),
           "closed": _("The session is closed.")}[wanted], "ok")
    return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303


# --- prompts ----------------------------------------------------------------------------------


def prompt_data(found: dict, prompt: dict, texts: dict) -> dict:
    """Return a prompt's current settings and wording as form data."""
    data = {"kind": prompt["kind"], "required": bool(prompt["required"]), "demographic": prompt["demographic"] or "",
            "self_describe": bool(prompt["self_describe"]),
            "scale_min": prompt["scale_min"] or 1, "scale_max": prompt["scale_max"] or 5, "points": prompt.get("points")}
    for code in found["languages"]:
        data[f"text_{code}"] = texts.get(("prompt", prompt["id"], "text"), {}).get(code, "")
        data[f"min_label_{code}"] = texts.get(("prompt", prompt["id"], "min_label"), {}).get(code, "")
        data[f"max_label_{code}"] = texts.get(("prompt", prompt["id"], "max_label"), {}).get(code, "")
        data[f"options_{code}"] = "\n".join(
            texts.get(("option", o["id"], "label"), {}).get(code, "") for o in prompt["options"] if not o["prefer_not"]
        )
    return data


def structure_locked(found: dict) -> bool:
    """Tell whether questions can no longer be added, removed or reshaped (the session is not a draft)."""
    return found["status"] != "draft"


@bp.route("/sessions/<int:session_id>/prompts/new", methods=["GET", "POST"])
@requires(*EDITORS)
def new_prompt(session_id: int):
    """Add a question to a draft session, worded in as many of its languages as you have."""
    found = load_session(session_id)
    if structure_locked(found):
        flash(_("Questions can only be added while the session is a draft. Pause it first."), "error")
        return redirect(url_for("facilitation.session_overview", session_id=session_id))
    form = prompt_form(found["languages"], request.form if request.method == "POST" else None,
                       data={"kind": request.args.get("kind", "open"),
                             **standard_prompt_data(request.args.get("demographic", ""), found["languages"])})
    if request.method == "POST" and form.kind.data == "about":
        # A standard "about you" topic left empty is filled in every language, so "Age range" just works.
        fill_standard_prompt(form, found["languages"])
    if request.method == "POST" and form.validate():
        if not (form[f"text_{found['default_language']}"].data or "").strip():
            form[f"text_{found['default_language']}"].errors.append(_("Please write the question in the main language."))
        elif form.kind.data in queries.CHOICE_KINDS and not option_lines(form[f"options_{found['default_language']}"].data):
            form[f"options_{found['default_language']}"].errors.append(_("Please list the choices, one per line."))
        else:
            db = get_db()
            queries.add_prompt(
                db, session_id, kind=form.kind.data, required=form.required.data,
                demographic=form.demographic.data or None,
                scale_min=form.scale_min.data, scale_max=form.scale_max.data, points=form.points.data,
                texts={code: form[f"text_{code}"].data or "" for code in found["languages"]},
                options={code: option_lines(form[f"options_{code}"].data) for code in found["languages"]},
                scale_labels={code: (form[f"min_label_{code}"].data or "", form[f"max_label_{code}"].data or "")
                              for code in found["languages"]},
                self_describe=form.self_describe.data,
            )
            queries.record_audit(db, user_id=g.user["id"], action="prompt_added", target=found["code"])
            flash(_("Question added."), "ok")
            return redirect(url_for("facilitation.session_overview", session_id=session_id))
    return render_template(
        "facilitation/prompt_form.html", s=found, title=titled(found), form=form, prompt=None,
        kind_labels=PROMPT_KIND_LABELS, demographic_labels=DEMOGRAPHIC_LABELS,
    ), (400 if request.method == "POST" else 200)


@bp.route("/sessions/<int:session_id>/prompts/<int:prompt_id>", methods=["GET", "POST"])
@requires(*EDITORS)
def edit_prompt(session_id: int, prompt_id: int):
    """Change a question's wording in every language; its shape only while the session is a draft."""
    found = load_session(session_id)
    db = get_db()
    prompt = queries.prompt_in_session(db, session_id, prompt_id)
    if prompt is None:
        raise NotFound()
    texts = queries.texts_for_session(db, session_id)
    locked = structure_locked(found) or queries.prompt_answer_count(db, prompt_id) > 0
    form = prompt_form(found["languages"], request.form if request.method == "POST" else None,
                       data=prompt_data(found, prompt, texts), kind_locked=locked)
    if request.method == "POST" and form.validate():
        if locked:
            form.kind.data = prompt["kind"]  # answers exist: the kind of question cannot change under them
        options = {code: option_lines(form[f"options_{code}"].data) for code in found["languages"]}
        current_count = len([o for o in prompt["options"] if not o["prefer_not"]])
        if locked and prompt["kind"] in queries.CHOICE_KINDS and any(
            len(lines) not in (0, current_count) for lines in options.values()
        ):
            form[f"options_{found['default_language']}"].errors.append(
                _("While the session is not a draft, you can reword the choices but not add or remove them."))
        elif not (form[f"text_{found['default_language']}"].data or "").strip():
            form[f"text_{found['default_language']}"].errors.append(_("Please write the question in the main language."))
        else:
            try:
                changes = {"required": int(form.required.data),
                           "self_describe": int(bool(form.self_describe.data) and form.kind.data in queries.SELF_DESCRIBE_KINDS)}
                if not locked:
                    changes.update(kind=form.kind.data, demographic=(form.demographic.data or None) if form.kind.data == "about" else None,
                                   scale_min=form.scale_min.data if form.kind.data == "scale" else None,
                                   scale_max=form.scale_max.data if form.kind.data == "scale" else None,
                                   points=queries.check_points(form.kind.data, form.points.data))
                queries.update_prompt(db, prompt_id, **changes)
                for code in found["languages"]:
                    queries.set_text(db, session_id, "prompt", prompt_id, "text", code, form[f"text_{code}"].data or "")
                    queries.set_text(db, session_id, "prompt", prompt_id, "min_label", code, form[f"min_label_{code}"].data or "")
                    queries.set_text(db, session_id, "prompt", prompt_id, "max_label", code, form[f"max_label_{code}"].data or "")
                if form.kind.data in queries.CHOICE_KINDS:
                    queries.set_options(db, session_id, prompt_id, options)
                queries.record_audit(db, user_id=g.user["id"], action="prompt_edited", target=found["code"])
                keep_open_session_complete(db, found)
                flash(_("Question saved."), "ok")
                return redirect(url_for("facilitation.session_overview", session_id=session_id))
            except queries.OptionInUse:
                form[f"options_{found['default_language']}"].errors.append(
                    _("A choice that people have already picked cannot be removed."))
    return render_template(
        "facilitation/prompt_form.html", s=found, title=titled(found, texts), form=form, prompt=prompt,
        kind_labels=PROMPT_KIND_LABELS, demographic_labels=DEMOGRAPHIC_LABELS, delete_form=ActionForm(),
    ), (400 if request.method == "POST" else 200)


@bp.route("/sessions/<int:session_id>/prompts/<int:prompt_id>/move", methods=["POST"])
@requires(*EDITORS)
def move_prompt(session_id: int, prompt_id: int):
    """Move a question up or down in a draft session."""
    found = load_session(session_id)
    db = get_db()
    if queries.prompt_in_session(db, session_id, prompt_id) is None:
        raise NotFound()
    form = ActionForm(request.form)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if form.validate() and step and not structure_locked(found):
        queries.move_prompt(db, session_id, prompt_id, step)
    elif structure_locked(found):
        flash(_("Questions can only be reordered while the session is a draft."), "error")
    return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303


@bp.route("/sessions/<int:session_id>/prompts/<int:prompt_id>/delete", methods=["POST"])
@requires(*EDITORS)
def delete_prompt(session_id: int, prompt_id: int):
    """Delete a question that nobody has answered, from a draft session."""
    found = load_session(session_id)
    db = get_db()
    if queries.prompt_in_session(db, session_id, prompt_id) is None:
        raise NotFound()
    form = ActionForm(request.form)
    if not form.validate():
        flash(_("That could not be done. Please try again."), "error")
    elif structure_locked(found) or queries.prompt_answer_count(db, prompt_id):
        flash(_("Only unanswered questions in a draft session can be deleted."), "error")
    else:
        queries.delete_prompt(db, session_id, prompt_id)
        queries.record_audit(db, user_id=g.user["id"], action="prompt_deleted", target=found["code"])
        flash(_("Question deleted."), "ok")
    return redirect(url_for("facilitation.session_overview", session_id=session_id)), 303


# --- joining: QR codes and flyer ---------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/qr.svg")
@requires(*READERS)
def qr_code_svg(session_id: int):
    """Return the join link's QR code as SVG."""
    found = load_session(session_id)
    return Response(qr_svg(join_url(found)), mimetype="image/svg+xml")


@bp.route("/sessions/<int:session_id>/qr.png")
@requires(*READERS)
def qr_code_png(session_id: int):
    """Return the join link's QR code as a PNG to download."""
    found = load_session(session_id)
    return Response(qr_png(join_url(found)), mimetype="image/png",
                    headers={"Content-Disposition": f'attachment; filename="chorus-{found["code"]}.png"'})


@bp.route("/sessions/<int:session_id>/flyer")
@requires(*READERS)
def flyer(session_id: int):
    """A one-page printable flyer (Letter or A4): when, where, what for, QR code and join code, languages and privacy, in every language."""
    found = load_session(session_id)
    url = join_url(found)
    when_value, place = request.args.get("when", "")[:40], request.args.get("where", "").strip()[:MAX_PLACE]
    when = parse_when(when_value) if when_value else None
    problem = _("Please give a date and a time.") if when_value and when is None else ""
    blocks = flyer_blocks(found, queries.texts_for_session(get_db(), session_id), url, when=when, place=place)
    return render_template("facilitation/flyer.html", s=found, url=url, svg=qr_svg(url), blocks=blocks,
                           when_value=when_value, place=place, problem=problem,
                           local_link=local_link_warning() if link_is_local(url) else ""), 400 if problem else 200
