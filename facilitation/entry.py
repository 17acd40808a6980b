"""Staff entry of answers from paper cards, sticky notes, phone calls and interpreters.

One answer per form, keyboard only: the question, source and language stay chosen between
entries (they travel in the address), the answer box has the focus after every save, and each
answer is stored with its source, its language and who typed it. Consent for these answers is
recorded as read aloud by staff ('staff_verbal'), with the consent version current in the
chosen language.

Each entry is a new participant unless "Same person as the last entry" is ticked: then it joins
the previous card (kept per staff member and session in their cookie), so a paper card with
answers to several questions stays one person and counts once.

A new person gets a receipt code, as a resident on a phone does. The page shows it after the
save (kept encrypted in the staff member's cookie until the next new person) and prints it on a
one-page slip in the person's language, so staff can hand it over or read it out.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from listening import queries
from listening import statements as st
from listening import tables as tb
from listening.accounts import requires
from listening.db import get_db
from listening.forms import VOTE_MESSAGE, QUOTE_SCOPE, answer_form, answer_is_empty, answer_values, new_nonce, votes_form
from listening.i18n import language_name, local_time, source_labels, text_direction
from listening.sealing import seal, unseal

from . import live_queries as lq
from .blueprint import EDITORS, bp, load_session, option_labels, titled


def entry_settings(found: dict, prompts: list[dict], args) -> dict:
    """Read the sticky question, source, language and table from a request, falling back to sensible ones."""
    numbers = {str(p["number"]): p for p in prompts}
    current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
    prompt = numbers.get(args.get("prompt", "")) or current or (prompts[0] if prompts else None)
    source = args.get("source") if args.get("source") in lq.STAFF_SOURCES else "paper"
    language = args.get("language") if args.get("language") in found["languages"] else found["default_language"]
    asked = args.get("table", "")
    table = tb.table_in_session(get_db(), found["id"], int(asked)) if asked.isdigit() and len(asked) <= 12 else None
    return {"prompt": prompt, "source": source, "language": language, "table": table}


def last_card(session_id: int) -> int | None:
    """Return the participant this staff member last typed in for this session, if any."""
    return session.get("entry_last", {}).get(str(session_id))


def remember_card(session_id: int, participant_id: int) -> None:
    """Remember the participant of the last entry, for "Same person as the last entry"."""
    session["entry_last"] = {**session.get("entry_last", {}), str(session_id): participant_id}


def remember_receipt(session_id: int, participant_id: int, receipt: str) -> None:
    """Keep a new person's receipt code (encrypted) to show after the save and on their slip."""
    session["entry_receipt"] = {**session.get("entry_receipt", {}),
                                str(session_id): {"p": participant_id, "r": seal(queries.format_receipt(receipt))}}


def last_receipt(session_id: int) -> tuple[dict, str] | None:
    """Return the last card's participant and receipt code, if the last card got one and is still taking part."""
    kept = session.get("entry_receipt", {}).get(str(session_id))
    if not isinstance(kept, dict) or kept.get("p") != last_card(session_id):
        return None
    receipt = unseal(kept.get("r"))
    db = get_db()
    if not receipt or not still_taking_part(db, session_id, kept["p"]):
        return None
    return queries.participant(db, kept["p"]), receipt


def still_taking_part(db, session_id: int, participant_id: int) -> bool:
    """Tell whether the participant of the last card belongs to this session and has not withdrawn."""
    found = queries.participant(db, participant_id)
    return found is not None and found["session_id"] == session_id and not found["withdrawn_at"]


def why_not_this_person(db, session_id: int, checks: dict, previous: int | None) -> str | None:
    """Return why a card cannot be saved for the person it names (consent not read, no earlier entry, withdrawn), or None.

    The answers page and the votes page ask the same three things before anything is stored.
    """
    if not checks["consent_read"]:
        return _("Please confirm that the consent statement was read to this person and they agreed.")
    if checks["same_person"] and previous is None:
        return _("There is no earlier entry to continue. Untick \u201cSame person\u201d.")
    if previous is not None and not still_taking_part(db, session_id, previous):
        return _("The person of the last entry has withdrawn, so nothing was saved. Untick \u201cSame person\u201d "
                 "to add a new person.")
    return None


def quote_label() -> str:
    """The words of the staff entry's quote checkbox; like the residents' own, they name the room's screen (QUOTE_SCOPE)."""
    # TRANSLATORS: staff entry; "the room's screen" is the projector the group looks at during a live session.
    return _("They agreed that their words may be shown on the room's screen and quoted in reports, without their name.")


@bp.route("/sessions/<int:session_id>/entry", methods=["GET", "POST"])
@requires(*EDITORS)
def staff_entry(session_id: int):
    """Type in answers from paper, sticky notes, calls and interpreters, one after another."""
    found = load_session(session_id)
    db = get_db()
    # Every kind of question: an answer (a priority question's dots, order or points too) is typed in here,
    # an ideas question's ideas too; votes on a react or ideas question's statements on their own page.
    every = queries.prompts_for_session(db, session_id)
    texts = queries.texts_for_session(db, session_id)
    args = request.form if request.method == "POST" else request.args
    if any(p["kind"] == "react" and str(p["number"]) == args.get("prompt") for p in every):
        # A react question has no answer to type: a person's votes on its statements are typed in on their own page.
        return redirect(entry_url("facilitation.staff_entry_votes", session_id, entry_settings(found, every, args)), 303)
    prompts = [p for p in every if p["kind"] != "react"]
    settings = entry_settings(found, prompts, args)
    prompt, language = settings["prompt"], settings["language"]
    # An idea is typed like an open answer, and kept to a statement's length.
    shape = dict(prompt, kind="open") if prompt and prompt["kind"] == "ideas" else prompt
    statement = queries.current_consent(db, session_id, language)
    labels = option_labels(found, texts, prompt, language) if prompt else {}
    notice = ""
    status = 200
    checks = {"consent_read": False, "quote_ok": False, "same_person": False}
    # An interpreter's rendering of an open answer in another language, into the session's main one (optional).
    translating = bool(prompt) and prompt["kind"] == "open" and language != found["default_language"]
    translation = request.form.get("translation", "") if translating and request.method == "POST" else ""
    translation_error = ""
    if prompt is None:
        form = None
    elif request.method == "POST":
        form = answer_form(shape, labels, formdata=request.form)
        checks = {name: request.form.get(name) == "y" for name in checks}
        previous = last_card(session_id) if checks["same_person"] else None
        status = 400
        if not form.validate():
            if form.csrf_failed:
                notice = _("This page was open for a long time. Please press Save again.")
        elif statement is None:
            notice = _("There is no consent statement in this language yet. Open the session once first.")
        elif answer_is_empty(form):
            form.answer.errors.append(_("Please type or choose the answer."))
        elif len(translation) > queries.MAX_TRANSLATION:
            translation_error = notice = _("Please keep the translation to %(max)s characters or fewer.",
                                           max=queries.MAX_TRANSLATION)
        elif prompt["kind"] == "ideas" and len(form.answer.data.strip()) > st.MAX_STATEMENT_LENGTH:
            form.answer.errors.append(_("Please keep an idea to %(max)s characters or fewer.", max=st.MAX_STATEMENT_LENGTH))
        elif refused := why_not_this_person(db, session_id, checks, previous):
            notice = refused
        elif previous is not None and prompt["kind"] != "ideas" and lq.participant_answered(db, previous, prompt["id"]):
            notice = _("That person already has an answer to this question. Untick \u201cSame person\u201d to add a new person.")
        else:
            return _store_entry(db, found, prompt, form, settings, checks, previous, translation)
        if not form.nonce.data or form.nonce.errors:
            form.nonce.data = new_nonce()
    else:
        form = answer_form(shape, labels, data={"nonce": new_nonce()})
    return render_template(
        "facilitation/entry.html", s=found, title=titled(found, texts), texts=texts, prompts=every, form=form,
        settings=settings, statement=statement, sources=source_labels(), labels=labels, checks=checks,
        notice=notice, recent=with_amounts(lq.recent_entries(db, session_id, g.user["id"])),
        has_last=last_card(session_id) is not None,
        max_length=current_app.config["MAX_ANSWER_LENGTH"], entered=lq.staff_entry_count(db, session_id),
        receipt=last_receipt(session_id), quote_label=quote_label, tables=tb.tables_for_session(db, session_id),
        idea_length=st.MAX_STATEMENT_LENGTH, translating=translating, translation=translation,
        translation_error=translation_error, translation_length=queries.MAX_TRANSLATION,
    ), status


def with_amounts(recent: list[dict]) -> list[dict]:
    """Add each answer's choices as (option, how many) in first-chosen order: a dots or points answer stores one entry per dot."""
    for row in recent:
        amounts: dict[int, int] = {}
        for option_id in row["choices"]:
            amounts[option_id] = amounts.get(option_id, 0) + 1
        row["amounts"] = list(amounts.items())
    return recent


def entry_url(endpoint: str, session_id: int, settings: dict) -> str:
    """Return the address of a staff entry page with the question, source, language and table kept."""
    return url_for(endpoint, session_id=session_id, prompt=settings["prompt"]["number"] if settings["prompt"] else None,
                   source=settings["source"], language=settings["language"],
                   table=settings["table"]["id"] if settings["table"] else None)


def _store_entry(db, found: dict, prompt: dict, form, settings: dict, checks: dict, previous: int | None,
                 translation: str):
    """Store one checked idea or answer (for a new person, or the last card's), remember the card, audit it, go on to the next."""
    session_id, language, source = found["id"], settings["language"], settings["source"]
    table_id = settings["table"]["id"] if settings["table"] else None
    given = {"prompt_id": prompt["id"], "language": language, "source": source, "user_id": g.user["id"],
             "nonce": form.nonce.data, "table_id": table_id, "quote_ok": checks["quote_ok"], "quote_scope": QUOTE_SCOPE,
             "labels": {"quote": quote_label()}, "participant_id": previous}
    if prompt["kind"] == "ideas":
        participant_id, stored_id, receipt = lq.enter_idea(db, session_id, body=form.answer.data, **given)
        action, message = "staff_entry_idea", _("Idea saved. Type the next one.")
        detail = (f"statement={stored_id} participant={participant_id} prompt={prompt['number']} "
                  f"source={source} language={language} table={table_id or ''}")
    else:
        participant_id, stored_id, receipt = lq.enter_answer(
            db, session_id, **given, **answer_values(prompt, form),
            translation=translation, translation_language=found["default_language"])
        action, message = "staff_entry", _("Saved. Type the next answer.")
        detail = (f"response={stored_id} participant={participant_id} prompt={prompt['number']} "
                  f"source={source} language={language}" + (" translated=1" if translation.strip() else ""))
    if stored_id is not None:  # None: the same form sent again, already stored
        remember_card(session_id, participant_id)
        if receipt:
            remember_receipt(session_id, participant_id, receipt)
        queries.record_audit(db, user_id=g.user["id"], action=action, target=found["code"], detail=detail)
    flash(message, "ok")
    return redirect(entry_url("facilitation.staff_entry", session_id, settings), 303)


@bp.route("/sessions/<int:session_id>/entry/slip")
@requires(*EDITORS)
def entry_slip(session_id: int):
    """A one-page printable slip with the last person's receipt code and how to use it, in their language."""
    found = load_session(session_id)
    kept = last_receipt(session_id)
    if kept is None:
        return render_template("facilitation/slip.html", s=found, slip=None)
    person, receipt = kept
    language = person["language"] if person["language"] in found["languages"] else found["default_language"]
    texts = queries.texts_for_session(get_db(), session_id)
    withdraw_url = (current_app.config["BASE_URL"].rstrip("/") or request.host_url.rstrip("/")) + url_for("listening.withdraw")
    contact = queries.contact_for(texts, found, language)
    if text_direction(language) == "rtl":
        # An address or phone number inside right-to-left text keeps its own direction (as in the consent text).
        withdraw_url, contact = f"\u2068{withdraw_url}\u2069", (f"\u2068{contact}\u2069" if contact else "")
    with force_locale(language):
        # TRANSLATORS: the receipt slip is printed for a resident typed in by staff (paper card, phone
        # call, interpreter) and handed to them: plain words, as on the residents' pages.
        slip = {
            "lang": language,
            "title": queries.localized(texts, "session", session_id, "title", language, found["default_language"]),
            "heading": _("Your receipt code"),
            "keep": _("Keep this code. If you change your mind, you can use it to delete your answers."),
            "how": _("To delete your answers, go to %(url)s and type the code.", url=withdraw_url),
            "ask": _("Or ask the people who ran this session: %(contact)s", contact=contact) if contact else "",
            "date": _("Date: %(date)s", date=local_time(person["created_at"], found["timezone"])),
        }
    return render_template("facilitation/slip.html", s=found, slip=slip, receipt=receipt,
                           language=language_name(language))


@bp.route("/sessions/<int:session_id>/entry/votes", methods=["GET", "POST"])
@requires(*EDITORS)
def staff_entry_votes(session_id: int):
    """Type in one person's Agree / Disagree / Pass on a react or ideas question's statements, person after person."""
    found = load_session(session_id)
    db = get_db()
    prompts = [p for p in queries.prompts_for_session(db, session_id) if p["kind"] in queries.STATEMENT_KINDS]
    texts = queries.texts_for_session(db, session_id)
    settings = entry_settings(found, prompts, request.form if request.method == "POST" else request.args)
    prompt, language = settings["prompt"], settings["language"]
    statement = queries.current_consent(db, session_id, language)
    approved = st.statements_for_prompt(db, prompt["id"], status="approved") if prompt else []
    shown = []
    for item in approved:
        words, translated = st.shown_text(item, language)
        shown.append({"id": item["id"], "words": words, "translated": translated,
                      "language": language if translated else item["language"], "table": item.get("table_name") or ""})
    checks = {"consent_read": False, "quote_ok": False, "same_person": False}
    notice, status = "", 200
    ids = [s["id"] for s in approved]
    if prompt is None or not approved:
        form = None
    elif request.method == "POST":
        form = votes_form(ids, formdata=request.form)
        checks = {name: request.form.get(name) == "y" for name in checks}
        previous = last_card(session_id) if checks["same_person"] else None
        status = 400
        # A vote on a statement no longer on the form (declined or merged while the page was open) is not dropped silently.
        gone = {key for key, value in request.form.items() if key.startswith("vote-") and value} - {f"vote-{i}" for i in ids}
        taken_down = _("A statement was taken down while you typed, so nothing was saved. Please check the votes and save again.")
        if not form.validate():
            notice = (_("This page was open for a long time. Please press Save again.") if form.csrf_failed
                      else str(VOTE_MESSAGE))
        elif gone:
            notice, status = taken_down, 409
        elif statement is None:
            notice = _("There is no consent statement in this language yet. Open the session once first.")
        elif not form.chosen():
            notice = _("Please choose Agree, Disagree or Pass for at least one statement.")
        elif refused := why_not_this_person(db, session_id, checks, previous):
            notice = refused
        else:
            stored = _store_votes(db, found, prompt, form, settings, checks, previous)
            if stored is not None:
                return stored
            notice, status = taken_down, 409
        if not form.nonce.data or form.nonce.errors:
            form.nonce.data = new_nonce()
    else:
        form = votes_form(ids, data={"nonce": new_nonce()})
    return render_template(
        "facilitation/entry_votes.html", s=found, title=titled(found, texts), texts=texts, prompts=prompts, form=form,
        settings=settings, statement=statement, sources=source_labels(), checks=checks, notice=notice,
        statements=shown, has_last=last_card(session_id) is not None, receipt=last_receipt(session_id),
        quote_label=quote_label, tables=tb.tables_for_session(db, session_id),
        entered=st.staff_vote_count(db, session_id),
    ), status


def _store_votes(db, found: dict, prompt: dict, form, settings: dict, checks: dict, previous: int | None):
    """Store one person's checked votes (a new person, or the last card's), remember them, audit it; None if a statement went."""
    session_id, language, source = found["id"], settings["language"], settings["source"]
    table_id = settings["table"]["id"] if settings["table"] else None
    votes = {statement_id: st.VOTES[choice] for statement_id, choice in form.chosen().items()}
    try:
        participant_id, stored, receipt = lq.enter_votes(
            db, session_id, prompt_id=prompt["id"], votes=votes, language=language, source=source,
            user_id=g.user["id"], nonce=form.nonce.data, table_id=table_id, quote_ok=checks["quote_ok"],
            quote_scope=QUOTE_SCOPE, labels={"quote": quote_label()}, participant_id=previous)
    except ValueError:
        return None
    if stored is not None:  # None: the same form sent again, already stored
        remember_card(session_id, participant_id)
        if receipt:
            remember_receipt(session_id, participant_id, receipt)
        queries.record_audit(db, user_id=g.user["id"], action="staff_entry_votes", target=found["code"],
                             detail=f"participant={participant_id} prompt={prompt['number']} votes={stored} "
                                    f"source={source} language={language} table={table_id or ''}")
    flash(ngettext("%(num)s vote saved. Type in the next person's.", "%(num)s votes saved. Type in the next person's.",
                   len(votes)), "ok")
    return redirect(entry_url("facilitation.staff_entry_votes", session_id, settings), 303)
