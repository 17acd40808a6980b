"""Planners' review and exports (blueprint "review", under /staff/review) and the residents'
"we heard / we did" page (blueprint "results", at /s/<code>/results).

The review pages run the theme engine for a session, show draft themes with their answers, and
take planners' decisions (rename, merge, split, move, off-topic, reviewed, insights, "how might
we"), all through plain forms that work without JavaScript. Every staff view carries
``@requires("facilitator", "planner")`` (admins too), and a session the signed-in staff member
may not see answers 404 (``listening.access``). Queries live in ``analysis.review.queries``;
rendering of reports and exports in ``analysis.reports``.
"""
from __future__ import annotations

import dataclasses
import io
import json
import tempfile
from collections import Counter
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import Forbidden, NotFound, RequestEntityTooLarge

from analysis import assemble, disclosure, reports
from listening import access, jobs, opinion_store, queries
from listening.accounts import guard_session_access, load_user, requires
from listening.consent import default_consent
from listening.db import get_db
from listening.forms import ActionForm
from listening.i18n import Written, current_language, language_name, source_labels

from . import page_cache, qdpx_queries, tallies
from . import queries as synthesis
from . import reporting
from .design_report import method_note

bp = Blueprint("review", __name__, template_folder="../templates")
# The results blueprint also serves the review pages' stylesheet: a public file, outside the staff route walk.
results_bp = Blueprint("results", __name__, template_folder="../templates", static_folder="../static",
                       static_url_path="/review-static")

READERS = ("facilitator", "planner")
MAX_LABEL = 200
MAX_NOTE = 2000
# An export bigger than this is spooled to a temporary file rather than kept in memory.
EXPORT_SPOOL_BYTES = 8 * 1024 * 1024

# TRANSLATORS: what a planner did, as listed in a session's synthesis history.
ACTION_LABELS = {
    "run": _l("Drafted themes with the engine"),
    "rename": _l("Renamed a theme"),
    "review": _l("Marked a theme reviewed"),
    "unreview": _l("Marked a theme as a draft again"),
    "merge": _l("Merged two themes"),
    "split": _l("Made a new theme from chosen answers"),
    "recluster": _l("Split a theme by re-clustering"),
    "move": _l("Moved an answer"),
    "translate": _l("Translated an answer"),
    "untranslate": _l("Removed an answer's translation"),
    "off_topic": _l("Marked an answer off-topic"),
    "quote": _l("Chose an answer as a quote"),
    "unquote": _l("Stopped using an answer as a quote"),
    "insight_added": _l("Wrote an insight"),
    "insight_deleted": _l("Deleted an insight"),
    "hmw_added": _l("Wrote a “how might we” statement"),
    "hmw_deleted": _l("Deleted a “how might we” statement"),
    "reference": _l("Entered a reference population"),
    "priority_groups": _l("Named priority groups"),
    "settings": _l("Changed privacy settings"),
    "publish": _l("Published the residents' page"),
    "unpublish": _l("Saved the residents' page without publishing it"),
    "follow_up_created": _l("Made a follow-up session"),
}


@bp.before_request
def review_user() -> None:
    """Put the signed-in staff member on `g.user` and refuse sessions they may not see, as the facilitation pages do."""
    load_user()
    guard_session_access()


def load_session(session_id: int) -> dict:
    """Return a session the signed-in staff member may see, or answer 404."""
    return access.visible_session(get_db(), g.get("user"), session_id)


def title_of(found: dict) -> str:
    """Return a session's title in its main language."""
    texts = queries.texts_for_session(get_db(), found["id"])
    return queries.localized(texts, "session", found["id"], "title", found["default_language"], found["default_language"])


def user_id() -> int | None:
    """Return the signed-in staff member's id."""
    return g.user["id"] if g.get("user") else None


# --- the review page ---------------------------------------------------------------------------


@bp.route("/")
@requires(*READERS)
def index():
    """List the sessions this staff member may see, with how many people took part."""
    return render_template("review/index.html", sessions=access.sessions_for(get_db(), g.user))


def slim(stored: assemble.SessionData) -> assemble.SessionData:
    """Return a session's data without its answers and people: what a cached page keeps (texts, questions, themes, run)."""
    return dataclasses.replace(stored, answers=[], assignments={}, participants=[], segments={}, choices=[], described={})


def review_data(stored: assemble.SessionData, ui: str) -> dict:
    """Compute what the review page shows of a session's themes (sizes, quotes, languages, what reports hide): small, cacheable."""
    grouped = assemble.theme_answers(stored)
    themes = [t for t in stored.themes if t["kind"] == "theme"]
    themes.sort(key=lambda t: (-len(grouped.get(t["id"], [])), t["id"]))
    other = next((t for t in stored.themes if t["kind"] == "other"), None)
    quotes = {t["id"]: assemble.quotes_for(stored, grouped.get(t["id"], []), terms=t["top_terms"]) for t in themes}
    # Each theme's languages, commonest first; a theme heard in one language of several says so.
    counts = {t["id"]: Counter(a["language"] for a in grouped.get(t["id"], [])).most_common() for t in themes}
    several_languages = len({code for pairs in counts.values() for code, _n in pairs}) > 1
    heard_in = {tid: [assemble.language_label(code, ui) for code, _n in pairs] for tid, pairs in counts.items()}
    # Staff read every answer here; the note says which sizes reports and the residents' page hide.
    sizes = assemble.release(stored, lenses=False).sizes
    hidden_in_reports = assemble.hidden_theme_ids(themes, sizes)
    insights = assemble.insights_by_theme(stored)
    numbers = {p["id"]: p["number"] for p in stored.prompts}
    # A theme drafted across questions: each claim names the questions its people answered, as each quote does.
    claim_questions = {t["id"]: [list(assemble.questions_of(c.get("answer_ids", []), grouped.get(t["id"], []), numbers))
                                 for c in t.get("claims") or []] for t in themes}
    return {
        "stored": slim(stored), "themes": themes, "other": other, "quotes": quotes, "heard_in": heard_in,
        "several_languages": several_languages, "hidden_in_reports": hidden_in_reports, "insights": insights,
        # The page only counts each group's answers: a range has the group's length without its answers.
        "grouped": {key: range(len(members)) for key, members in grouped.items()},
        "numbers": numbers, "claim_questions": claim_questions,
    }


def show(session_id: int, *, focus: int | None = None, error: str = "", status: int = 200):
    """Render a session's review page (and one theme in full when `focus` is given)."""
    found = load_session(session_id)
    db = get_db()
    ui = current_language()
    data = page_cache.cached_refreshing(db, session_id, ("review", ui), lambda conn: tallies.review_data(conn, session_id, ui))
    stored = data["stored"]
    focused = next((t for t in stored.themes if t["id"] == focus), None) if focus else None
    if focus and focused is None and not error:
        raise NotFound()
    # A theme's own page lists its answers 100 at a time (a theme of a big session has thousands).
    page_members, next_key = [], None
    if focused is not None:
        rank, after = request.args.get("rank", type=int), request.args.get("after", type=int)
        page_members, next_key = synthesis.theme_members_page(
            db, session_id, focused["id"], after=(rank, after) if rank is not None and after is not None else None)
    return render_template(
        "review/session.html", s=found, title=title_of(found), stored=stored, themes=data["themes"],
        other=data["other"], grouped=data["grouped"], quotes=data["quotes"], focused=focused, numbers=data["numbers"],
        insights=data["insights"], claim_questions=data.get("claim_questions", {}), error=error, open_prompts=synthesis.open_prompts(db, session_id), form=ActionForm(),
        prompt_text=lambda pid: assemble.prompt_text(stored, pid, found["default_language"]),
        source_labels=source_labels(), heard_in=data["heard_in"], several_languages=data["several_languages"],
        max_chosen_quotes=synthesis.MAX_CHOSEN_QUOTES, hidden_in_reports=data["hidden_in_reports"],
        page_members=page_members, next_key=next_key, first_page=request.args.get("after") is None,
        job=jobs.active_job(db, session_id),
    ), status


@bp.route("/<int:session_id>")
@requires(*READERS)
def session(session_id: int):
    """Show a session's draft themes: labels, sizes, quotes, and (for one theme) all its answers."""
    return show(session_id, focus=request.args.get("theme", type=int))


@bp.route("/<int:session_id>/opinions")
@requires(*READERS)
def opinions(session_id: int):
    """Show each react question's opinion groups, consensus, divisive statements and priority-group agreement (drafts)."""
    found = load_session(session_id)
    db = get_db()
    return render_template(
        "review/opinions.html", s=found, title=title_of(found),
        views=synthesis.opinion_views(db, session_id, found["default_language"],
                                      stored_above=opinion_store.GROUPS_IN_REQUEST_VOTES),
        priorities=synthesis.priority_results(db, session_id, found["default_language"]),
        texts=queries.texts_for_session(db, session_id), mark=disclosure.MARK,
        threshold=synthesis.settings(db, session_id)["threshold"],
        method_note=lambda groups: method_note(groups, _, current_language()),
    )


@bp.route("/<int:session_id>/follow-up", methods=["POST"])
@requires("facilitator")
def follow_up(session_id: int):
    """Turn this session's reviewed themes, insights and "how might we" statements into a new draft design session."""
    found = load_session(session_id)
    form = ActionForm(request.form)
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("review.session", session_id=session_id)), 303
    db = get_db()
    texts, question = {"title": {}, "purpose": {}, "consent": {}}, {}
    stored = queries.texts_for_session(db, session_id)
    for code in found["languages"]:
        title = queries.localized(stored, "session", session_id, "title", code, found["default_language"])
        with force_locale(code):
            # TRANSLATORS: the title of a design session made from a listening session; %(title)s is that session's title.
            texts["title"][code] = _("Follow-up: %(title)s", title=title)
            texts["purpose"][code] = _("We shared what we heard. Now tell us what you agree with, and add what we missed.")
            question[code] = _("Do you agree with what we heard?")
        texts["consent"][code] = default_consent(code, minutes=found["minutes"], contact=found["contact"])
    created = synthesis.create_follow_up(db, session_id, user_id=user_id(), texts=texts, question=question)
    if created is None:
        flash(_("Review at least one theme, or write an insight or a “how might we” statement, first."), "error")
        return redirect(url_for("review.session", session_id=session_id)), 303
    queries.record_audit(db, user_id=user_id(), action="session_created", target=created["code"],
                         detail=f"follow_up_of={found['code']}")
    flash(_("Follow-up design session created as a draft. Check the statements and their translations, then open it."), "ok")
    return redirect(url_for("facilitation.session_overview", session_id=created["id"])), 303


@bp.route("/<int:session_id>/run", methods=["POST"])
@requires(*READERS)
def run(session_id: int):
    """Run the theme engine on the chosen open questions, keeping people's earlier decisions."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    if not form.validate():
        return show(session_id, error=_("This page was open for a long time. Please try again."), status=400)
    available = {p["id"] for p in synthesis.open_prompts(db, session_id)}
    try:
        chosen = [int(v) for v in request.form.getlist("prompt_ids")]
    except ValueError:
        chosen = [-1]
    if any(pid not in available for pid in chosen):
        return show(session_id, error=_("Please choose questions from the list."), status=400)
    if not available:
        return show(session_id, error=_("This session has no open questions to draft themes from."), status=400)
    if jobs.background_wanted(db, session_id, current_app.config):
        try:
            job_id = jobs.submit(db, session_id, "themes", {"prompt_ids": chosen}, who=user_id())
        except jobs.CannotStart as refused:
            return show(session_id, error=refused.message(), status=refused.status)
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id)), 303
    if jobs.active_job(db, session_id) is not None:
        busy = jobs.JobBusy(None)
        return show(session_id, error=busy.message(), status=busy.status)
    try:
        result = synthesis.run_themes(db, session_id, user_id=user_id(), prompt_ids=chosen)
    except synthesis.RunInProgress:
        return show(session_id, error=_("The theme engine is already running on this session. "
                                        "Please wait for it to finish, then reload this page."), status=409)
    queries.record_audit(db, user_id=user_id(), action="themes_run", target=found["code"],
                         detail=f"answers={result['answer_count']} themes={result['k_chosen']}")
    flash(_("Draft themes are ready. Please review them: they are a starting point, not a finding."), "ok")
    return redirect(url_for("review.session", session_id=session_id)), 303


def _theme(session_id: int, raw: str | None) -> dict | None:
    """Return the active theme a form names, if it belongs to this session."""
    try:
        return synthesis.theme_in_session(get_db(), session_id, int(raw or ""))
    except ValueError:
        return None


def _answers(session_id: int, raw: list[str]) -> list[int] | None:
    """Return the answer ids a form chose, or None if any is not part of this synthesis."""
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return None
    known = synthesis.placed_answers(get_db(), session_id, ids)
    return ids if all(i in known for i in ids) else None


class Rejected(Exception):
    """A planner decision that cannot be applied; its message is shown and nothing changes."""

    def __init__(self, message: str, *, keep_focus: bool = True) -> None:
        """Keep the message, and whether the page stays on the theme the planner was working on."""
        super().__init__(message)
        self.keep_focus = keep_focus


@dataclass(frozen=True)
class Decision:
    """One planner decision being applied: which, in which session, on which theme, by whom."""

    db: object
    session_id: int
    action: str
    theme: dict | None
    user: int | None

    @property
    def focus(self) -> int | None:
        """The theme the review page shows afterwards, unless the handler names another."""
        return self.theme["id"] if self.theme else None


def _rename(d: Decision) -> int | None:
    """Rename a theme and set its definition."""
    label = (request.form.get("label") or "").strip()
    definition = (request.form.get("definition") or "").strip()
    if not label or len(label) > MAX_LABEL or len(definition) > MAX_NOTE:
        raise Rejected(_("Please give the theme a name of up to %(max)s characters.", max=MAX_LABEL))
    synthesis.rename_theme(d.db, d.session_id, d.theme["id"], label, definition=definition, user_id=d.user)
    flash(_("Theme renamed."), "ok")
    return d.focus


def _review(d: Decision) -> int | None:
    """Mark a theme reviewed by a person, or a draft again."""
    synthesis.set_reviewed(d.db, d.session_id, d.theme["id"], d.action == "review", user_id=d.user)
    flash(_("Theme marked as reviewed.") if d.action == "review" else _("Theme marked as a draft again."), "ok")
    return d.focus


def _merge(d: Decision) -> int | None:
    """Merge a theme into another one, which the page then shows."""
    into = _theme(d.session_id, request.form.get("into"))
    if into is None or into["id"] == d.theme["id"] or into["kind"] != "theme" or d.theme["kind"] != "theme":
        raise Rejected(_("Please choose another theme to merge with."))
    synthesis.merge_themes(d.db, d.session_id, into["id"], d.theme["id"], user_id=d.user)
    flash(_("Themes merged."), "ok")
    return into["id"]


def _recluster(d: Decision) -> int | None:
    """Split a theme by running the engine on its answers alone."""
    created = synthesis.split_by_reclustering(d.db, d.session_id, d.theme["id"], user_id=d.user)
    flash(_("The theme was split into %(n)s draft themes.", n=len(created)), "ok")
    return created[0] if created else None


def _ticked(d: Decision) -> list[int]:
    """Return the answers the planner ticked in this session, or reject the decision when none is."""
    chosen = _answers(d.session_id, request.form.getlist("answer_ids"))
    if not chosen:
        raise Rejected(_("Please tick at least one answer first."))
    return chosen


def _quote(d: Decision) -> int | None:
    """Choose the ticked answers as a theme's quotes, or stop using them as quotes."""
    chosen = _ticked(d)
    if d.theme is None:
        raise Rejected(_("That theme is no longer there. It may have been merged or split."), keep_focus=False)
    if d.theme["kind"] != "theme":  # "Other / unclear" is never quoted in reports
        raise Rejected(_("That action is not possible here."))
    try:
        synthesis.choose_quotes(d.db, d.session_id, d.theme["id"], chosen, chosen=d.action == "quote", user_id=d.user)
    except synthesis.QuoteChoiceError as problem:
        raise Rejected({
            "not_consented": _("Only answers from people who allowed quoting can be quotes. Nothing was changed."),
            "too_many": _("A theme can have at most %(max)s chosen quotes. Nothing was changed.", max=synthesis.MAX_CHOSEN_QUOTES),
        }.get(problem.reason, _("Please tick answers from this theme only. Nothing was changed."))) from None
    flash(_("Quotes chosen.") if d.action == "quote" else _("Those answers are no longer used as quotes."), "ok")
    return d.focus


def _split(d: Decision) -> int | None:
    """Make a new theme from the ticked answers."""
    chosen = _ticked(d)
    label = (request.form.get("new_label") or "").strip()
    if not label or len(label) > MAX_LABEL:
        raise Rejected(_("Please give the new theme a name of up to %(max)s characters.", max=MAX_LABEL))
    focus = synthesis.new_theme(d.db, d.session_id, label, user_id=d.user, response_ids=chosen)
    flash(_("New theme made from the answers you chose."), "ok")
    return focus


def _off_topic(d: Decision) -> int | None:
    """Set the ticked answers aside as off-topic."""
    for rid in _ticked(d):
        synthesis.move_answer(d.db, d.session_id, rid, None, user_id=d.user, off_topic=True)
    flash(_("Marked as off-topic."), "ok")
    return d.focus


def _move(d: Decision) -> int | None:
    """Move the ticked answers to another theme."""
    chosen = _ticked(d)
    target = _theme(d.session_id, request.form.get("to"))
    if target is None:
        raise Rejected(_("Please choose the theme to move them to."))
    for rid in chosen:
        synthesis.move_answer(d.db, d.session_id, rid, target["id"], user_id=d.user)
    flash(_("Answers moved."), "ok")
    return d.focus


def _note(d: Decision) -> int | None:
    """Add an insight or a "how might we" statement, to a theme or to the whole session."""
    body = (request.form.get("body") or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise Rejected(_("Please write something, up to %(max)s characters.", max=MAX_NOTE))
    synthesis.add_insight(d.db, d.session_id, d.action, body, theme_id=d.focus, user_id=d.user)
    flash(_("Saved."), "ok")
    return d.focus


def _delete_note(d: Decision) -> int | None:
    """Delete an insight or a "how might we" statement."""
    try:
        insight_id = int(request.form.get("insight_id", ""))
    except ValueError:
        insight_id = 0
    if not synthesis.delete_insight(d.db, d.session_id, insight_id, user_id=d.user):
        raise Rejected(_("That note is no longer there."))
    flash(_("Deleted."), "ok")
    return d.focus


# Each planner decision and the handler that applies it (returning the theme to show next).
EDIT_ACTIONS = {
    "rename": _rename, "review": _review, "unreview": _review, "merge": _merge, "recluster": _recluster,
    "quote": _quote, "unquote": _quote, "split": _split, "off_topic": _off_topic, "move": _move,
    "insight": _note, "hmw": _note, "delete_insight": _delete_note,
}
NEEDS_THEME = frozenset({"rename", "review", "unreview", "merge", "recluster"})


@bp.route("/<int:session_id>/edit", methods=["POST"])
@requires(*READERS)
def edit(session_id: int):
    """Apply one planner decision: rename, review, merge, split, re-cluster, move, off-topic, insight."""
    load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    theme = _theme(session_id, request.form.get("theme_id"))
    focus = theme["id"] if theme else None
    if not form.validate():
        return show(session_id, focus=focus, error=_("This page was open for a long time. Please try again."), status=400)
    if action in NEEDS_THEME and theme is None:
        return show(session_id, error=_("That theme is no longer there. It may have been merged or split."), status=400)
    handler = EDIT_ACTIONS.get(action)
    if handler is None:
        return show(session_id, focus=focus, error=_("That action is not possible here."), status=400)
    try:
        focus = handler(Decision(db, session_id, action, theme, user_id()))
    except Rejected as rejected:
        return show(session_id, focus=focus if rejected.keep_focus else None, error=str(rejected), status=400)
    except ValueError:
        return show(session_id, focus=focus, error=_("That could not be done. Please check and try again."), status=400)
    target_args = {"session_id": session_id}
    if focus and synthesis.theme_in_session(db, session_id, focus):
        target_args["theme"] = focus
    return redirect(url_for("review.session", **target_args)), 303


# --- staff translations of answers ------------------------------------------------------------

MAX_TRANSLATION = queries.MAX_TRANSLATION


@bp.route("/<int:session_id>/answers/<int:answer_id>/translation", methods=["GET", "POST"])
@requires(*READERS)
def translation(session_id: int, answer_id: int):
    """Show one answer with a form to translate it into the session's main language; a POST saves (empty: removes) it.

    Reports quote the original with this translation beneath, only where the original may be quoted.
    """
    found = load_session(session_id)
    db = get_db()
    answer = synthesis.answer_to_translate(db, session_id, answer_id)
    if answer is None:
        raise NotFound()
    theme = request.values.get("theme", type=int)
    theme = theme if theme and synthesis.theme_in_session(db, session_id, theme) else None
    form = ActionForm(request.form if request.method == "POST" else None)
    error, status = "", 200
    if request.method == "POST":
        text = request.form.get("translation", "")
        if not form.validate():
            error, status = _("This page was open for a long time. Please try again."), 400
        elif len(text) > MAX_TRANSLATION:
            error, status = _("Please use %(max)s characters or fewer in each box.", max=MAX_TRANSLATION), 400
        else:
            kept = synthesis.set_answer_translation(db, session_id, answer_id, text, language=found["default_language"],
                                                    user_id=user_id())
            flash(_("Translation saved.") if kept else _("Translation removed."), "ok")
            if theme:
                return redirect(url_for("review.session", session_id=session_id, theme=theme) + "#theme"), 303
            return redirect(url_for("review.translation", session_id=session_id, answer_id=answer_id)), 303
    # The question's number and wording only: never the whole session (it may hold 100,000 answers).
    numbers = {p["id"]: p["number"] for p in queries.prompts_for_session(db, session_id)}
    question = queries.localized(queries.texts_for_session(db, session_id), "prompt", answer["prompt_id"], "text",
                                 found["default_language"], found["default_language"])
    return render_template(
        "review/translation.html", s=found, title=title_of(found), answer=answer, theme=theme, form=form, error=error,
        number=numbers.get(answer["prompt_id"]), question=question,
        main_language=language_name(found["default_language"]), language_name=language_name, max_length=MAX_TRANSLATION,
        draft=request.form.get("translation", answer["translation"] or "") if request.method == "POST" else (answer["translation"] or ""),
    ), status


# --- who was heard -------------------------------------------------------------------------------


def heard_data(db, session_id: int, language: str) -> tuple:
    """Build "who was heard"'s report in a language and the session's data without its answers, from one full read (no texts).

    The page itself counts in SQL (`tallies.heard_data`); this full load is what tests compare it with.
    """
    stored = synthesis.load(db, session_id, texts=False)
    return synthesis.report_from(db, stored, language, themes=False), slim(stored)


@bp.route("/<int:session_id>/heard")
@requires(*READERS)
def heard(session_id: int):
    """Who took part, compared with the reference population, and themes by group (small cells hidden)."""
    found = load_session(session_id)
    db = get_db()
    language = current_language() if current_language() in found["languages"] else found["default_language"]
    report, stored = page_cache.cached_refreshing(db, session_id, ("heard", language),
                                                  lambda conn: tallies.heard_data(conn, session_id, language))
    about = [p for p in stored.prompts if p["kind"] == "about"]
    labels = {o["id"]: assemble.option_label(stored, o, found["default_language"], _("Prefer not to say"))
              for p in about for o in p["options"]}
    return render_template(
        "review/heard.html", s=found, title=title_of(found), report=report, about=about, labels=labels,
        reference=stored.reference, priority=stored.priority, settings=stored.settings, form=ActionForm(),
        thresholds=range(disclosure.MIN_THRESHOLD, disclosure.MAX_THRESHOLD + 1), mark=disclosure.MARK,
        prompt_text=lambda pid: assemble.prompt_text(stored, pid, found["default_language"]),
    )


@bp.route("/<int:session_id>/heard", methods=["POST"])
@requires(*READERS)
def heard_save(session_id: int):
    """Save reference shares for one question, the priority groups, or the privacy settings."""
    found = load_session(session_id)
    db = get_db()
    form = ActionForm(request.form)
    what = request.form.get("what", "")
    # Its questions only: a full load of a 100,000-resident session took seconds and hundreds of MB.
    about = {p["id"]: p for p in queries.prompts_for_session(db, session_id) if p["kind"] == "about"}
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("review.heard", session_id=session_id)), 303
    if what == "reference":
        try:
            prompt = about[int(request.form.get("prompt_id", ""))]
        except (ValueError, KeyError):
            raise NotFound() from None
        percents = {}
        for option in prompt["options"]:
            raw = (request.form.get(f"share-{option['id']}") or "").strip().replace(",", ".").rstrip("%")
            if not raw:
                percents[option["id"]] = None
                continue
            try:
                value = float(raw)
            except ValueError:
                value = -1
            if not 0 <= value <= 100:
                flash(_("Please give each share as a number from 0 to 100."), "error")
                return redirect(url_for("review.heard", session_id=session_id)), 303
            percents[option["id"]] = value
        if sum(v for v in percents.values() if v is not None) > 100.5:
            flash(_("The shares add up to more than 100%. Please check them."), "error")
            return redirect(url_for("review.heard", session_id=session_id)), 303
        source = (request.form.get("source") or "").strip()[:300]
        synthesis.save_reference(db, session_id, prompt["id"], percents, source, user_id=user_id())
        flash(_("Reference population saved."), "ok")
    elif what == "priority":
        chosen = set(request.form.getlist("option_ids"))
        pairs = [(p["id"], o["id"]) for p in about.values() for o in p["options"] if str(o["id"]) in chosen]
        synthesis.save_priority_groups(db, session_id, pairs, user_id=user_id())
        flash(_("Priority groups saved."), "ok")
    elif what == "settings":
        try:
            threshold = int(request.form.get("threshold", ""))
        except ValueError:
            threshold = 0
        names = (request.form.get("names") or "")[:5000]
        if not disclosure.MIN_THRESHOLD <= threshold <= disclosure.MAX_THRESHOLD:
            # Counts below 10 are hidden everywhere: the threshold can be raised, never lowered.
            flash(_("Please choose a threshold from %(low)s to %(high)s.", low=disclosure.MIN_THRESHOLD,
                    high=disclosure.MAX_THRESHOLD), "error")
            return redirect(url_for("review.heard", session_id=session_id)), 303
        synthesis.save_settings(db, session_id, threshold=threshold, names=names)
        synthesis.log_edit(db, session_id, user_id=user_id(), action="settings", detail=f"threshold={threshold}")
        queries.record_audit(db, user_id=user_id(), action="synthesis_settings", target=found["code"],
                             detail=f"threshold={threshold}")
        flash(_("Settings saved."), "ok")
    else:
        flash(_("That action is not possible here."), "error")
    return redirect(url_for("review.heard", session_id=session_id)), 303


# --- history and exports ---------------------------------------------------------------------------


def _theme_name(themes: dict[int, str], theme_id) -> str:
    """A theme's label as the history names it, or its number when it is gone."""
    if isinstance(theme_id, int) and themes.get(theme_id):
        return f"“{themes[theme_id]}”"
    return _("theme %(number)s", number=theme_id) if theme_id is not None else _("no theme")


def describe_edit(action: str, detail: str | None, themes: dict[int, str]) -> str:
    """Say a decision's details in the reader's language (they are stored as JSON or short text)."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        data = None
    try:
        if action == "run" and isinstance(data, dict):
            answers, themes_made = int(data.get("answers") or 0), int(data.get("themes") or 0)
            return ", ".join((ngettext("%(num)s answer", "%(num)s answers", Written(answers)),
                              ngettext("%(num)s theme", "%(num)s themes", Written(themes_made))))
        if action == "rename" and isinstance(data, dict):
            return _("“%(before)s” to “%(after)s”", before=data.get("from", ""), after=data.get("to", ""))
        if action == "merge" and isinstance(data, dict):
            return _("Merged in: %(theme)s", theme=_theme_name(themes, data.get("merged")))
        if action == "split" and isinstance(data, dict):
            return f"“{data.get('label', '')}”, " + ngettext("%(num)s answer", "%(num)s answers",
                                                                 Written(len(data.get("answers") or [])))
        if action == "recluster" and isinstance(data, dict):
            return ngettext("Into %(num)s theme", "Into %(num)s themes", Written(len(data.get("into") or [])))
        if action in ("move", "off_topic") and isinstance(data, dict):
            if data.get("from_status") == "off_topic":
                return _("Was off-topic")
            return _("Was in %(theme)s", theme=_theme_name(themes, data.get("from")))
        if action == "reference" and isinstance(data, dict):
            return _("Source: %(source)s", source=data.get("source") or "—")
        if action == "priority_groups" and isinstance(data, list):
            return ngettext("%(num)s group", "%(num)s groups", Written(len(data)))
        if action == "settings" and detail.startswith("threshold="):
            # TRANSLATORS: the small-group threshold a planner set (groups smaller than it are not shown).
            return _("Smallest group shown: %(count)s", count=detail.partition("=")[2])
    except (TypeError, ValueError, AttributeError):
        pass
    return "" if isinstance(data, (dict, list)) else detail


def describe_export(detail: str | None) -> str:
    """Say an export's format, language and file (stored as `format=… language=… file=…`)."""
    fields = dict(part.partition("=")[::2] for part in (detail or "").split() if "=" in part)
    if "format" not in fields:
        return detail or ""
    shown = [fields["format"].upper()]
    if fields.get("language"):
        shown.append(language_name(fields["language"]))
    if fields.get("file"):
        shown.append(fields["file"])
    return " · ".join(shown)


@bp.route("/<int:session_id>/history")
@requires(*READERS)
def history(session_id: int):
    """Every planner decision and every export: who, when, what."""
    found = load_session(session_id)
    db = get_db()
    themes = {row["id"]: row["label"] for row in db.query("SELECT id, label FROM themes WHERE session_id = ?", [session_id])}
    return render_template("review/history.html", s=found, title=title_of(found),
                           edits=synthesis.edit_history(db, session_id),
                           exports=synthesis.export_history(db, found["code"]),
                           action_labels=ACTION_LABELS, themes=themes,
                           describe_edit=describe_edit, describe_export=describe_export)


@bp.route("/<int:session_id>/export", methods=["GET", "POST"])
@requires(*READERS)
def export(session_id: int):
    """Offer every report and export; a POST with the form's token downloads one (and logs it).

    Downloads are POSTs with a CSRF token, so a link or page on another site can neither start
    one nor write an audit entry; a GET (even with ?format=) only shows the choices.
    """
    found = load_session(session_id)

    def choices(error: str = "", status: int = 200):
        """Render the page of reports and exports."""
        has_votes = any(p["kind"] in queries.STATEMENT_KINDS for p in queries.prompts_for_session(get_db(), session_id))
        return render_template("review/export.html", s=found, title=title_of(found), formats=reports.FORMATS,
                               language_name=language_name, form=ActionForm(), error=error, has_votes=has_votes), status

    if request.method == "GET":
        return choices()
    if not ActionForm(request.form).validate():
        return choices(_("This page was open for a long time. Please try again."), 400)
    fmt = request.form.get("format", "")
    language = request.form.get("language", found["default_language"])
    if fmt not in reports.FORMATS or language not in found["languages"]:
        return choices(_("Please choose a format and one of the session's languages."), 400)
    if jobs.background_wanted(get_db(), session_id, current_app.config):
        try:
            job_id = jobs.submit(get_db(), session_id, "export", {"format": fmt, "language": language}, who=user_id())
        except jobs.CannotStart as refused:
            return choices(refused.message(), refused.status)
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id)), 303
    # Written row by row to a temporary file (kept in memory up to 8 MB, then on disk) and sent from
    # there in blocks, so a big session's export never sits whole in the worker's memory.
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)
    try:
        name = reporting.export(get_db(), session_id, spool, fmt=fmt, language=language, user_id=user_id())
    except BaseException:
        spool.close()
        raise
    payload = spool
    if spool.tell() <= EXPORT_SPOOL_BYTES:
        # Still in memory: hand over the bytes and free the spool now rather than when the response closes.
        spool.seek(0)
        payload = io.BytesIO(spool.read())
        spool.close()
    payload.seek(0)
    response = send_file(payload, mimetype=reports.MIMETYPES[fmt], as_attachment=True, download_name=name,
                         conditional=False, etag=False, last_modified=None)
    if payload is spool:
        response.call_on_close(spool.close)
    # Exports hold answers: no browser, proxy or back button may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- REFI-QDA (.qdpx): coding out to NVivo, ATLAS.ti, MAXQDA, Taguette, and back ------------------


@bp.route("/<int:session_id>/export/qdpx", methods=["POST"])
@requires(*READERS)
def export_qdpx(session_id: int):
    """Download the themes and answers as a REFI-QDA project: quote-consented and redacted, or (admins) the internal set."""
    found = load_session(session_id)
    if not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("review.export", session_id=session_id)), 303
    answer_set = request.form.get("set", qdpx_queries.QUOTED)
    if answer_set not in (qdpx_queries.QUOTED, qdpx_queries.INTERNAL):
        flash(_("That action is not possible here."), "error")
        return redirect(url_for("review.export", session_id=session_id)), 303
    if answer_set == qdpx_queries.INTERNAL and g.user["role"] != "admin":
        raise Forbidden()
    # TRANSLATORS: put before a theme's name in a project exported to NVivo and similar tools when nobody reviewed it yet.
    draft_mark = _("Draft:")
    # TRANSLATORS: names the note holding a staff translation of an answer, in a project exported to NVivo and similar tools.
    translation_mark = _("Translation:")
    if jobs.background_wanted(get_db(), session_id, current_app.config):
        params = {"format": "qdpx", "set": answer_set, "drafts": request.form.get("drafts") == "y", "draft_mark": draft_mark,
                  "translation_mark": translation_mark}
        try:
            job_id = jobs.submit(get_db(), session_id, "export", params, who=user_id())
        except jobs.CannotStart as refused:
            flash(refused.message(), "error")
            return redirect(url_for("review.export", session_id=session_id)), 303
        return redirect(url_for("facilitation.job", session_id=session_id, job_id=job_id)), 303
    # Written answer by answer to a temporary file (in memory up to 8 MB, then on disk), as the other exports.
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)
    try:
        name = qdpx_queries.export_qdpx(get_db(), found["id"], spool, answer_set=answer_set,
                                        drafts=request.form.get("drafts") == "y", draft_mark=draft_mark,
                                        translation_mark=translation_mark, user_id=user_id())
    except BaseException:
        spool.close()
        raise
    payload = spool
    if spool.tell() <= EXPORT_SPOOL_BYTES:  # still in memory: hand over the bytes and free the spool now
        spool.seek(0)
        payload = io.BytesIO(spool.read())
        spool.close()
    payload.seek(0)
    response = send_file(payload, mimetype="application/zip", as_attachment=True, download_name=name,
                         conditional=False, etag=False, last_modified=None)
    if payload is spool:
        response.call_on_close(spool.close)
    response.headers["Cache-Control"] = "no-store"
    return response


def _plan_signer():
    """Sign the codes-to-themes plan carried by the confirmation form, so it cannot be altered on the way."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="chorus: qdpx codes import")


@bp.route("/<int:session_id>/import-codes", methods=["GET", "POST"])
@requires(*READERS)
def import_codes(session_id: int):
    """Bring a REFI-QDA project's codes back as draft themes: upload, see what would change, confirm."""
    from analysis.qdpx import QdpxError

    found = load_session(session_id)
    db = get_db()

    def render(error: str = "", plan=None, signed: str = "", status: int = 200):
        """Render the upload form, or the plan waiting for confirmation."""
        return render_template("review/import_codes.html", s=found, title=title_of(found), form=ActionForm(),
                               error=error, plan=plan, signed=signed), status

    if request.method == "GET":
        return render()
    request.max_content_length = int(current_app.config["IMPORT_MAX_MB"]) * 1024 * 1024 + 256 * 1024
    try:
        if not ActionForm(request.form).validate():
            return render(_("This page was open for a long time. Please try again."), status=400)
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return render(_("The file is larger than %(mb)s MB.", mb=current_app.config["IMPORT_MAX_MB"]), status=413)
    if request.form.get("action") == "confirm":
        try:
            kept = _plan_signer().loads(request.form.get("plan", ""), max_age=2 * 60 * 60)
        except BadData:  # a bad, old or altered signature is the same refusal
            kept = None
        if not kept or kept.get("session") != session_id or kept.get("user") != user_id():
            return render(_("That confirmation is too old or was changed. Please upload the project again."), status=400)
        created = qdpx_queries.apply_qdpx_plan(db, session_id, kept["themes"], user_id=user_id())
        flash(_("%(n)s draft themes made from the project's codes. Review them before publishing.", n=len(created)), "ok")
        return redirect(url_for("review.session", session_id=session_id)), 303
    if upload is None or not upload.filename:
        return render(_("Please choose a .qdpx file."), status=400)
    try:
        plan = qdpx_queries.qdpx_plan(db, session_id, upload.read())
    except QdpxError as problem:
        return render(problem.issue.render(_), status=400)
    if not plan.themes:
        return render(_("None of the project's codes is applied to this session's answers, so there is nothing to import."),
                      plan=plan, status=400)
    signed = _plan_signer().dumps({"session": session_id, "user": user_id(), "themes": json.loads(plan.to_json())})
    return render(plan=plan, signed=signed)


# --- the residents' page: what to publish -------------------------------------------------------


def publish_data(stored: assemble.SessionData) -> tuple:
    """Return the themes that have answers (largest first) and the session's data without its answers: the publish page's."""
    return assemble.theme_sizes(stored)[1], slim(stored)


@bp.route("/<int:session_id>/publish", methods=["GET", "POST"])
@requires(*READERS)
def publish(session_id: int):
    """Write the residents' "we heard / we did" page in each language, and publish or unpublish it."""
    found = load_session(session_id)
    db = get_db()
    themes, stored = page_cache.cached_refreshing(db, session_id, ("publish",), lambda conn: tallies.publish_data(conn, session_id))
    reviewed = [t for t in themes if t["reviewed"]]
    if request.method == "POST":
        form = ActionForm(request.form)
        if not form.validate():
            flash(_("This page was open for a long time. Please try again."), "error")
            return redirect(url_for("review.publish", session_id=session_id)), 303
        too_long = [k for k, v in request.form.items() if len(v) > MAX_NOTE]
        if too_long:
            flash(_("Please use %(max)s characters or fewer in each box.", max=MAX_NOTE), "error")
            return redirect(url_for("review.publish", session_id=session_id)), 303
        for code in found["languages"]:
            for field_name in ("summary", "we_did"):
                synthesis.set_public_text(db, session_id, 0, field_name, code, request.form.get(f"0-{field_name}-{code}", ""))
            for theme in reviewed:
                for field_name in ("label", "we_did"):
                    synthesis.set_public_text(db, session_id, theme["id"], field_name, code,
                                              request.form.get(f"{theme['id']}-{field_name}-{code}", ""))
        published = request.form.get("published") == "1"
        synthesis.save_settings(db, session_id, published=published, published_by=user_id())
        synthesis.log_edit(db, session_id, user_id=user_id(), action="publish" if published else "unpublish")
        queries.record_audit(db, user_id=user_id(), action="results_published" if published else "results_saved",
                             target=found["code"])
        flash(_("The residents' page is published.") if published else _("Saved. The residents' page is not published."), "ok")
        return redirect(url_for("review.publish", session_id=session_id)), 303
    return render_template(
        "review/publish.html", s=found, title=title_of(found), reviewed=reviewed,
        public=stored.public, settings=stored.settings, form=ActionForm(), language_name=language_name,
        drafts=len(themes) - len(reviewed),
        public_url=url_for("results.page", code=found["code"], _external=True),
    )


# --- residents -------------------------------------------------------------------------------------


@results_bp.route("/s/<code>/results")
def page(code: str):
    """The residents' "we heard / we did" page, in their language, once the team publishes it."""
    db = get_db()
    found = queries.session_by_code(db, code)
    # An unpublished page answers exactly as an unknown code: its languages are not offered either.
    if found is None or not synthesis.settings(db, found["id"])["published"]:
        raise NotFound()
    g.session_languages = found["languages"]
    language = current_language()
    summary = page_cache.cached_refreshing(db, found["id"], ("results", language),
                                           lambda conn: tallies.public_summary(conn, found["id"], language))
    if summary is None:
        raise NotFound()
    return render_template("results/page.html", s=found, summary=summary)
