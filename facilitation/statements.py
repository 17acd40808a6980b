"""Staff pages for react and ideas questions (design sessions): seed statements in every session language,
translate residents' statements, and decide which residents' statements others may see.

Votes and statements live in `listening.statements`; this module only shows and changes them.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from listening import queries
from listening import statements as st
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm

from .blueprint import EDITORS, bp, load_session, titled
from .forms import statement_form


def react_prompt(found: dict, prompt_id: int) -> dict:
    """Return a react or ideas question of this session, or answer 404."""
    prompt = queries.prompt_in_session(get_db(), found["id"], prompt_id)
    if prompt is None or prompt["kind"] not in queries.STATEMENT_KINDS:
        raise NotFound()
    return prompt


def statement_rows(db, prompt: dict) -> list[dict]:
    """Return a react question's statements with their agree, disagree and pass counts, for staff."""
    # The kept counts (m042) of the approved statements, as the votes on them would give: never every vote.
    tallies = st.vote_tallies(db, prompt["id"])
    found = st.statements_for_prompt(db, prompt["id"])
    for statement in found:
        statement["agree"], statement["disagree"], statement["passes"] = tallies.get(statement["id"], (0, 0, 0))
    return found


@bp.route("/sessions/<int:session_id>/prompts/<int:prompt_id>/statements", methods=["GET", "POST"])
@requires(*EDITORS)
def statements(session_id: int, prompt_id: int):
    """List a react question's statements; add one, in as many of the session's languages as you have."""
    found = load_session(session_id)
    prompt = react_prompt(found, prompt_id)
    db = get_db()
    form = statement_form(found["languages"], request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            original = form.written_in.data
            words = {code: (form[f"text_{code}"].data or "").strip() for code in found["languages"]}
            if not words.get(original):
                form[f"text_{original}"].errors.append(_("Please write the statement in the language it was written in."))
            else:
                st.add_statement(db, session_id, prompt_id, language=original, body=words[original],
                                 translations={c: w for c, w in words.items() if c != original}, created_by=g.user["id"])
                queries.record_audit(db, user_id=g.user["id"], action="statement_added", target=found["code"])
                flash(_("Idea added.") if prompt["kind"] == "ideas" else _("Statement added."), "ok")
                return redirect(url_for("facilitation.statements", session_id=session_id, prompt_id=prompt_id))
    texts = queries.texts_for_session(db, session_id)
    return render_template(
        "facilitation/statements.html", s=found, title=titled(found, texts), prompt=prompt, form=form,
        question=queries.localized(texts, "prompt", prompt_id, "text", found["default_language"], found["default_language"]),
        statements=statement_rows(db, prompt), action_form=ActionForm(),
    ), status


@bp.route("/sessions/<int:session_id>/prompts/<int:prompt_id>/statements/<int:statement_id>", methods=["POST"])
@requires(*EDITORS)
def statement_decision(session_id: int, prompt_id: int, statement_id: int):
    """Approve or decline a statement (a resident's waits until someone does), or save its translations."""
    found = load_session(session_id)
    react_prompt(found, prompt_id)
    db = get_db()
    statement = st.statement_in_session(db, session_id, statement_id)
    if statement is None or statement["prompt_id"] != prompt_id:
        raise NotFound()
    form = ActionForm(request.form)
    action = request.form.get("action", "")
    if not form.validate() or action not in ("approved", "declined", "translate", "merge"):
        flash(_("This page was open for a long time. Please try again."), "error")
    elif action == "merge":
        merge(found, prompt_id, statement_id)
    elif action == "translate":
        st.set_translations(db, statement_id, {code: request.form.get(f"text_{code}", "")[:280]
                                                for code in found["languages"] if code != statement["language"]})
        queries.record_audit(db, user_id=g.user["id"], action="statement_translated", target=found["code"])
        flash(_("Translations saved."), "ok")
    else:
        st.decide_statement(db, session_id, statement_id, action, by_user=g.user["id"])
        queries.record_audit(db, user_id=g.user["id"], action=f"statement_{action}", target=found["code"])
        flash(_("Statement approved: phones show it now.") if action == "approved"
              else _("Statement declined: nobody else will see it."), "ok")
    return redirect(url_for("facilitation.statements", session_id=session_id, prompt_id=prompt_id))


def merge(found: dict, prompt_id: int, statement_id: int) -> None:
    """Merge this statement into the one chosen as its original; its votes follow (see `listening.statements.merge_statements`)."""
    db = get_db()
    into = request.form.get("into", "")
    merged = st.merge_statements(db, found["id"], statement_id, int(into), by_user=g.user["id"]) \
        if into.isdigit() and len(into) <= 12 else None
    if merged is None:
        flash(_("Choose another statement of this question that people vote on. Nothing was changed."), "error")
        return
    queries.record_audit(db, user_id=g.user["id"], action="statement_merged", target=found["code"],
                         detail=f"statement={statement_id} into={into} moved={merged['moved']} dropped={merged['dropped']}")
    flash(_("Merged. Votes that moved with it: %(num)s. Anyone who voted on both keeps their vote on the statement kept.",
            num=merged["moved"]), "ok")
