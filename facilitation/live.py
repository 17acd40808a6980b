"""Running a live session: the facilitator console, the projector, and the state phones follow.

The console and projector are staff pages on the "facilitation" blueprint. State lives in the
database, so two consoles (a facilitator and a note-taker) always see the same thing; with
JavaScript they refresh a panel every few seconds, without it they have a refresh link.

Pausing keeps the session open (people can still join) but closes answering and tells phones
the session is paused; "Start" opens the session with no question shown, so the projector shows
the QR code while people arrive. Showing a question opens answering for it.

The phones' state (`listening.live_state`) lives on the residents' side; after a change the
console only tells it to forget the session (`forget_state`).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from analysis.redaction import redaction_of
from analysis.text import normalize
from listening import jobs, queries
from listening import statements as st
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm
from listening.i18n import Written, source_labels
from listening.live_state import forget_state

from . import live_queries as lq
from . import live_jobs, opinion_live, room_counts
from .jobs import job_address
from .live_jobs import MIN_ANSWERS_FOR_THEMES
from .blueprint import EDITORS, READERS, bp, join_url, load_session, opening_problem, option_labels, titled
from .qr import qr_svg



# --- the console ------------------------------------------------------------------------------


def session_redaction(db, session_id: int):
    """Return the session's one redaction (its wording and listed names), as reports and the results page apply it."""
    return redaction_of(queries.texts_for_session(db, session_id), queries.synthesis_settings(db, session_id)["name_list"])


def prompt_texts(found: dict, texts: dict, prompt: dict | None) -> list[dict]:
    """Return a prompt's wording in every offered language, main language first."""
    if prompt is None:
        return []
    return [{"lang": code, "text": queries.localized(texts, "prompt", prompt["id"], "text", code, found["default_language"])}
            for code in found["languages"]]


def feed_start() -> int | None:
    """Return the answer the console's feed continues after ("Older answers"), or None for the newest.

    Read from the address, or from a form the feed sent (so hiding an answer comes back to the same page).
    """
    older = request.values.get("older", "")
    return int(older) if older.isdigit() and len(older) < 16 else None


def live_context(session_id: int) -> dict:
    """Gather what the console and its refreshing panel show."""
    found = load_session(session_id)
    db = get_db()
    texts = queries.texts_for_session(db, session_id)
    prompts = queries.prompts_for_session(db, session_id)
    current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
    # Counts and windows come from SQL on the prompt's index: a big session never loads every answer.
    # The feed shows one screen of answers (one more is read to know whether older ones follow).
    older = feed_start()
    feed = lq.answer_feed(db, session_id, current["id"] if current else None, limit=lq.FEED_SIZE + 1, older_than=older)
    feed, more = feed[:lq.FEED_SIZE], len(feed) > lq.FEED_SIZE
    wall = wall_context(db, found, current, feed)
    results, results_withheld = [], False
    threshold = room_counts.threshold_for(db, session_id)
    if current and current["kind"] != "open":
        labels = option_labels(found, texts, current, found["default_language"]) if current["kind"] != "scale" else {}
        results = [dict(row, label=labels.get(row["key"], str(row["key"])))
                   for row in lq.visible_tallies(db, session_id, current)]
        if current["kind"] == "about":
            results, results_withheld = room_counts.about_results(results, threshold)
    themes = lq.latest_live_themes(db, current["id"]) if current else None
    react_summary = None
    if current and current["kind"] in queries.STATEMENT_KINDS:
        statements = st.statements_for_prompt(db, current["id"])
        react_summary = {"statements": sum(1 for x in statements if x["status"] == "approved"),
                         "waiting": sum(1 for x in statements if x["status"] == "pending"),
                         "voters": voters_of(db, current["id"])}
        if current["kind"] == "react":
            stored, _coming = opinion_live.groups_for_screen(
                db, current["id"], [x["id"] for x in statements if x["status"] == "approved"])
            react_summary["groups_at"] = clock(stored.computed_at, found["timezone"]) if stored and stored.groups else None
            react_summary["groups_votes"] = stored.votes if stored and stored.groups else 0
            react_summary["regrouping"] = (stored is None or stored.groups is None) and \
                react_summary["voters"] >= opinion_live.MIN_VOTERS_FOR_GROUPS
    return {
        "react_summary": react_summary,
        "s": found, "title": titled(found, texts), "texts": texts, "prompts": prompts, "current": current,
        "current_texts": prompt_texts(found, texts, current),
        "counts": lq.live_counts(db, session_id, current["id"] if current else None),
        "feed": feed, "feed_older": older, "feed_more": feed[-1]["id"] if more else None,
        "results": results,
        # Only "enough to draft themes?" is asked of this count (of an open question), so it stops counting there.
        "open_answers": lq.visible_count(db, session_id, current["id"], written=True, up_to=MIN_ANSWERS_FOR_THEMES)
        if current and current["kind"] == "open" else 0,
        "themes": themes, "theme_sizes": room_counts.draft_theme_sizes(themes, threshold),
        "results_withheld": results_withheld, "threshold": threshold, "mark": room_counts.MARK,
        "notes": lq.equity_notes(db, session_id),
        "moderation": lq.moderation_log(db, session_id)[:20],
        "form": ActionForm(), "min_for_themes": MIN_ANSWERS_FOR_THEMES, "job": jobs.active_job(db, session_id),
        "topics": equity_topics(), "sources": source_labels(),
        "timer_left": seconds_left(found["timer_ends_at"]),
        "undo_close": lq.undo_close_until(found),
        **wall,
    }


def wall_context(db, found: dict, current: dict | None, feed: list[dict]) -> dict:
    """Gather the wall's approval queue for the console: what waits, as the room would see it.

    Every answer the console offers for the wall is shown redacted, exactly as the projector
    would show it, so a facilitator approves the words the room will read. The queue shows the
    oldest 30 waiting (with how many wait in all); the feed's answers carry their wall state.
    """
    labels = {
        "on_wall": _("On the projector"),
        "waiting": _("Waiting for approval"),
        "kept_off": _("Kept off the projector"),
        "not_quotable": _("Never on the projector: this person did not allow their words on the room's screen"),
    }
    if current is None or current["kind"] != "open":
        return {"queue": [], "waiting": 0, "waiting_cap": lq.WAITING_CAP, "wall_status": {}, "wall_changed": {},
                "wall_labels": labels}
    redaction = session_redaction(db, found["id"])
    queue, waiting = lq.wall_waiting(db, found, current["id"])
    status = {r["id"]: state for r in feed if (state := lq.wall_state(found, r)) is not None}
    candidates = [r for r in feed if r["id"] in status]
    return {
        "queue": [{"id": r["id"], "language": r["language"], "shown": redaction(r["text"]),
                   "translation": redaction(r["translation"] or "").strip(), "translation_language": r["translation_language"]}
                  for r in queue],
        "waiting": waiting, "waiting_cap": lq.WAITING_CAP,
        "wall_status": status,
        # What redaction changed, so the feed can say what the room sees instead.
        "wall_changed": {r["id"]: shown for r in candidates if (shown := redaction(r["text"])) != normalize(r["text"])},
        "wall_labels": labels,
    }


def equity_topics() -> dict[str, str]:
    """Name the equity-pause reflection topics for staff."""
    return {
        "absent": _("Who is not in the room?"),
        "dominant": _("Whose voice dominated?"),
        "power": _("What did we notice about power?"),
        "other": _("Something else we noticed"),
    }


def seconds_left(ends_at: str | None) -> int | None:
    """Return the seconds left on the room's timer, or None when no timer runs."""
    if not ends_at:
        return None
    left = (datetime.fromisoformat(ends_at) - datetime.now(timezone.utc)).total_seconds()
    return max(int(left), 0)


@bp.route("/sessions/<int:session_id>/live")
@requires(*READERS)
def console(session_id: int):
    """The facilitator console: pace the questions, watch answers arrive, moderate, pause to reflect."""
    return render_template("facilitation/console.html", **live_context(session_id))


@bp.route("/sessions/<int:session_id>/live/panel")
@requires(*READERS)
def console_panel(session_id: int):
    """The console's live part (counts, results, feed), for refreshing without a reload."""
    return render_template("facilitation/_console_panel.html", **live_context(session_id))


def back_to_console(session_id: int):
    """Return to the console after a change (303, so a reload does not post again)."""
    return redirect(url_for("facilitation.console", session_id=session_id) + "#controls", 303)


class Refused(Exception):
    """A console action that cannot be done now; its message is shown to the facilitator and nothing changes."""


def _start(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Start the live session: it needs a question and every text in every language."""
    problem = opening_problem(db, found["id"])
    if problem == "questions":
        raise Refused(_("Add at least one question before starting."))
    if problem == "texts":
        raise Refused(_("The session cannot start yet: some text is missing in a language."))
    lq.start_live(db, found["id"])
    return ""


def _undo_close(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Reopen a session closed by mistake, within the undo window, where it was."""
    if not lq.undo_close(db, found["id"]):
        raise Refused(_("It is too late to undo closing. Use “Reopen the session” instead."))
    flash(_("The session is open again, where it was."), "ok")
    return ""


def _pace(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Pause, resume or close the room."""
    {"pause": lq.pause_live, "resume": lq.resume_live, "close": lq.close_live}[action](db, found["id"])
    return ""


def _show(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Show a chosen question, the next or previous one, or the join screen."""
    if action == "show":
        target = next((p for p in prompts if str(p["number"]) == request.form.get("number")), None)
        if target is None:
            abort(400)
    elif action == "join_screen":
        target = None
    else:
        target = lq.neighbour_prompt(prompts, found["current_prompt_id"], 1 if action == "next" else -1)
        if target is None:
            raise Refused(_("There is no question there."))
    lq.show_prompt(db, found["id"], target["id"] if target else None)
    return f"prompt={target['number'] if target else '-'}"


def _answering(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Open or close answering on the question shown."""
    if found["current_prompt_id"] is None:
        raise Refused(_("Show a question first."))
    lq.set_answering(db, found["id"], action == "open_answering")
    return ""


def _timer(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Start a timer of 1 to 120 minutes."""
    try:
        minutes = int(request.form.get("minutes", ""))
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= 120:
        raise Refused(_("Please give the timer a number of minutes from 1 to 120."))
    lq.set_timer(db, found["id"], minutes)
    return f"minutes={minutes}"


def _timer_stop(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Stop the timer."""
    lq.set_timer(db, found["id"], None)
    return ""


def _equity_pause(db, found: dict, action: str, prompts: list[dict]) -> str:
    """Begin or end the equity pause (the room reflects on who has not been heard)."""
    lq.set_equity_pause(db, found["id"], action == "equity_on")
    return ""


# What the console may do at any time, and what only while the session is open; each handler
# returns the audit detail, or raises Refused.
ANYTIME_ACTIONS = {"start": _start, "undo_close": _undo_close}
OPEN_ACTIONS = {
    "pause": _pace, "resume": _pace, "close": _pace,
    "show": _show, "next": _show, "previous": _show, "join_screen": _show,
    "open_answering": _answering, "close_answering": _answering,
    "timer": _timer, "timer_stop": _timer_stop, "equity_on": _equity_pause, "equity_off": _equity_pause,
}


@bp.route("/sessions/<int:session_id>/live", methods=["POST"])
@requires(*EDITORS)
def console_action(session_id: int):
    """Change what the room sees: start, pause, close, show a question, answering, timer, equity pause."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return back_to_console(session_id)
    if action not in ANYTIME_ACTIONS and found["status"] != "open":
        flash(_("Start the session first."), "error")
        return back_to_console(session_id)
    handler = ANYTIME_ACTIONS.get(action) or OPEN_ACTIONS.get(action)
    if handler is None:
        abort(400)
    try:
        detail = handler(db, found, action, queries.prompts_for_session(db, session_id))
    except Refused as refused:
        flash(str(refused), "error")
        return back_to_console(session_id)
    forget_state(found["code"])
    queries.record_audit(db, user_id=g.user["id"], action=f"live_{action}", target=found["code"], detail=detail)
    return back_to_console(session_id)


@bp.route("/sessions/<int:session_id>/live/moderate", methods=["POST"])
@requires(*EDITORS)
def moderate(session_id: int):
    """Hide an answer (with a reason) from the projector and exports, or restore it; both are logged."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    try:
        response_id = int(request.form.get("response_id", ""))
    except ValueError:
        abort(400)
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return back_to_console(session_id)
    if action == "hide":
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            flash(_("Please give a reason for hiding this answer."), "error")
            return back_to_console(session_id)
        if len(reason) > lq.MAX_REASON:  # the box stops at 500; only a forged form sends more
            flash(_("Please use %(max)s characters or fewer.", max=lq.MAX_REASON), "error")
            return back_to_console(session_id)
        changed = lq.hide_response(db, session_id, response_id, user_id=g.user["id"], reason=reason)
    elif action == "restore":
        changed = lq.restore_response(db, session_id, response_id, user_id=g.user["id"])
        reason = ""
    else:
        abort(400)
    if changed:
        queries.record_audit(db, user_id=g.user["id"], action=f"answer_{action}", target=found["code"],
                             detail=f"response={response_id} reason={reason}")
        flash(_("The answer is hidden.") if action == "hide" else _("The answer is shown again."), "ok")
    return redirect(url_for("facilitation.console", session_id=session_id, older=feed_start()) + "#feed", 303)


def wants_no_page() -> bool:
    """Tell whether the console's script sent this form and needs no page back (only a status)."""
    return request.headers.get("X-Chorus-Console") == "1"


@bp.route("/sessions/<int:session_id>/live/wall", methods=["POST"])
@requires(*EDITORS)
def wall_decision(session_id: int):
    """Approve an answer for the projector wall or keep it off (keys A and H), or turn the queue on or off."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    if not form.validate():
        if wants_no_page():
            return Response(status=400)
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("facilitation.console", session_id=session_id) + "#wall", 303)
    if action in ("moderation_on", "moderation_off"):
        if lq.set_wall_moderation(db, session_id, action == "moderation_on", user_id=g.user["id"]):
            queries.record_audit(db, user_id=g.user["id"], action=f"wall_{action}", target=found["code"])
        flash(_("Answers now wait for approval before they reach the projector.") if action == "moderation_on"
              else _("Answers from people who allowed quoting now go straight to the projector."), "ok")
    elif action in ("approve", "decline"):
        try:
            response_id = int(request.form.get("response_id", ""))
        except ValueError:
            abort(400)
        if lq.decide_wall(db, session_id, response_id, approve=action == "approve", user_id=g.user["id"]):
            queries.record_audit(db, user_id=g.user["id"], action=f"wall_{action}", target=found["code"],
                                 detail=f"response={response_id}")
            if not wants_no_page():
                flash(_("The answer will show on the projector.") if action == "approve"
                      else _("The answer stays off the projector. It is still kept with the other answers."), "ok")
    else:
        abort(400)
    if wants_no_page():
        return Response(status=204)
    return redirect(url_for("facilitation.console", session_id=session_id, older=feed_start()) + "#wall", 303)


@bp.route("/sessions/<int:session_id>/live/notes", methods=["POST"])
@requires(*READERS)
def equity_note(session_id: int):
    """Keep a note from an equity pause with the session (facilitators and note-takers alike)."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    topic = request.form.get("topic", "")
    body = (request.form.get("body") or "").strip()
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
    elif topic not in lq.EQUITY_TOPICS or not body:
        flash(_("Please choose a topic and write a note."), "error")
    else:
        note_id = lq.add_equity_note(db, session_id, topic=topic, body=body, user_id=g.user["id"],
                                     prompt_id=found["current_prompt_id"])
        queries.record_audit(db, user_id=g.user["id"], action="equity_note", target=found["code"],
                             detail=f"note={note_id} topic={topic}")
        flash(_("Note saved."), "ok")
    return redirect(url_for("facilitation.console", session_id=session_id) + "#equity", 303)


@bp.route("/sessions/<int:session_id>/live/themes", methods=["POST"])
@requires(*EDITORS)
def live_themes(session_id: int):
    """Draft themes for the open question, approve a draft for the projector, or take it down."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    prompt_id = found["current_prompt_id"]
    if not form.validate() or prompt_id is None:
        flash(_("That could not be done. Please try again."), "error")
        return redirect(url_for("facilitation.console", session_id=session_id) + "#themes", 303)
    if action == "draft":
        if jobs.background_wanted(db, session_id, current_app.config):
            try:
                job_id = jobs.submit(db, session_id, "live_themes", {"prompt_id": prompt_id}, who=g.user["id"])
            except jobs.CannotStart as refused:
                flash(refused.message(), "error")
                if isinstance(refused, jobs.JobBusy):
                    return redirect(job_address(session_id, refused.job), 303)
                return redirect(url_for("facilitation.console", session_id=session_id) + "#themes", 303)
            return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id), 303)
        if jobs.active_job(db, session_id) is not None:
            flash(jobs.JobBusy(None).message(), "error")
        elif live_jobs.draft_live_themes(db, session_id, prompt_id, user_id=g.user["id"]) is None:
            flash(_("Draft themes need at least %(n)s answers.", n=MIN_ANSWERS_FOR_THEMES), "error")
    elif action == "approve":
        try:
            draft_id = int(request.form.get("draft_id", ""))
        except ValueError:
            abort(400)
        if lq.approve_live_themes(db, session_id, draft_id, user_id=g.user["id"]):
            queries.record_audit(db, user_id=g.user["id"], action="live_themes_approve", target=found["code"],
                                 detail=f"draft={draft_id}")
    elif action == "withdraw":
        lq.withdraw_live_themes(db, session_id, prompt_id)
        queries.record_audit(db, user_id=g.user["id"], action="live_themes_withdraw", target=found["code"])
    else:
        abort(400)
    return redirect(url_for("facilitation.console", session_id=session_id) + "#themes", 303)


# --- the projector ----------------------------------------------------------------------------


def wall_cards(db, found: dict, prompt_id: int) -> list[dict]:
    """Return the answers on the projector's wall, each with any staff translation beneath it.

    Only the words of people who agreed to be quoted go up on the wall (approved first when the
    wall is moderated), newest 30, through the same redaction as every report; a staff translation
    goes with its answer, as in reports, and only with it, marked in its own language.
    """
    redaction = session_redaction(db, found["id"])
    cards, marks = [], {}
    for r in lq.wall_window(db, found, prompt_id):
        card = {"text": redaction(r["text"]), "lang": r["language"], "translation": redaction(r["translation"] or "").strip()}
        if card["translation"]:
            code = r["translation_language"] or found["default_language"]
            if code not in marks:
                with force_locale(code):
                    marks[code] = _("Translation:")
            card |= {"translation_lang": code, "translation_mark": marks[code]}
        cards.append(card)
    return cards


def projector_context(session_id: int) -> dict:
    """Gather what the room sees: the join screen, the question in every language with results, or the thanks."""
    found = load_session(session_id)
    db = get_db()
    texts = queries.texts_for_session(db, session_id)
    prompts = queries.prompts_for_session(db, session_id)
    current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
    url = join_url(found)
    base = url.split("/j/")[0] or url
    context = {"s": found, "current": current, "total": len(prompts), "url": url, "short_url": url.split("://")[-1],
               "timer_left": seconds_left(found["timer_ends_at"]), "mark": room_counts.MARK}
    threshold = room_counts.threshold_for(db, session_id)
    showing = current is not None and found["status"] == "open"
    if showing and current["kind"] == "open":
        themes = lq.latest_live_themes(db, current["id"], approved=True)
        context["themes"] = room_counts.draft_theme_sizes(themes, threshold) or None
        context["wall"] = wall_cards(db, found, current["id"])
    elif showing and current["kind"] == "react":
        context["react"] = react_room(db, found, current, threshold)
    elif showing and current["kind"] == "ideas":
        context["ideas"] = ideas_room(db, found, current)
    elif showing:
        labels = {code: option_labels(found, texts, current, code) for code in found["languages"]}
        bars = lq.visible_tallies(db, session_id, current)
        for bar in bars:
            bar["labels"] = [{"lang": code, "text": labels[code].get(bar["key"], "")} for code in found["languages"]] \
                if current["kind"] != "scale" else []
        if current["kind"] == "about":
            # Who people are follows the disclosure rule on the wall too: never "1 (25%)" in a room of four.
            bars, context["withheld"] = room_counts.about_results(bars, threshold)
            context["privacy"] = room_notes(found, threshold)
        context["bars"] = bars
    # The footer's count follows the bars: an "about you" count below the threshold is never shown.
    if "react" in context:
        answered = context["react"]["voters"]
    elif "ideas" in context:
        answered = context["ideas"]["people"]
    else:
        answered = lq.visible_count(db, session_id, current["id"]) if showing else 0
    fewer = context.get("withheld", False)
    join_blocks = []
    for code in found["languages"]:
        with force_locale(code):
            join_blocks.append({
                "lang": code,
                "title": queries.localized(texts, "session", session_id, "title", code, found["default_language"]),
                "scan": _("Scan the code with your phone camera to take part."),
                "or_type": _("Or go to %(url)s and type the code:", url=base),
                "pause": _("Let's pause and reflect: who is not in the room, and whose voices have we heard most?"),
                "paused": _("We are taking a short break."),
                "thanks": _("Thank you for taking part."),
                "next": _("The planning team will read every answer, then share what we heard and what we will do about it."),
                # TRANSLATORS: %(url)s is the web address of the page where a resident types their receipt code.
                "withdraw": _("Changed your mind? Take your answers back at %(url)s with your receipt code.",
                              url=base.split("://")[-1] + url_for("listening.withdraw")),
                "closed": _("Answering is closed"),
                "open": _("Answering is open"),
                "answers": _("Fewer than %(n)s answers so far", n=threshold) if fewer
                else ngettext("%(num)s answer so far", "%(num)s answers so far", Written(answered)),
                # TRANSLATORS: which page of a long list the room's screen shows, e.g. "2 of 3".
                "of": _("%(page)s of %(pages)s", page="{page}", pages="{pages}"),
                # TRANSLATORS: under a ranking question's results on the room's screen (a Borda count).
                "rank_note": _("Ranked by points: a first place earns the most, then second, and so on."),
                **react_words(context.get("react"), threshold),
                **ideas_words(context.get("ideas")),
            })
    context["blocks"] = join_blocks
    if not showing:
        context["svg"] = qr_svg(url)
        return context
    context["wording"] = prompt_texts(found, texts, current)
    context["answered"] = answered
    return context


def react_words(react: dict | None, threshold: int) -> dict:
    """Return the room's screen's words for a react question, in the locale in force."""
    if react is None:
        return {}
    return {
        # TRANSLATORS: heading on the room's screen above the opinion groups of a design session.
        "groups": _("Opinion groups: people who voted alike"),
        "group_size": _("Group %(name)s", name="{name}"),
        "no_groups": _("Groups appear once enough people have voted."),
        "consensus": _("What every group agrees on so far"),
        "agreed": _("Agreed"),
        "disagreed": _("Disagreed"),
        "statements": ngettext("%(num)s statement", "%(num)s statements", Written(react["statements"])),
        # TRANSLATORS: on the room's screen under the opinion groups; %(time)s is a time of day, e.g. 14:05.
        "groups_at": _("Groups as of %(time)s", time=clock(react["computed_at"], react["timezone"])),
        # TRANSLATORS: on the room's screen while the opinion groups are computed again (many votes, or someone withdrew).
        "regrouping": _("The groups are being worked out. They appear here in a moment."),
        "hidden": _("%(mark)s To protect people, groups smaller than %(n)s, and numbers that would reveal them, are not shown.",
                    mark=room_counts.MARK, n=threshold),
    }


def voters_of(db, prompt_id: int) -> int:
    """Count the people who voted on a question's approved statements (kept by triggers, m043: exact at once)."""
    return st.vote_totals(db, prompt_id)["voters"]


def clock(stamp: str | None, timezone_name: str) -> str:
    """Show a stored UTC time as the time of day in the session's time zone, in the locale in force."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from babel.dates import format_time
    from flask_babel import get_locale

    if not stamp:
        return ""
    try:
        zone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        zone = ZoneInfo("UTC")
    return format_time(datetime.fromisoformat(stamp), "short", tzinfo=zone, locale=str(get_locale() or "en"))


def react_room(db, found: dict, current: dict, threshold: int) -> dict:
    """Gather a react question for the room's screen: groups (never individuals), consensus so far, the statement count.

    The counts are the kept ones (m043); the groups are the stored ones (`opinion_live.groups_for_screen`), worked
    out off this request for a big question: none while a withdrawal's votes are being taken out of them.
    """
    approved = st.statements_for_prompt(db, current["id"], status="approved")
    ids = [s["id"] for s in approved]
    view = opinion_live.room_view(db, current["id"], ids, threshold=threshold)
    by_id = {s["id"]: s for s in approved}
    redaction = session_redaction(db, found["id"]) if any(by_id[sid]["participant_id"] is not None
                                                          for sid, _d in view["consensus"] if sid in by_id) else None
    view["consensus"] = [
        {"direction": direction, "words": _screen_words(found, by_id[sid], redaction)}
        for sid, direction in view["consensus"] if sid in by_id
    ]
    view["timezone"] = found["timezone"]
    return view


def ideas_words(ideas: dict | None) -> dict:
    """Return the room's screen's words for an ideas question, in the locale in force."""
    if ideas is None:
        return {}
    return {
        "ideas": ngettext("%(num)s idea", "%(num)s ideas", Written(ideas["count"])),
        # TRANSLATORS: on the room's screen, the heading of ideas residents sent from their own phones (not from a table).
        "from_phones": _("From phones"),
        "no_ideas": _("Ideas appear here once the team has read them."),
        # TRANSLATORS: on the room's screen under a table's ideas; {n} is a number.
        "not_shown": _("and {n} more whose authors did not allow their words on the screen"),
        "agreed_n": _("{n} agreed"),
        # TRANSLATORS: on the room's screen under a table's ideas, when only its most agreed ones fit; {n} is a number.
        "more_ideas": _("and {n} more ideas"),
    }


# How many ideas a table shows on the room's screen (the most agreed with); the others are counted.
IDEAS_PER_TABLE = 6


def ideas_room(db, found: dict, current: dict) -> dict:
    """Gather an ideas question for the room's screen: approved ideas grouped by table, then those from phones.

    The wall's quote rule holds: a resident's idea goes up only if its author allowed their words on
    the room's screen (`words_allowed`), through the session's redaction; the others are only counted.
    """
    from listening import tables as tb

    approved = st.statements_for_prompt(db, current["id"], status="approved")

    # From the kept counts (m042, m043): agreements per idea, and the people who voted or wrote an approved idea.
    agreed = {sid: counts[0] for sid, counts in st.vote_tallies(db, current["id"]).items()}
    authors = {s["participant_id"] for s in approved if s["participant_id"] is not None}
    people = voters_of(db, current["id"]) + len(authors - st.voted_among(db, current["id"], authors))
    redaction = session_redaction(db, found["id"])
    groups = [{"id": t["id"], "name": t["name"], "note": t["note"], "lang": t["language"], "ideas": [], "withheld": 0}
              for t in tb.tables_for_session(db, found["id"])]
    phones = {"id": None, "name": "", "note": "", "lang": "", "ideas": [], "withheld": 0}
    by_id = {g["id"]: g for g in groups}
    for idea in approved:
        group = by_id.get(idea["table_id"], phones)
        if not st.words_allowed(idea, "screen"):
            group["withheld"] += 1
            continue
        words = _screen_words(found, idea, redaction)
        group["ideas"].append({"words": words, "agreed": agreed.get(idea["id"], 0)})
    shown = [g for g in groups + [phones] if g["ideas"] or g["withheld"]]
    for group in shown:
        # A screen holds a few ideas per table: the most agreed with first, the rest counted.
        ranked = sorted(group["ideas"], key=lambda i: -i["agreed"])
        group["ideas"], group["more"] = ranked[:IDEAS_PER_TABLE], max(0, len(ranked) - IDEAS_PER_TABLE)
    return {"tables": shown, "count": len(approved), "people": people}


def _screen_words(found: dict, statement: dict, redaction=None) -> list[dict]:
    """Return a statement's words for the room's screen in each language that has them, or a note in every language
    when its author (a resident) did not allow their words on the screen; a resident's words go through the session's
    `redaction` (as reports quote them)."""
    if not st.words_allowed(statement, "screen"):
        notes = []
        for code in found["languages"]:
            with force_locale(code):
                notes.append({"lang": code, "text": _("A resident's statement: its author did not allow their words on the room's screen."),
                              "withheld": True})
        return notes
    words = [{"lang": code, "text": st.shown_text(statement, code)[0]} for code in found["languages"]
             if code == found["default_language"] or statement["translations"].get(code)]
    if statement.get("participant_id") is not None and redaction is not None:
        words = [dict(w, text=redaction(w["text"]).strip()) for w in words]
    return words


def room_notes(found: dict, threshold: int) -> list[dict]:
    """Say, in every offered language, why some "about you" results are not on the screen."""
    notes = []
    for code in found["languages"]:
        with force_locale(code):
            notes.append({
                "lang": code,
                "waiting": _("Results appear once at least %(n)s people have answered.", n=threshold),
                # TRANSLATORS: %(mark)s is the mark shown instead of a hidden number, "*".
                "hidden": _("%(mark)s To protect people, groups smaller than %(n)s, and numbers that would reveal them, are not shown.",
                            mark=room_counts.MARK, n=threshold),
            })
    return notes


@bp.route("/sessions/<int:session_id>/projector")
@requires(*READERS)
def projector(session_id: int):
    """A full-screen page for the room: join code and QR before the start, then the question and results."""
    return render_template("facilitation/projector.html", **projector_context(session_id))


@bp.route("/sessions/<int:session_id>/projector/panel")
@requires(*READERS)
def projector_panel(session_id: int):
    """The projector's content alone, for refreshing without a reload."""
    return render_template("facilitation/_projector_panel.html", **projector_context(session_id))
