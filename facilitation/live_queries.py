"""Queries for running a live session: the state phones follow, pacing, counts, moderation,
the projector wall's approval queue, equity-pause notes, draft themes for the projector, and
staff entry of paper and spoken answers.

`visible_responses(db, session_id, prompt_id=None)` is the one place that decides which answers
may be shown or exported: never a hidden answer, never one from a participant who withdrew.
`wall_answers(session, candidates)` decides which of those reach the projector wall: only
written answers from people who allowed quoting, and, while the session's wall is moderated,
only those a facilitator approved.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, NamedTuple

import sqlite_utils

from listening import erasures, queries, tables
from listening import statements as st
from listening.db import database_path, one, rows, transaction

log = logging.getLogger("chorus.live")

STAFF_SOURCES = tuple(s for s in queries.SOURCES if s not in ("phone", "import"))
EQUITY_TOPICS = ("absent", "dominant", "power", "other")
# How long after "Close the session" the console offers to undo it.
UNDO_CLOSE_MINUTES = 5
MAX_REASON = 500
MAX_NOTE = 4000


def _set(db: sqlite_utils.Database, session_id: int, **changes) -> None:
    """Change a session's live columns in one write."""
    assignments = ", ".join(f"{name} = ?" for name in changes)
    with transaction(db):
        db.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE id = ?",
            (*changes.values(), queries.now(), session_id),
        )


def start_live(db: sqlite_utils.Database, session_id: int) -> None:
    """Open the session so people can join; no question is shown yet (the projector shows the QR code)."""
    with transaction(db):
        queries.set_status(db, session_id, "open")
        _set(db, session_id, paused=0)


def pause_live(db: sqlite_utils.Database, session_id: int) -> None:
    """Pause: answering stops and phones say the session is paused; the current question stays."""
    _set(db, session_id, paused=1, answering_open=0)


def resume_live(db: sqlite_utils.Database, session_id: int) -> None:
    """End a pause; answering stays closed until the facilitator opens it again."""
    _set(db, session_id, paused=0)


def close_live(db: sqlite_utils.Database, session_id: int) -> None:
    """Close the session for good: no more joining or answering."""
    with transaction(db):
        queries.set_status(db, session_id, "closed")
        _set(db, session_id, paused=0, equity_pause=0, timer_ends_at=None)


def undo_close_until(found: dict, now: datetime | None = None) -> str | None:
    """Return until when an accidental close can be undone (UTC, ISO), or None if it cannot."""
    if found["status"] != "closed" or not found.get("closed_at"):
        return None
    until = datetime.fromisoformat(found["closed_at"]) + timedelta(minutes=UNDO_CLOSE_MINUTES)
    return until.isoformat(timespec="seconds") if (now or datetime.now(timezone.utc)) < until else None


def undo_close(db: sqlite_utils.Database, session_id: int) -> bool:
    """Reopen a session closed in the last few minutes where it was: same question, answering open; False if too late."""
    with transaction(db):
        found = one(db, "SELECT status, closed_at, current_prompt_id FROM sessions WHERE id = ?", (session_id,))
        if found is None or undo_close_until(found) is None:
            return False
        queries.set_status(db, session_id, "open")
        _set(db, session_id, answering_open=int(found["current_prompt_id"] is not None))
    return True


def show_prompt(db: sqlite_utils.Database, session_id: int, prompt_id: int | None, *, open_answering: bool = True) -> None:
    """Show a prompt (None: back to the join screen), opening answering for it unless told not to.

    Moving on also ends an equity pause: the room's screen follows what the facilitator shows.
    """
    _set(db, session_id, current_prompt_id=prompt_id,
         answering_open=int(bool(prompt_id) and open_answering), paused=0, equity_pause=0, timer_ends_at=None)


def set_answering(db: sqlite_utils.Database, session_id: int, is_open: bool) -> None:
    """Open or close answering for the prompt on screen; opening it also ends a pause."""
    if is_open:
        _set(db, session_id, answering_open=1, paused=0)
    else:
        _set(db, session_id, answering_open=0)


def set_timer(db: sqlite_utils.Database, session_id: int, minutes: int | None) -> None:
    """Start a countdown of `minutes` for the room, or stop it (None)."""
    ends = None
    if minutes:
        ends = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    _set(db, session_id, timer_ends_at=ends)


def set_equity_pause(db: sqlite_utils.Database, session_id: int, on: bool) -> None:
    """Show (or take down) the equity-pause reflection on the projector."""
    _set(db, session_id, equity_pause=int(on))


def neighbour_prompt(prompts: list[dict], current_id: int | None, step: int) -> dict | None:
    """Return the prompt `step` places from the current one (the first one if none is shown)."""
    if not prompts:
        return None
    ids = [p["id"] for p in prompts]
    if current_id not in ids:
        return prompts[0] if step > 0 else None
    index = ids.index(current_id) + step
    return prompts[index] if 0 <= index < len(prompts) else None


# --- counts and the feed ----------------------------------------------------------------------


def live_counts(db: sqlite_utils.Database, session_id: int, prompt_id: int | None) -> dict:
    """Count people taking part and answers to the current prompt, overall, by language and by source."""
    # A participant row is only ever created together with its consent (`queries.record_consent`),
    # so everyone counted here consented; the count reads the `participants_live` index alone.
    people = rows(
        db,
        """SELECT p.language, p.source, count(*) AS n, count(*) AS consented
           FROM participants p
           WHERE p.session_id = ? AND p.withdrawn_at IS NULL GROUP BY p.language, p.source""",
        (session_id,),
    )
    # Withdrawal deletes a person's answers as it marks them withdrawn, so this reads the
    # (prompt_id, skipped, language, source) index alone, without a lookup per answer.
    answers = rows(
        db,
        """SELECT r.language, r.source, count(*) AS n FROM responses r
           WHERE r.prompt_id = ? AND r.skipped = 0
           GROUP BY r.language, r.source""",
        (prompt_id or 0,),
    )
    withdrawn = one(
        db, "SELECT count(*) AS n FROM participants WHERE session_id = ? AND withdrawn_at IS NOT NULL",
        (session_id,),
    )["n"]

    def tally(found: list[dict], key: str, value: str = "n") -> dict[str, int]:
        """Sum a count column by one key, largest first."""
        out: dict[str, int] = {}
        for row in found:
            out[row[key]] = out.get(row[key], 0) + (row[value] or 0)
        return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))

    return {
        "joined": sum(r["n"] for r in people),
        "consented": sum(r["consented"] or 0 for r in people),
        "withdrawn": withdrawn,
        "people_by_language": tally(people, "language"),
        "people_by_source": tally(people, "source"),
        "answered": sum(r["n"] for r in answers),
        "answers_by_language": tally(answers, "language"),
        "answers_by_source": tally(answers, "source"),
    }


def _decode(found: list[dict]) -> list[dict]:
    """Decode the JSON choices of response rows."""
    for row in found:
        row["choices"] = json.loads(row["choices"]) if row["choices"] else []
    return found


def visible_responses(db: sqlite_utils.Database, session_id: int, prompt_id: int | None = None) -> list[dict]:
    """Return the answers that may be shown or exported: not hidden, not from anyone who withdrew.

    Oldest first; each row carries the participant's `quote_ok` choice. Skipped rows are
    included (with `skipped` = 1) so counts of who skipped stay possible.
    """
    sql = f"""SELECT r.*, c.quote_ok, c.quote_scope, {queries.TRANSLATION_COLUMNS} FROM responses r
             JOIN participants p ON p.id = r.participant_id
             LEFT JOIN consents c ON c.participant_id = p.id
             {queries.TRANSLATION_JOIN}
             WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.hidden_at IS NULL"""
    params: tuple = (session_id,)
    if prompt_id is not None:
        sql += " AND r.prompt_id = ?"
        params = (session_id, prompt_id)
    return _decode(rows(db, sql + " ORDER BY r.created_at, r.id", params))


# How many answers the console's feed shows at once; older ones are a link away ("Older answers").
FEED_SIZE = 50


def answer_feed(db: sqlite_utils.Database, session_id: int, prompt_id: int | None, limit: int = FEED_SIZE,
                older_than: int | None = None) -> list[dict]:
    """Return the newest answers to a prompt for moderation, hidden ones included and marked, with `quote_ok`.

    Newest change first, `limit` of them; with `older_than` (an answer id) only those that come after
    that answer in this order (keyset on the `responses_feed` index: (updated_at, id) below its own).
    """
    after, params = "", (prompt_id or 0, session_id)
    if older_than is not None:
        after = """AND (r.updated_at, r.id) < (SELECT o.updated_at, o.id FROM responses o
                                              WHERE o.id = ? AND o.prompt_id = r.prompt_id)"""
        params += (older_than,)
    return _decode(rows(
        db,
        f"""SELECT r.*, u.email AS hidden_by_email, c.quote_ok, c.quote_scope FROM responses r
           JOIN participants p ON p.id = r.participant_id
           LEFT JOIN consents c ON c.participant_id = r.participant_id
           LEFT JOIN users u ON u.id = r.hidden_by
           WHERE r.prompt_id = ? AND +r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0 {after}
           ORDER BY r.updated_at DESC, r.id DESC LIMIT ?""",
        params + (limit,),
    ))


# The same rules as `visible_responses` and `wall_candidates`, as SQL, for counting and windowing
# in big sessions without loading every answer. `+r.session_id` keeps the check but stops SQLite
# from walking the whole session's index: the prompt's own index is the short way.
# Counts read the (prompt_id, skipped, hidden_at, choices, number) index alone: withdrawal deletes
# a person's answers, and the prompt (the session's current one) is checked to be the session's.
VISIBLE_SQL = """FROM responses r
                 WHERE r.prompt_id = ? AND r.skipped = 0 AND r.hidden_at IS NULL
                   AND r.prompt_id IN (SELECT id FROM prompts WHERE session_id = ?)"""
WRITTEN_SQL = "r.text IS NOT NULL AND trim(r.text, ' ' || char(9, 10, 13)) != ''"
# The staff translation is joined so the wall can show it beneath its answer (SQLite drops the join where unused).
CANDIDATE_SQL = f"""FROM responses r JOIN participants p ON p.id = r.participant_id
                    JOIN consents c ON c.participant_id = r.participant_id
                    {queries.TRANSLATION_JOIN}
                    WHERE r.prompt_id = ? AND +r.session_id = ? AND r.hidden_at IS NULL AND r.skipped = 0
                      AND p.withdrawn_at IS NULL AND {WRITTEN_SQL} AND c.quote_ok = 1
                      AND c.quote_scope = 'screen_and_reports'"""


# A question's visible answers (not skipped, not hidden, their author not withdrawn) are also counted in
# `answer_tallies` (m036, kept by triggers on every write), grouped by placement, language, choices and
# number: a few dozen rows per question, where counting the answers reads 100,000 index entries.
TALLIED_SQL = "FROM answer_tallies t WHERE t.session_id = ? AND t.prompt_id = ?"


def visible_count(db: sqlite_utils.Database, session_id: int, prompt_id: int, *, written: bool = False,
                  up_to: int | None = None) -> int:
    """Count a prompt's visible answers that were not skipped (only written ones when asked), in SQL, stopping at `up_to`.

    All of them: from the kept counts. Written ones: from the answers, stopping at `up_to` (the kept
    counts' idea of blank is spaces only; the wall's is any white space).
    """
    if not written:
        kept = db.execute(f"SELECT coalesce(sum(t.n), 0) {TALLIED_SQL}", (session_id, prompt_id)).fetchone()[0]
        return kept if up_to is None else min(kept, up_to)
    extra = f" AND {WRITTEN_SQL}"
    if up_to is None:
        return db.execute(f"SELECT count(*) {VISIBLE_SQL}{extra}", (prompt_id, session_id)).fetchone()[0]
    return db.execute(f"SELECT count(*) FROM (SELECT 1 {VISIBLE_SQL}{extra} LIMIT ?)",
                      (prompt_id, session_id, up_to)).fetchone()[0]


def visible_tallies(db: sqlite_utils.Database, session_id: int, prompt: dict) -> list[dict]:
    """Count visible answers per option (or scale point) with SQL aggregates, as `tallies` does from rows."""
    counts: dict = {}
    # From the kept counts, by the stored list of choices (few distinct lists), then only those lists are decoded.
    for row in rows(db, f"SELECT t.choices, CASE WHEN t.no_number THEN NULL ELSE t.number END AS number, sum(t.n) AS n "
                        f"{TALLIED_SQL} GROUP BY 1, 2", (prompt["session_id"], prompt["id"])):
        values = [row["number"]] if prompt["kind"] == "scale" else (json.loads(row["choices"]) if row["choices"] else [])
        for value in values:
            counts[value] = counts.get(value, 0) + row["n"]
    if prompt["kind"] == "scale":
        keys = list(range(prompt["scale_min"], prompt["scale_max"] + 1))
    else:
        keys = [o["id"] for o in prompt["options"]]
    total = max(sum(counts.get(k, 0) for k in keys), 1)
    return [{"key": k, "count": counts.get(k, 0), "percent": round(100 * counts.get(k, 0) / total)} for k in keys]


# The wall's queries start from the partial index `responses_wall` (m040): only answers marked `wall_ok`
# (written, their author allowed the room's screen), not hidden, not skipped, by question, decision and
# id. A question where nobody allowed the wall has no entries there, so nothing is walked; the consent
# itself is still checked on each row found (CANDIDATE_SQL), so the mark never lets an answer up alone.
WALL_SQL = f"{CANDIDATE_SQL} AND r.wall_ok = 1"
APPROVED = "r.wall_status = 'approved'"


def _wall_range(status_sql: str, newest: bool, limit_sql: str = "?") -> str:
    """Return the SQL of one range of the wall's index: a decision (or none), newest or oldest first."""
    return (f"SELECT r.id, r.text, r.language, {queries.TRANSLATION_COLUMNS} {WALL_SQL} AND {status_sql} "
            f"ORDER BY r.id {'DESC' if newest else ''} LIMIT {limit_sql}")


def wall_window(db: sqlite_utils.Database, found: dict, prompt_id: int, limit: int = 30) -> list[dict]:
    """Return the newest `limit` answers the wall shows for a prompt, oldest first (what the projector puts up).

    Moderated: the approved ones. Not moderated: all but those kept off, read as the newest of the
    waiting range and the newest of the approved range (each straight from the index) merged.
    """
    args = (prompt_id, found["id"], limit)
    if found.get("wall_moderation", 1):
        newest = rows(db, _wall_range(APPROVED, True), args)
    else:
        undecided, approved = _wall_range("r.wall_status IS NULL", True), _wall_range(APPROVED, True)
        newest = rows(db, f"SELECT * FROM ({undecided}) UNION ALL SELECT * FROM ({approved}) ORDER BY id DESC LIMIT ?",
                      args + args + (limit,))
    return newest[::-1]


WAITING_CAP = 1000


def wall_waiting(db: sqlite_utils.Database, found: dict, prompt_id: int, limit: int = 30) -> tuple[list[dict], int]:
    """Return the oldest `limit` answers waiting for a wall decision and how many wait (counted up to WAITING_CAP + 1; none unmoderated)."""
    if not found.get("wall_moderation", 1):
        return [], 0
    waiting = f"{WALL_SQL} AND r.wall_status IS NULL"
    first = rows(db, _wall_range("r.wall_status IS NULL", False), (prompt_id, found["id"], limit))
    total = db.execute(f"SELECT count(*) FROM (SELECT 1 {waiting} LIMIT ?)",
                       (prompt_id, found["id"], WAITING_CAP + 1)).fetchone()[0]
    return first, total


def wall_state(found: dict, row: dict) -> str | None:
    """Say where one answer stands for the wall ('on_wall', 'waiting', 'kept_off'), or None if it can never go up."""
    if row["skipped"] or row.get("hidden_at") or not (row["text"] or "").strip() or not row.get("quote_ok") \
            or row.get("quote_scope") != "screen_and_reports":
        return None
    if found.get("wall_moderation", 1):
        return {"approved": "on_wall", None: "waiting"}.get(row["wall_status"], "kept_off")
    return "kept_off" if row["wall_status"] == "declined" else "on_wall"


def tallies(prompt: dict, answers: Iterable[dict]) -> list[dict]:
    """Count visible answers per option (or per scale point), in the prompt's order."""
    counts: dict = {}
    firsts: dict = {}
    places = len(prompt["options"])
    for row in answers:
        if row["skipped"]:
            continue
        if prompt["kind"] == "rank":
            # Borda count: with P places, a first place earns P points, the last place 1.
            for place, value in enumerate(row["choices"] or []):
                counts[value] = counts.get(value, 0) + max(places - place, 1)
            if row["choices"]:
                firsts[row["choices"][0]] = firsts.get(row["choices"][0], 0) + 1
            continue
        # A dot or a point is one entry of a dots or budget answer, so counting entries totals them.
        for value in (row["choices"] if prompt["kind"] != "scale" else [row["number"]]):
            counts[value] = counts.get(value, 0) + 1
    if prompt["kind"] == "scale":
        keys = list(range(prompt["scale_min"], prompt["scale_max"] + 1))
    else:
        keys = [o["id"] for o in prompt["options"]]
    total = max(sum(counts.get(k, 0) for k in keys), 1)
    bars = [{"key": k, "count": counts.get(k, 0), "percent": round(100 * counts.get(k, 0) / total)} for k in keys]
    if prompt["kind"] == "rank":
        for bar in bars:
            bar["first"] = firsts.get(bar["key"], 0)
        bars.sort(key=lambda bar: (-bar["count"], -bar["first"]))
    return bars


# --- moderation -------------------------------------------------------------------------------


def hide_response(db: sqlite_utils.Database, session_id: int, response_id: int, *, user_id: int, reason: str) -> bool:
    """Hide an answer from the projector and exports, logging who, when and why; False if not found."""
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise ValueError("Hiding an answer needs a reason")
    with transaction(db):
        stamp = queries.now()
        changed = db.execute(
            "UPDATE responses SET hidden_at = ?, hidden_by = ?, hidden_reason = ? "
            "WHERE id = ? AND session_id = ? AND hidden_at IS NULL",
            (stamp, user_id, reason, response_id, session_id),
        ).rowcount
        if changed:
            db.execute(
                "INSERT INTO moderation_log (session_id, response_id, action, reason, user_id, at) "
                "VALUES (?, ?, 'hide', ?, ?, ?)",
                (session_id, response_id, reason, user_id, stamp),
            )
            # A hidden answer leaves the projector and exports: its words leave machine-made theme names too (the
            # room's live drafts, the planners' themes and claims), as a withdrawal's do.
            queries.unname_answers(db, session_id, queries.answers_with_translations(db, [response_id]))
    if changed:
        # An export made before (a big session's file, a campaign's) holds the answer: it goes, as after a withdrawal.
        path = database_path(db)
        code = one(db, "SELECT code FROM sessions WHERE id = ?", (session_id,))
        if path and code:
            try:
                erasures.forget_exports(db, path, [code["code"]])
            except OSError:
                log.exception("Could not delete export files of session %s after hiding an answer", session_id)
    return bool(changed)


def restore_response(db: sqlite_utils.Database, session_id: int, response_id: int, *, user_id: int) -> bool:
    """Show a hidden answer again, logging who and when; False if it was not hidden."""
    with transaction(db):
        stamp = queries.now()
        changed = db.execute(
            "UPDATE responses SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL "
            "WHERE id = ? AND session_id = ? AND hidden_at IS NOT NULL",
            (response_id, session_id),
        ).rowcount
        if changed:
            db.execute(
                "INSERT INTO moderation_log (session_id, response_id, action, reason, user_id, at) "
                "VALUES (?, ?, 'restore', '', ?, ?)",
                (session_id, response_id, user_id, stamp),
            )
    return bool(changed)


def moderation_log(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's hides and restores, newest first, with who did them."""
    return rows(
        db,
        """SELECT m.*, u.email FROM moderation_log m LEFT JOIN users u ON u.id = m.user_id
           WHERE m.session_id = ? ORDER BY m.id DESC""",
        (session_id,),
    )


# --- the projector wall and its approval queue --------------------------------------------------


def wall_candidates(visible: Iterable[dict]) -> list[dict]:
    """Return the visible answers that may ever go on the wall: written, by someone whose quote permission
    was given under words that named the room's screen."""
    return [r for r in visible if not r["skipped"] and (r["text"] or "").strip() and r["quote_ok"]
            and r["quote_scope"] == "screen_and_reports"]


def wall_answers(found: dict, candidates: Iterable[dict]) -> list[dict]:
    """Return the candidates the wall shows: approved ones while moderated, else all but those kept off."""
    if found.get("wall_moderation", 1):
        return [r for r in candidates if r["wall_status"] == "approved"]
    return [r for r in candidates if r["wall_status"] != "declined"]


def wall_queue(found: dict, candidates: Iterable[dict]) -> list[dict]:
    """Return the candidates waiting for a facilitator's decision (none while the wall is not moderated)."""
    if not found.get("wall_moderation", 1):
        return []
    return [r for r in candidates if r["wall_status"] is None]


def decide_wall(db: sqlite_utils.Database, session_id: int, response_id: int, *, approve: bool, user_id: int) -> bool:
    """Approve an answer for the wall or keep it off, logging who and when; False if nothing changed.

    Only a visible written answer from someone who allowed quoting on the room's screen can be
    approved; keeping an answer off the wall takes its words out of the room's draft theme names and
    changes nothing else (it stays in the answers, analysis and exports).
    """
    status = "approved" if approve else "declined"
    with transaction(db):
        stamp = queries.now()
        changed = db.execute(
            """UPDATE responses SET wall_status = ?, wall_decided_at = ?, wall_decided_by = ?
               WHERE id = ? AND session_id = ? AND wall_status IS NOT ? AND skipped = 0
                 AND hidden_at IS NULL AND trim(coalesce(text, '')) != ''
                 AND participant_id IN (SELECT p.id FROM participants p JOIN consents c ON c.participant_id = p.id
                                        WHERE p.withdrawn_at IS NULL AND c.quote_ok = 1
                                          AND c.quote_scope = 'screen_and_reports')""",
            (status, stamp, user_id, response_id, session_id, status),
        ).rowcount
        if changed:
            db.execute(
                "INSERT INTO moderation_log (session_id, response_id, action, reason, user_id, at) "
                "VALUES (?, ?, ?, '', ?, ?)",
                (session_id, response_id, "approve" if approve else "decline", user_id, stamp),
            )
            if not approve:  # kept off the wall: the room does not read its words in a draft theme's name either
                queries.unname_live_drafts(db, session_id, queries.answers_with_translations(db, [response_id]))
    return bool(changed)


def set_wall_moderation(db: sqlite_utils.Database, session_id: int, on: bool, *, user_id: int | None) -> bool:
    """Turn the wall's approval queue on or off for a session, logging the change; False if it already was."""
    with transaction(db):
        stamp = queries.now()
        changed = db.execute(
            "UPDATE sessions SET wall_moderation = ?, updated_at = ? WHERE id = ? AND wall_moderation != ?",
            (int(on), stamp, session_id, int(on)),
        ).rowcount
        if changed:
            db.execute(
                "INSERT INTO moderation_log (session_id, response_id, action, reason, user_id, at) "
                "VALUES (?, NULL, ?, '', ?, ?)",
                (session_id, "wall_on" if on else "wall_off", user_id, stamp),
            )
    return bool(changed)


# --- equity pauses ----------------------------------------------------------------------------


def add_equity_note(
    db: sqlite_utils.Database, session_id: int, *, topic: str, body: str, user_id: int, prompt_id: int | None,
) -> int:
    """Keep a reflection from an equity pause with the session; return its id."""
    if topic not in EQUITY_TOPICS:
        raise ValueError(f"Unknown equity-pause topic {topic!r}")
    body = (body or "").strip()[:MAX_NOTE]
    if not body:
        raise ValueError("An equity-pause note needs some text")
    with transaction(db):
        return db.execute(
            "INSERT INTO equity_notes (session_id, prompt_id, topic, body, user_id, at) VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, prompt_id, topic, body, user_id, queries.now()),
        ).lastrowid


def equity_notes(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's equity-pause notes, oldest first, with who wrote them."""
    return rows(
        db,
        """SELECT n.*, u.email FROM equity_notes n LEFT JOIN users u ON u.id = n.user_id
           WHERE n.session_id = ? ORDER BY n.id""",
        (session_id,),
    )


# --- draft themes for the projector ------------------------------------------------------------


def save_live_themes(
    db: sqlite_utils.Database, session_id: int, prompt_id: int, themes: list[dict], *, answer_count: int, user_id: int,
) -> int:
    """Keep a new draft of themes (labels and sizes only) for a prompt, not yet approved."""
    clean = [{"label": str(t["label"]), "size": int(t["size"])} for t in themes]
    with transaction(db):
        return db.execute(
            "INSERT INTO live_themes (session_id, prompt_id, themes, answer_count, drafted_by, drafted_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, prompt_id, json.dumps(clean), answer_count, user_id, queries.now()),
        ).lastrowid


def approve_live_themes(db: sqlite_utils.Database, session_id: int, draft_id: int, *, user_id: int) -> bool:
    """Let a draft of themes show on the projector; False if there is no such draft."""
    with transaction(db):
        return bool(db.execute(
            "UPDATE live_themes SET approved_by = ?, approved_at = ? WHERE id = ? AND session_id = ?",
            (user_id, queries.now(), draft_id, session_id),
        ).rowcount)


def withdraw_live_themes(db: sqlite_utils.Database, session_id: int, prompt_id: int) -> None:
    """Take every draft of themes for a prompt off the projector."""
    with transaction(db):
        db.execute(
            "UPDATE live_themes SET approved_by = NULL, approved_at = NULL WHERE session_id = ? AND prompt_id = ?",
            (session_id, prompt_id),
        )


def latest_live_themes(db: sqlite_utils.Database, prompt_id: int | None, *, approved: bool = False) -> dict | None:
    """Return the newest draft of themes for a prompt (only approved ones if asked)."""
    found = one(
        db,
        "SELECT * FROM live_themes WHERE prompt_id = ?" + (" AND approved_at IS NOT NULL" if approved else "")
        + " ORDER BY id DESC LIMIT 1",
        (prompt_id or 0,),
    )
    if found is not None:
        found["themes"] = json.loads(found["themes"])
    return found


# --- staff entry ------------------------------------------------------------------------------


class Entered(NamedTuple):
    """What a staff entry stored: the participant, the answer (None for a repeated form), the new receipt ('' if none)."""

    participant_id: int
    response_id: int | None
    receipt: str


def enter_answer(
    db: sqlite_utils.Database,
    session_id: int,
    *,
    prompt_id: int,
    language: str,
    source: str,
    user_id: int,
    nonce: str,
    quote_ok: bool = False,
    quote_scope: str | None = None,
    labels: dict[str, str] | None = None,
    participant_id: int | None = None,
    text: str | None = None,
    choices: list[int] | None = None,
    number: int | None = None,
    described: str | None = None,
    table_id: int | None = None,
    translation: str = "",
    translation_language: str | None = None,
) -> Entered:
    """Store an answer from paper, a sticky note, a call or an interpreter, with verbal consent.

    `translation` (into `translation_language`, the session's main language), when given, is an
    interpreter's or staff member's rendering of an open answer, kept with it in the same transaction.

    A new participant is created (consent method 'staff_verbal', the current consent version in
    `language`, recorded by `user_id`) unless `participant_id` continues the same card; only then
    is there a new receipt code, for staff to give the person. A repeated nonce changes nothing
    and returns response id None.
    """
    if source not in STAFF_SOURCES:
        raise ValueError(f"Unknown source for staff entry {source!r}")
    receipt = ""
    with transaction(db):
        if participant_id is None:
            participant_id, receipt = _verbal_consent(db, session_id, language=language, source=source, user_id=user_id,
                                                      nonce=nonce, quote_ok=quote_ok, quote_scope=quote_scope, labels=labels)
        saved = queries.save_response(
            db, session_id=session_id, participant_id=participant_id, prompt_id=prompt_id, nonce=f"{nonce}:a",
            language=language, text=text, choices=choices, number=number, source=source, entered_by=user_id,
            described=described,
        )
        if saved.response_id is not None:
            tables.tag_response(db, saved.response_id, table_id)
            if text and translation.strip() and translation_language:
                queries.store_answer_translation(db, saved.response_id, translation, language=translation_language,
                                                 user_id=user_id)
    return Entered(participant_id, saved.response_id, receipt)


def _verbal_consent(db: sqlite_utils.Database, session_id: int, *, language: str, source: str, user_id: int, nonce: str,
                    quote_ok: bool, quote_scope: str | None, labels: dict[str, str] | None) -> tuple[int, str]:
    """Record, in the caller's transaction, that staff read the current consent statement to a new person who agreed.

    Returns the new participant and their receipt code (for staff to hand over).
    """
    statement = queries.current_consent(db, session_id, language)
    if statement is None:
        raise ValueError(f"No consent statement in {language!r} for this session")
    created = queries.record_consent(
        db, session_id, consent_version_id=statement["id"], language=language, nonce=f"{nonce}:c",
        quote_ok=quote_ok, contact_ok=False, method="staff_verbal", source=source, recorded_by=user_id,
        quote_scope=quote_scope, labels=labels,
    )
    return created.id, created.receipt


def enter_idea(
    db: sqlite_utils.Database,
    session_id: int,
    *,
    prompt_id: int,
    language: str,
    source: str,
    user_id: int,
    nonce: str,
    body: str,
    table_id: int | None = None,
    quote_ok: bool = False,
    quote_scope: str | None = None,
    labels: dict[str, str] | None = None,
    participant_id: int | None = None,
) -> Entered:
    """Store an idea a table's notetaker (or any staff member) typed in, with verbal consent, as `enter_answer` does.

    A new participant is created (consent 'staff_verbal') unless `participant_id` continues the same
    person; the idea is theirs (withdrawn with their receipt), tagged with `table_id`, and needs no
    moderation. A repeated nonce changes nothing and returns id None.
    """
    return _statement_card(
        db, session_id, key=f"{nonce}:i", kind="statement", language=language, source=source, user_id=user_id,
        nonce=nonce, quote_ok=quote_ok, quote_scope=quote_scope, labels=labels, participant_id=participant_id,
        store=lambda person: st.enter_idea(db, session_id=session_id, prompt_id=prompt_id, participant_id=person,
                                           language=language, body=body, table_id=table_id, user_id=user_id))


def enter_votes(
    db: sqlite_utils.Database,
    session_id: int,
    *,
    prompt_id: int,
    votes: dict[int, int],
    language: str,
    source: str,
    user_id: int,
    nonce: str,
    table_id: int | None = None,
    quote_ok: bool = False,
    quote_scope: str | None = None,
    labels: dict[str, str] | None = None,
    participant_id: int | None = None,
) -> Entered:
    """Store one person's votes on a react or ideas question's statements, typed in by staff, with verbal consent.

    As `enter_answer`: a new participant (consent 'staff_verbal') unless `participant_id` continues
    the same person, and then only is there a receipt. The whole form is one transaction and one
    one-time key: a repeated nonce changes nothing and returns `response_id` None; a vote that
    cannot be stored (a statement taken down meanwhile) raises ValueError and stores nothing, not
    even the person. `response_id` holds how many votes were stored.
    """
    return _statement_card(
        db, session_id, key=f"{nonce}:v", kind="vote", language=language, source=source, user_id=user_id,
        nonce=nonce, quote_ok=quote_ok, quote_scope=quote_scope, labels=labels, participant_id=participant_id,
        store=lambda person: st.enter_votes(db, session_id=session_id, prompt_id=prompt_id, participant_id=person,
                                            votes=votes, language=language, source=source, table_id=table_id,
                                            user_id=user_id))


def _statement_card(db: sqlite_utils.Database, session_id: int, *, key: str, kind: str, language: str, source: str,
                    user_id: int, nonce: str, quote_ok: bool, quote_scope: str | None, labels: dict[str, str] | None,
                    participant_id: int | None, store: Callable[[int], int]) -> Entered:
    """Store one staff card (an idea, or a person's votes) in one transaction under the one-time `key`.

    A repeated key changes nothing and returns `response_id` None; a new person gets verbal consent
    and a receipt first; `store(participant_id)` stores the card and returns what `Entered` reports.
    """
    if source not in STAFF_SOURCES:
        raise ValueError(f"Unknown source for staff entry {source!r}")
    receipt = ""
    with transaction(db):
        if one(db, "SELECT 1 FROM submissions WHERE nonce = ?", (key,)) is not None:
            return Entered(participant_id, None, "")
        if participant_id is None:
            participant_id, receipt = _verbal_consent(db, session_id, language=language, source=source, user_id=user_id,
                                                      nonce=nonce, quote_ok=quote_ok, quote_scope=quote_scope, labels=labels)
        stored = store(participant_id)
        db.execute("INSERT INTO submissions (nonce, participant_id, kind, at) VALUES (?, ?, ?, ?)",
                   (key, participant_id, kind, queries.now()))
    return Entered(participant_id, stored, receipt)


def participant_answered(db: sqlite_utils.Database, participant_id: int, prompt_id: int) -> bool:
    """Tell whether a participant already has an answer to a prompt."""
    return one(
        db, "SELECT 1 AS x FROM responses WHERE participant_id = ? AND prompt_id = ?", (participant_id, prompt_id)
    ) is not None


def recent_entries(db: sqlite_utils.Database, session_id: int, user_id: int, limit: int = 10) -> list[dict]:
    """Return the latest answers this staff member typed in for a session, newest first."""
    return _decode(rows(
        db,
        """SELECT r.* FROM responses r JOIN participants p ON p.id = r.participant_id
           WHERE r.session_id = ? AND r.entered_by = ? AND p.withdrawn_at IS NULL
           ORDER BY r.id DESC LIMIT ?""",
        (session_id, user_id, limit),
    ))


def staff_entry_count(db: sqlite_utils.Database, session_id: int) -> int:
    """Count answers typed in by staff for a session."""
    return one(
        db, "SELECT count(*) AS n FROM responses WHERE session_id = ? AND source != 'phone'", (session_id,)
    )["n"]
