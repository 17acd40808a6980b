"""Importing answers from other tools' exports (KoboToolbox/ODK, Google Forms, SurveyMonkey, LimeSurvey,
hand-made CSV and Excel files) into a session, for facilitators.

Three steps, each a plain form that works without JavaScript: upload a file (size limited by
CHORUS_IMPORT_MAX_MB); a preview with the proposed mapping of every column (editable), the
sheet, how people agreed, every value that does not map named by row and column, and the
counts of what would be stored and refused; then "Import", which stores everything in one
transaction (:func:`facilitation.import_queries.store_import`). Until then nothing about anyone
in the file is in the database: the upload waits, encrypted, in the instance folder for at most
two hours and is deleted on import or cancel. An import can be undone while no reviewed theme
or chosen quote stands on its answers.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from babel.numbers import format_decimal
from flask import Response, current_app, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from analysis import import_mapping as im
from analysis.importing import ERROR, INFO, WARNING, Issue, UnreadableFile, read_table
from listening import queries
from listening.accounts import requires
from listening.db import get_db
from listening.forms import ActionForm
from listening.i18n import current_language, language_name, source_labels
from listening.sealing import seal_bytes, unseal_bytes

from . import import_queries as iq
from .blueprint import EDITORS, bp, load_session, titled

STAGED_SECONDS = 2 * 60 * 60
MAX_ISSUES_SHOWN = 500
PREVIEW_ROWS = 5

# TRANSLATORS: what a column of an imported file is read as, in the import preview's drop-down.
ROLE_LABELS = {
    im.IGNORE: _l("Not imported"),
    im.TAKE_PART: _l("Consent to take part"),
    im.QUOTE: _l("Consent to be quoted"),
    im.CONTACT: _l("Consent to be contacted"),
    im.LANGUAGE: _l("Language of the answers"),
    im.SOURCE: _l("Where the answers came from"),
    im.TIME: _l("When the answers were given"),
    im.ROW_ID: _l("Row id (recognises a row imported before)"),
    im.CONTACT_NAME: _l("Contact: name"),
    im.CONTACT_PHONE: _l("Contact: phone"),
    im.CONTACT_EMAIL: _l("Contact: email"),
}


# --- the upload, waiting for confirmation --------------------------------------------------------


def max_bytes() -> int:
    """Return the largest file the import accepts, in bytes."""
    return int(current_app.config["IMPORT_MAX_MB"]) * 1024 * 1024


def staging_dir() -> Path:
    """Return the folder where uploads wait for confirmation (beside the database, private)."""
    folder = Path(current_app.config["DATABASE"]).parent / "import-staging"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def purge_staged() -> None:
    """Delete uploads older than two hours, and their remembered previews: a preview left open is never kept.

    A remembered preview whose upload is gone (imported or cancelled while the preview was being worked out)
    goes too.
    """
    cutoff = time.time() - STAGED_SECONDS
    folder = staging_dir()
    for path in (*folder.glob("*.upload"), *folder.glob(f"*{PREVIEW_SUFFIX}")):
        try:
            if path.stat().st_mtime < cutoff or (path.suffix == PREVIEW_SUFFIX and not path.with_suffix(".upload").exists()):
                path.unlink()
        except OSError:
            continue


def stage(data: bytes, meta: dict) -> str:
    """Keep an upload, encrypted, until it is imported or cancelled; return its token."""
    purge_staged()
    token = secrets.token_urlsafe(18)
    path = staging_dir() / f"{token}.upload"
    sealed = seal_bytes(json.dumps(meta).encode("utf-8")) + b"\n" + seal_bytes(data)
    path.touch(mode=0o600)
    path.write_bytes(sealed)
    return token


def staged(token: str, session_id: int) -> tuple[Callable[[], bytes | None], dict] | None:
    """Return a way to read an upload and its details if it exists, is fresh, and belongs to this staff member and
    session. The file itself is decrypted only when asked for (a remembered preview does not need it)."""
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        return None
    path = staging_dir() / f"{token}.upload"
    try:
        meta_token, data_token = path.read_bytes().split(b"\n", 1)
    except (OSError, ValueError):
        return None
    meta_raw = unseal_bytes(meta_token, max_age_seconds=STAGED_SECONDS)
    if meta_raw is None:
        return None
    meta = json.loads(meta_raw)
    if meta.get("session") != session_id or meta.get("user") != g.user["id"]:
        return None
    return (lambda: unseal_bytes(data_token, max_age_seconds=STAGED_SECONDS)), meta


def drop_staged(token: str) -> None:
    """Delete a waiting upload and the preview remembered from it."""
    (staging_dir() / f"{token}.upload").unlink(missing_ok=True)
    (staging_dir() / f"{token}{PREVIEW_SUFFIX}").unlink(missing_ok=True)


# What the preview shows, worked out once per set of choices and kept beside the upload (encrypted like it, owner
# only, deleted with it), so a page view that changes nothing does not read and plan the whole file again.
PREVIEW_SUFFIX = ".preview"
KEPT_VIEWS = 4


def view_key(form, settings: dict, session_q: im.SessionQuestions, state: tuple) -> str:
    """Return what a remembered preview depends on, hashed: the settings and column choices sent, the session's
    questions, the session's imports so far (`state`) and the longest answer allowed."""
    columns = {name: form.getlist(name) for name in sorted(form) if name.startswith("col-")}
    described = json.dumps([settings, columns, repr(session_q), list(state), current_app.config["MAX_ANSWER_LENGTH"]],
                           sort_keys=True, default=str)
    return hashlib.sha256(described.encode("utf-8")).hexdigest()


def remembered_view(token: str, key: str) -> dict | None:
    """Return the preview remembered for these choices, or None."""
    try:
        sealed = (staging_dir() / f"{token}{PREVIEW_SUFFIX}").read_bytes()
    except OSError:
        return None
    raw = unseal_bytes(sealed, max_age_seconds=STAGED_SECONDS)
    return None if raw is None else json.loads(raw).get(key)


def remember_view(token: str, key: str, view: dict) -> None:
    """Keep a worked-out preview beside its upload (the last few sets of choices), if the upload is still waiting."""
    folder = staging_dir()
    if not (folder / f"{token}.upload").exists():
        return
    path = folder / f"{token}{PREVIEW_SUFFIX}"
    views = {}
    try:
        raw = unseal_bytes(path.read_bytes(), max_age_seconds=STAGED_SECONDS)
        views = json.loads(raw) if raw is not None else {}
    except OSError:
        pass
    views.pop(key, None)
    views[key] = view
    views = dict(list(views.items())[-KEPT_VIEWS:])
    path.touch(mode=0o600)
    path.write_bytes(seal_bytes(json.dumps(views).encode("utf-8")))


# --- step 1: upload ---------------------------------------------------------------------------------


def upload_page(found: dict, error: str = "", status: int = 200):
    """Render the upload form with the session's earlier imports."""
    db = get_db()
    return render_template(
        "facilitation/import_upload.html", s=found, title=titled(found), form=ActionForm(), error=error,
        imports=iq.imports_for_session(db, found["id"]), max_mb=current_app.config["IMPORT_MAX_MB"],
        source_labels=source_labels(),
    ), status


@bp.route("/sessions/<int:session_id>/import", methods=["GET", "POST"])
@requires(*EDITORS)
def import_start(session_id: int):
    """Upload a CSV or spreadsheet of answers exported from another tool; nothing is stored yet."""
    found = load_session(session_id)
    if request.method == "GET":
        return upload_page(found)
    request.max_content_length = max_bytes() + 256 * 1024
    too_big = _("The file is larger than %(mb)s MB. Split it into smaller files, or ask your administrator to "
                "raise CHORUS_IMPORT_MAX_MB.", mb=current_app.config["IMPORT_MAX_MB"])
    try:
        if not ActionForm(request.form).validate():
            return upload_page(found, _("This page was open for a long time. Please try again."), 400)
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return upload_page(found, too_big, 413)
    if upload is None or not upload.filename:
        return upload_page(found, _("Please choose a file to import."), 400)
    data = upload.read(max_bytes() + 1)
    if len(data) > max_bytes():
        return upload_page(found, too_big, 413)
    try:
        read_table(data, upload.filename)
    except UnreadableFile as problem:
        return upload_page(found, problem.issue.render(_), 400)
    token = stage(data, {"session": session_id, "user": g.user["id"], "filename": upload.filename[:255]})
    return redirect(url_for("facilitation.import_preview", session_id=session_id, token=token)), 303


# --- step 2: preview and confirm ------------------------------------------------------------------


def read_choices(form, table, session: im.SessionQuestions, proposal: im.Proposal, same_sheet: bool):
    """Return the column mapping: the form's choices when it sent them for this sheet, else the proposal."""
    if not same_sheet or not any(f"col-{c.index}" in form for c in table.columns):
        return list(proposal.columns), []
    chosen, wrong = [], []
    for column in table.columns:
        raw = form.get(f"col-{column.index}", im.IGNORE)
        mapping = iq.parse_target(raw, column.index, session)
        if mapping is None:
            wrong.append(column.name)
            mapping = im.ColumnMap(column.index)
        chosen.append(mapping)
    return chosen, wrong


def read_settings(form, found: dict) -> dict:
    """Read the preview's settings: sheet, consent rule, file source and language (defaults on first view)."""
    source = form.get("source", "import")
    language = form.get("language", "")
    return {
        "sheet": form.get("sheet", ""),
        "read_sheet": form.get("read_sheet", ""),
        "statement": form.get("statement", "").strip()[:2000],
        "version": form.get("version", "").strip()[:200],
        "quote_ok": form.get("quote_ok") == "y",
        "contact_ok": form.get("contact_ok") == "y",
        "source": source if source in queries.SOURCES else "import",
        "language": language if language in found["languages"] else "",
    }


@bp.route("/sessions/<int:session_id>/import/<token>", methods=["GET", "POST"])
@requires(*EDITORS)
def import_preview(session_id: int, token: str):
    """Show how the file would be read, let the facilitator correct it, then import it or cancel."""
    found = load_session(session_id)
    kept = staged(token, session_id)
    if kept is None:
        # Not found, like any object that is not this session's (or this staff member's): the page says what to do.
        return upload_page(found, _("That upload is no longer waiting (it is kept for two hours). Please upload the "
                                    "file again."), 404)
    load, meta = kept
    form = request.form if request.method == "POST" else request.args
    if request.method == "POST" and not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return redirect(url_for("facilitation.import_preview", session_id=session_id, token=token)), 303
    if request.method == "POST" and request.form.get("action") == "cancel":
        drop_staged(token)
        flash(_("The import was cancelled and the file deleted. Nothing was stored."), "ok")
        return redirect(url_for("facilitation.import_start", session_id=session_id)), 303
    settings = read_settings(form, found)
    db = get_db()
    session_q = iq.session_questions(db, session_id)
    confirming = request.method == "POST" and request.form.get("action") == "confirm"
    key = view_key(form, settings, session_q, iq.import_state(db, session_id))
    view = None if confirming else remembered_view(token, key)
    if view is not None:  # nothing changed since this preview was worked out: the file is not read again
        return render_preview(found, token, meta, session_q, view, settings, iq.imported_before(db, session_id, view["digest"]),
                              _("Please choose what each column is from the list.") if view["wrong"] else "")
    data = load()
    if data is None:
        return upload_page(found, _("That upload is no longer waiting (it is kept for two hours). Please upload the "
                                    "file again."), 404)
    remember = True
    try:
        table = read_table(data, meta["filename"], sheet=settings["sheet"] or None)
    except UnreadableFile as problem:
        if not settings["sheet"]:
            drop_staged(token)
            return upload_page(found, problem.issue.render(_), 400)
        table, settings["sheet"], remember = read_table(data, meta["filename"]), "", False
        flash(problem.issue.render(_), "error")
    proposal = im.propose_mapping(table, session_q)
    columns, wrong = read_choices(form, table, session_q, proposal, settings["read_sheet"] == table.sheet)
    rule = im.ConsentRule(settings["statement"], settings["version"], settings["quote_ok"], settings["contact_ok"])
    plan = im.plan_import(table, session_q, columns, rule, source=settings["source"], language=settings["language"] or None,
                          max_length=current_app.config["MAX_ANSWER_LENGTH"])
    digest = iq.file_hash(data)
    fresh = plan.new_records(iq.existing_keys(db, session_id))
    error = _("Please choose what each column is from the list.") if wrong else ""
    if confirming and not wrong:
        if plan.blocked:
            error = _("Say how people agreed before importing: choose the column that records consent to take part, "
                      "or write the consent statement that covers the whole file.")
        elif not fresh:
            error = _("There is nothing new to import: every row is refused or was imported before.")
        else:
            steps = iq.store_import_steps(
                db, session_id, plan, filename=meta["filename"], data_hash=digest, sheet=table.sheet,
                tool=table.tool.name, mapping=iq.mapping_json(table, columns, session_q), source=settings["source"],
                language=settings["language"] or found["default_language"], user_id=g.user["id"])
            if len(fresh) > STREAM_FROM:
                return streamed_import(found, token, meta["filename"], steps)
            stored = iq.finish(steps)
            drop_staged(token)
            flash(_("Imported. The answers are in the session."), "ok")
            return redirect(url_for("facilitation.import_done", session_id=session_id, import_id=stored["id"])), 303
    view = preview_view(table, session_q, proposal, columns, plan, fresh, digest, wrong)
    if remember and not confirming:
        remember_view(token, key, view)
    return render_preview(found, token, meta, session_q, view, settings, iq.imported_before(db, session_id, digest), error)


# A file with more new people than this is stored with a page that shows how far it has got (a batch at a time).
STREAM_FROM = 5000
_MARKER = "<!-- progress -->"


def streamed_import(found: dict, token: str, filename: str, steps):
    """Store a large import while the page shows its progress: the page's top, a line after each batch, then
    a link to the import (no JavaScript needed; the browser shows each line as it arrives).

    Everything is still one transaction: a browser that goes away closes the steps, which rolls the
    import back, so nothing is half stored. The status is sent before the work, so a failure is said
    on the page (and logged), never as a stack trace.
    """
    top, bottom = render_template("facilitation/import_progress.html", s=found, title=titled(found), filename=filename,
                                  marker=Markup(_MARKER)).split(_MARKER, 1)

    def generate():
        """Yield the page a piece at a time as the import's batches are stored."""
        try:
            yield from steps_shown()
        finally:
            steps.close()  # a browser that left mid-way: the import's transaction is rolled back now

    def steps_shown():
        """Yield the page's top, a line per stored batch, and the end of the page."""
        yield top
        run = iq.Progress(steps)
        try:
            for done, total in run:
                yield str(Markup("<p>{}</p>\n").format(_("Stored %(done)s of %(total)s people…",
                                                         done=format_decimal(done, locale=current_language()), total=format_decimal(total, locale=current_language()))))
        except Exception:  # reported on the page: its status line is already sent
            current_app.logger.exception("The import of %s into session %s failed", filename, found["code"])
            yield str(Markup('<div class="alert" role="alert"><p>{}</p></div>').format(
                _("The import failed and nothing was stored. Please try again, or ask your administrator to look at the log.")))
            yield bottom
            return
        drop_staged(token)
        done_url = url_for("facilitation.import_done", session_id=found["id"], import_id=run.stored["id"])
        yield str(Markup('<p role="status"><strong>{}</strong></p><p><a class="button" href="{}">{}</a></p>').format(
            _("Imported. The answers are in the session."), done_url, _("See what was imported")))
        yield bottom

    response = Response(stream_with_context(generate()), mimetype="text/html")
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front (nginx) passes each line on at once
    response.headers["Cache-Control"] = "no-store"
    return response


def preview_view(table, session_q, proposal, columns, plan, fresh, digest: str, wrong: list) -> dict:
    """Return what the preview shows of a file read and planned with these choices, as plain data a later view
    renders again without the file: its columns and first rows, the proposal, the counts and the issues."""
    numbers, choice_numbers = iq.numbering(session_q)
    chosen = {m.column: iq.target_value(m, numbers, choice_numbers) for m in columns}
    reasons = {m.column: m.reason for m in proposal.columns}
    issues = tuple(table.issues) + plan.issues if plan.blocked else plan.issues
    return {
        "sheet": table.sheet, "sheets": list(table.sheets), "digest": digest, "wrong": list(wrong),
        "columns": [{"index": c.index, "name": c.name, "chosen": chosen.get(c.index, im.IGNORE), "reason": reasons.get(c.index, ""),
                     "samples": [row.cells[c.index] for row in table.rows[:PREVIEW_ROWS]]} for c in table.columns],
        "unmapped": [{"column": v.column, "value": v.value, "count": v.count} for v in proposal.values if not v.choice_ids],
        "counts": {"rows": plan.counts.get("rows", len(table.rows)), "fresh": len(fresh),
                   "fresh_answers": sum(len(r.answers) for r in fresh), "already": len(plan.records) - len(fresh),
                   "refused": len(plan.refused_rows), "empty": len(plan.empty_rows), "duplicate": len(plan.duplicate_rows),
                   "skipped": len(table.skipped_rows)},
        "issues": [{"message": i.message, "level": i.level, "row": i.row, "column": i.column, "params": dict(i.params),
                    "rows": list(i.rows)} for i in issues],
    }


def render_preview(found, token, meta, session_q, view: dict, settings, before, error):
    """Render the preview (from :func:`preview_view`): the file, the mapping form, what would be stored and refused,
    what to check."""
    default = found["default_language"]
    targets = [(role, str(label)) for role, label in ROLE_LABELS.items()]
    for question in session_q.questions:
        wording = question.labels.get(default) or next(iter(question.labels.values()), "")
        targets.append((f"question:{question.position}", _("Question %(n)s: %(text)s", n=question.position, text=wording)))
        if question.kind == "multiple":
            for n, choice in enumerate(question.choices, start=1):
                targets.append((f"question:{question.position}:{n}",
                                _("Question %(n)s, one choice: %(choice)s", n=question.position,
                                  choice=choice.labels.get(default) or next(iter(choice.labels.values()), ""))))
    levels = {ERROR: [], WARNING: [], INFO: []}
    for found_issue in view["issues"]:
        levels.setdefault(found_issue["level"], []).append(
            Issue(**{**found_issue, "rows": tuple(found_issue["rows"])}))
    names = {c["index"]: c["name"] for c in view["columns"]}
    return render_template(
        "facilitation/import_preview.html", s=found, title=titled(found), token=token, filename=meta["filename"],
        view=view, counts=view["counts"], targets=targets, fresh=view["counts"]["fresh"], settings=settings, before=before,
        errors=levels[ERROR][:MAX_ISSUES_SHOWN], warnings=levels[WARNING][:MAX_ISSUES_SHOWN], infos=levels[INFO],
        more_errors=max(0, len(levels[ERROR]) - MAX_ISSUES_SHOWN),
        more_warnings=max(0, len(levels[WARNING]) - MAX_ISSUES_SHOWN), render=lambda i: i.render(_),
        form=ActionForm(), error=error, source_labels=source_labels(), language_name=language_name,
        column_name=lambda index: names.get(index, ""),
    ), 400 if error else 200


# --- step 3: what was imported, and undo -------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/imports/<int:import_id>")
@requires(*EDITORS)
def import_done(session_id: int, import_id: int):
    """Show what one import stored, refused and left to check, with its undo."""
    found = load_session(session_id)
    db = get_db()
    done = iq.import_by_id(db, session_id, import_id)
    if done is None:
        raise NotFound()
    return render_template("facilitation/import_done.html", s=found, title=titled(found), done=done,
                           blockers=iq.undo_blockers(db, import_id), form=ActionForm(), source_labels=source_labels(),
                           language_name=language_name)


@bp.route("/sessions/<int:session_id>/imports/<int:import_id>/undo", methods=["POST"])
@requires(*EDITORS)
def import_undo(session_id: int, import_id: int):
    """Undo an import: delete the people and answers it stored, unless reviewed themes stand on them."""
    load_session(session_id)
    db = get_db()
    if iq.import_by_id(db, session_id, import_id) is None:
        raise NotFound()
    back = redirect(url_for("facilitation.import_done", session_id=session_id, import_id=import_id)), 303
    if not ActionForm(request.form).validate():
        flash(_("This page was open for a long time. Please try again."), "error")
        return back
    try:
        undone = iq.undo_import(db, session_id, import_id, user_id=g.user["id"])
    except iq.UndoRefused as refused:
        if refused.reason == "undone":
            flash(_("This import was already undone."), "error")
        else:
            flash(_("This import cannot be undone: planners reviewed themes or chose quotes that use its answers "
                    "(%(n)s answers). Move those answers out of reviewed themes, or mark the themes as drafts again, "
                    "then undo.", n=refused.counts.get("reviewed", 0) + refused.counts.get("quotes", 0)), "error")
        return back
    flash(_("Import undone: %(people)s people and %(answers)s answers deleted.", people=undone["people"],
            answers=undone["answers"]), "ok")
    return back
