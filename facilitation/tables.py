"""Staff pages for tables: split a design session's room into small groups, each with a notetaker.

A table has a name, a language and a note ("Spanish table with an interpreter"). Each table's
notetaker opens staff entry with the table chosen (a link per table, easy to open on a phone), so
the ideas, answers, priorities and votes they type in carry the table. The queries live in `listening.tables`.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from listening import queries
from listening import tables as tb
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm

from .blueprint import EDITORS, bp, load_session, titled
from .forms import table_form


@bp.route("/sessions/<int:session_id>/tables", methods=["GET", "POST"])
@requires(*EDITORS)
def session_tables(session_id: int):
    """List a session's tables with a notetaker's link for each, and add one."""
    found = load_session(session_id)
    db = get_db()
    form = table_form(found["languages"], request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            tb.add_table(db, session_id, name=form.name.data, language=form.language.data, note=form.note.data or "",
                         created_by=g.user["id"])
            queries.record_audit(db, user_id=g.user["id"], action="table_added", target=found["code"])
            flash(_("Table added. Give its notetaker the link next to it."), "ok")
            return redirect(url_for("facilitation.session_tables", session_id=session_id), 303)
    prompts = queries.prompts_for_session(db, session_id)
    # The notetaker starts on the ideas question if there is one; a react question opens the page for votes.
    first = next((p for p in prompts if p["kind"] == "ideas"), prompts[0] if prompts else None)
    return render_template(
        "facilitation/tables.html", s=found, title=titled(found), form=form, tables=tb.tables_for_session(db, session_id),
        first_prompt=first["number"] if first else None, action_form=ActionForm(),
    ), status


@bp.route("/sessions/<int:session_id>/tables/<int:table_id>/remove", methods=["POST"])
@requires(*EDITORS)
def remove_table(session_id: int, table_id: int):
    """Remove a table of this session (404 for any other); what its notetaker typed in stays, without the table's name."""
    found = load_session(session_id)
    db = get_db()
    if tb.table_in_session(db, session_id, table_id) is None:
        raise NotFound()
    form = ActionForm(request.form)
    if not form.validate():
        flash(_("This page was open for a long time. Please try again."), "error")
    elif tb.remove_table(db, session_id, table_id):
        queries.record_audit(db, user_id=g.user["id"], action="table_removed", target=found["code"])
        flash(_("Table removed. The ideas and answers typed in for it are kept."), "ok")
    return redirect(url_for("facilitation.session_tables", session_id=session_id), 303)
