"""Live draft themes for the console, in the request for a small room or as a background job for a big one.

A draft reads the open question's answers the room may see, runs the engine, and keeps labels and
sizes (never quotes) until a facilitator approves it for the projector. Someone who withdraws while
the engine runs is taken out again: the words of answers gone by the time the draft is saved are
removed from its labels (`queries.unname_answers`), as a withdrawal does to drafts already saved.
"""
from __future__ import annotations

import sqlite_utils

from analysis.redaction import redaction_of
from listening import jobs, queries

from . import live_queries as lq

# Enough answers to an open prompt before draft themes make sense.
MIN_ANSWERS_FOR_THEMES = 8


def screen_quotable(row: dict) -> bool:
    """Tell whether an answer's words may be shown on the room's screen (quote permission covering the screen)."""
    return bool(row.get("quote_ok")) and row.get("quote_scope") == "screen_and_reports"


def draft_answers(db: sqlite_utils.Database, session_id: int, prompt_id: int) -> list[dict]:
    """Return the answers a live draft is made from: written, not skipped, not kept off the wall."""
    # Answers a facilitator kept off the wall stay out of what the room sees, labels included.
    return [r for r in lq.visible_responses(db, session_id, prompt_id)
            if not r["skipped"] and r["text"] and r["wall_status"] != "declined"]


def draft_live_themes(db: sqlite_utils.Database, session_id: int, prompt_id: int, *, user_id: int | None,
                      report=None) -> int | None:
    """Draft themes for a live question and keep them unapproved; None if there are too few answers."""
    from analysis.themes import ENGINE_STEPS, find_themes, stored_answer

    read_at = queries.now()
    answers = draft_answers(db, session_id, prompt_id)
    if len(answers) < MIN_ANSWERS_FOR_THEMES:
        return None
    if report:
        report(0, ENGINE_STEPS + 1)
    found = queries.session_by_id(db, session_id)
    redaction = redaction_of(queries.texts_for_session(db, session_id), queries.synthesis_settings(db, session_id)["name_list"])
    # A label on the room's screen is someone's words: only those who let the screen quote them. A staff
    # translation is analysed in place of the original, as in the review's runs.
    found_themes = find_themes([stored_answer(r, quotable=screen_quotable(r)) for r in answers],
                               k_max=8, seed=0, names=redaction.names, vocabulary=redaction.vocabulary,
                               on_step=(lambda done, steps: report(done, steps + 1)) if report else None)
    if report:
        report(ENGINE_STEPS + 1, ENGINE_STEPS + 1)
    draft_id = lq.save_live_themes(
        db, session_id, prompt_id, [{"label": t.label, "size": t.size} for t in found_themes.themes],
        answer_count=len(answers), user_id=user_id,
    )
    still = {r["id"] for r in draft_answers(db, session_id, prompt_id)}
    # Answers gone since they were read, and those their authors rewrote or skipped, leave the labels with their words.
    gone = [r for r in answers if r["id"] not in still]
    gone += [r for r in queries.replaced_since(db, answers, [prompt_id], read_at) if r["id"] in still]
    if gone:
        from listening.db import transaction

        with transaction(db):
            queries.unname_answers(db, session_id, gone)
    queries.record_audit(db, user_id=user_id, action="live_themes_draft", target=found["code"], detail=f"draft={draft_id}")
    return draft_id


def live_themes_job(ctx: jobs.Context) -> dict:
    """The console's "Draft themes" for a big room, as a background job."""
    draft_id = draft_live_themes(ctx.db, ctx.session_id, ctx.params["prompt_id"], user_id=ctx.job["who"],
                                 report=ctx.report)
    return {"draft": draft_id}
