"""Data lifecycle: purging raw answer text and contact details N days after a session closes.

What goes: the words residents typed (responses.text, and responses.described, the words given with
a self-described choice) and their contact details. What stays:
choices, numbers, skips and counts, consent records (kept apart from answers), and anything the
analysis keeps that is already de-identified (theme assignments, theme names people wrote; a machine name
drawn from a purged answer becomes its theme's key terms, as at a withdrawal). A
session on legal hold is never purged. Every purge is written to the deletion log: what kind
of data, how much, when and why, never the content.

Purging runs from `chorus purge` (for cron), when `chorus serve` starts, and at most once an
hour on an ordinary request. Each purge is added to the erasure ledger and the write-ahead log is
checkpointed after it (see `erasures`), so the words leave no copy in `-wal` and a backup
restored later is purged again.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlite_utils
from flask import Flask, current_app

from . import erasures
from .db import get_db, rows, transaction
from .erasures import Erasure
from .queries import log_deletion, now, record_audit, unname_answers

OPPORTUNISTIC_INTERVAL_SECONDS = 3600
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True)
class Purge:
    """What one purge removed from one session (counts only)."""

    session_id: int
    code: str
    answers: int
    contacts: int


def retention_days(session: dict, default_days: int) -> int:
    """Return how many days after closing a session keeps its raw text."""
    days = session.get("retention_days")
    return int(days) if days is not None else int(default_days)


def purge_due_at(session: dict, default_days: int) -> datetime | None:
    """Return when a closed session's raw text becomes due for purging, or None if never (yet)."""
    if session.get("status") != "closed" or not session.get("closed_at") or session.get("legal_hold"):
        return None
    closed = datetime.fromisoformat(session["closed_at"])
    if closed.tzinfo is None:
        closed = closed.replace(tzinfo=timezone.utc)
    return closed + timedelta(days=retention_days(session, default_days))


def sessions_due(db: sqlite_utils.Database, default_days: int, at: datetime | None = None) -> list[dict]:
    """Return the closed, not-on-hold sessions whose retention period has run out."""
    at = at or datetime.now(timezone.utc)
    due = []
    for session in rows(db, "SELECT id, code, status, closed_at, retention_days, legal_hold FROM sessions "
                            "WHERE status = 'closed' AND legal_hold = 0 AND closed_at IS NOT NULL"):
        when = purge_due_at(session, default_days)
        if when is not None and when <= at:
            due.append(session)
    return due


def purge_session(db: sqlite_utils.Database, session_id: int, *, reason: str, by_user: int | None = None) -> Purge | None:
    """Remove one session's raw answer text and contact details, and log it; None if nothing was left."""
    with transaction(db):
        session = rows(db, "SELECT id, code, legal_hold FROM sessions WHERE id = ?", (session_id,))
        if not session or session[0]["legal_hold"]:
            return None
        stamp = now()
        answers, contacts = purge_text(db, session_id, before=None)
        db.execute("UPDATE sessions SET purged_at = ? WHERE id = ?", (stamp, session_id))
        if not answers and not contacts:
            return None
        detail = f"answer_texts={answers} contact_details={contacts}"
        log_deletion(db, session_id=session_id, kind="retention_purge", detail=detail, reason=reason, by_user=by_user)
        record_audit(db, user_id=by_user, action="retention_purge", target=session[0]["code"], detail=detail)
        erasure = Erasure(at=stamp, kind="retention_purge", session_code=session[0]["code"])
        erasures.record(db, erasure)
    erasures.settle(db, [erasure])
    return Purge(session_id, session[0]["code"], answers, contacts)


def purge_text(db: sqlite_utils.Database, session_id: int, *, before: str | None) -> tuple[int, int]:
    """Blank a session's answer text, own words and residents' statements, and delete its contact details (only those older than `before`, if given).

    Runs inside the caller's transaction; returns (answer texts, contact details) removed.
    """
    cutoff = "" if before is None else " AND updated_at <= :before"
    # A machine theme name (a session's, a live draft's, a campaign's pooled theme, a renamed theme's old name in the
    # History log) can be a clause of one answer or its staff translation, and a claim is worded from answers: they go
    # with the words, as at a withdrawal.
    unname_answers(db, session_id, rows(
        db, f"""SELECT r.id, r.text, t.text AS translation FROM responses r
                LEFT JOIN answer_translations t ON t.response_id = r.id
                WHERE r.session_id = :s AND r.text IS NOT NULL{cutoff.replace('updated_at', 'r.updated_at')}""",
        {"s": session_id, "before": before}))
    # Words given with a self-described choice (responses.described) go exactly like answer text.
    answers = db.execute(
        f"UPDATE responses SET text = NULL, described = NULL WHERE session_id = :s"
        f" AND (text IS NOT NULL OR described IS NOT NULL){cutoff}",
        {"s": session_id, "before": before},
    ).rowcount
    cutoff = "" if before is None else " AND created_at <= :before"
    # Residents' own statements (design sessions) are words they typed: blanked, with their translations.
    db.execute(f"DELETE FROM statement_texts WHERE statement_id IN (SELECT id FROM statements WHERE session_id = :s "
               f"AND participant_id IS NOT NULL AND body != ''{cutoff})", {"s": session_id, "before": before})
    answers += db.execute(
        f"UPDATE statements SET body = '' WHERE session_id = :s AND participant_id IS NOT NULL AND body != ''{cutoff}",
        {"s": session_id, "before": before},
    ).rowcount
    contacts = db.execute(
        f"DELETE FROM contacts WHERE participant_id IN (SELECT id FROM participants WHERE session_id = :s){cutoff}",
        {"s": session_id, "before": before},
    ).rowcount
    return answers, contacts


def purge_expired(db: sqlite_utils.Database, default_days: int, at: datetime | None = None) -> list[Purge]:
    """Purge every session whose retention period has run out; return what was purged."""
    done = []
    for session in sessions_due(db, default_days, at):
        days = retention_days(session, default_days)
        purged = purge_session(db, session["id"], reason=f"retention period of {days} days after closing ended")
        if purged is not None:
            done.append(purged)
    return done


def set_retention(db: sqlite_utils.Database, session_id: int, *, days: int | None, legal_hold: bool) -> None:
    """Set a session's retention period (None: the default) and its legal hold."""
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"Retention must be between 0 and {MAX_RETENTION_DAYS} days")
    with transaction(db):
        db.execute("UPDATE sessions SET retention_days = ?, legal_hold = ? WHERE id = ?",
                   (days, int(legal_hold), session_id))


def init_app(app: Flask) -> None:
    """Purge opportunistically: on the first request, then at most once an hour per process."""
    state: dict[str, float | None] = {"last": None}
    lock = threading.Lock()

    @app.before_request
    def purge_now_and_then() -> None:
        """Run the retention purge if an hour has passed since this process last ran it."""
        if app.testing and not app.config.get("RETENTION_ON_REQUEST"):
            return
        last = state["last"]
        if (last is not None and time.monotonic() - last < OPPORTUNISTIC_INTERVAL_SECONDS) \
                or not lock.acquire(blocking=False):
            return
        try:
            state["last"] = time.monotonic()
            purged = purge_expired(get_db(), current_app.config["RETENTION_DAYS"])
            for item in purged:
                current_app.logger.info("Retention purge of session %s: %s answer texts, %s contact details",
                                        item.code, item.answers, item.contacts)
        except Exception:  # a purge problem must never stop a resident from answering
            current_app.logger.exception("Retention purge failed; it will be tried again later")
        finally:
            lock.release()
