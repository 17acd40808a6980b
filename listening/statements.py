"""Statements and votes for "react" and "ideas" questions (design sessions): the queries every side shares.

An idea is a statement of an "ideas" question: the same moderation, votes, merges and withdrawal.
A table's notetaker types ideas in for the people at the table (`enter_idea`), tagged with the table.

A react question shows residents short statements one at a time; each answers Agree (1),
Disagree (-1) or Pass (0). Staff seed statements (with translations into the session's
languages); residents may propose their own, which wait for a facilitator's decision before
anyone else sees them. A vote is stored once per form (its one-time key goes in `submissions`,
as answers' do) and a new form replaces the earlier vote on the same statement.
Functions take `db` first; views never assemble SQL.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from .db import one, rows, transaction
from .queries import now

AGREE, DISAGREE, PASS = 1, -1, 0
VOTES = {"agree": AGREE, "disagree": DISAGREE, "pass": PASS}
STATUSES = ("pending", "approved", "declined")
ORIGINS = ("staff", "resident", "theme", "insight", "hmw")
MAX_STATEMENT_LENGTH = 280
# A resident's own statements (or ideas) waiting for the team's review on one question: one phone must not fill
# the review queue (it posted 150 in a few seconds before votes and statements were rate-limited too).
MAX_WAITING = 10


class TooManyWaiting(ValueError):
    """The resident already has MAX_WAITING statements waiting for review on this question."""


@dataclass(frozen=True)
class Cast:
    """The outcome of a vote or a proposed statement: what was stored, and whether this copy was a repeat."""

    id: int | None
    duplicate: bool


def _react_prompt(db: sqlite_utils.Database, session_id: int, prompt_id: int) -> None:
    """Raise ValueError unless the prompt is a react or ideas question of this session."""
    if one(db, "SELECT 1 FROM prompts WHERE id = ? AND session_id = ? AND kind IN ('react', 'ideas')",
           (prompt_id, session_id)) is None:
        raise ValueError("That prompt is not a react or ideas question of this session")


def _open_participant(db: sqlite_utils.Database, session_id: int, participant_id: int) -> None:
    """Raise ValueError unless the participant belongs to this session and has not withdrawn."""
    owner = one(db, "SELECT session_id, withdrawn_at FROM participants WHERE id = ?", (participant_id,))
    if owner is None or owner["session_id"] != session_id or owner["withdrawn_at"]:
        raise ValueError("This participant cannot take part in this session")


def add_statement(
    db: sqlite_utils.Database, session_id: int, prompt_id: int, *, language: str, body: str,
    translations: dict[str, str] | None = None, created_by: int | None = None,
    origin: str = "staff", origin_id: int | None = None,
) -> int:
    """Seed an approved statement written in `language`, with staff translations into other languages."""
    if origin not in ORIGINS or origin == "resident":
        raise ValueError(f"Staff cannot add a statement of origin {origin!r}")
    body = body.strip()
    if not body:
        raise ValueError("A statement needs words")
    with transaction(db):
        _react_prompt(db, session_id, prompt_id)
        stamp = now()
        statement_id = db.execute(
            """INSERT INTO statements (session_id, prompt_id, language, body, status, origin, origin_id,
                   created_by, created_at, decided_by, decided_at)
               VALUES (?, ?, ?, ?, 'approved', ?, ?, ?, ?, ?, ?)""",
            (session_id, prompt_id, language, body, origin, origin_id, created_by, stamp, created_by, stamp),
        ).lastrowid
        for code, text in (translations or {}).items():
            if code != language and text.strip():
                _set_translation(db, statement_id, code, text.strip(), stamp)
    return statement_id


def _set_translation(db: sqlite_utils.Database, statement_id: int, language: str, body: str, stamp: str) -> None:
    """Store (or replace, or with an empty body remove) one translation inside the caller's transaction."""
    if not body:
        db.execute("DELETE FROM statement_texts WHERE statement_id = ? AND language = ?", (statement_id, language))
        return
    db.execute(
        """INSERT INTO statement_texts (statement_id, language, body, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (statement_id, language) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at""",
        (statement_id, language, body, stamp),
    )


def set_translations(db: sqlite_utils.Database, statement_id: int, translations: dict[str, str]) -> None:
    """Replace a statement's staff translations (an empty text removes one); its original words never change."""
    with transaction(db):
        found = one(db, "SELECT language FROM statements WHERE id = ?", (statement_id,))
        if found is None:
            raise ValueError("No such statement")
        stamp = now()
        for code, text in translations.items():
            if code != found["language"]:
                _set_translation(db, statement_id, code, (text or "").strip(), stamp)


def propose_statement(
    db: sqlite_utils.Database, *, session_id: int, prompt_id: int, participant_id: int, language: str,
    body: str, nonce: str,
) -> Cast:
    """Store a resident's own statement, waiting for moderation, exactly once per form (raises TooManyWaiting when
    MAX_WAITING of theirs already wait on this question)."""
    body = body.strip()
    if not body or len(body) > MAX_STATEMENT_LENGTH:
        raise ValueError("A statement needs words, and no more than the limit")
    with transaction(db):
        if one(db, "SELECT 1 FROM submissions WHERE nonce = ?", (nonce,)) is not None:
            return Cast(None, duplicate=True)
        _open_participant(db, session_id, participant_id)
        _react_prompt(db, session_id, prompt_id)
        waiting = db.execute("SELECT count(*) FROM statements WHERE participant_id = ? AND prompt_id = ? AND status = 'pending'",
                             (participant_id, prompt_id)).fetchone()[0]
        if waiting >= MAX_WAITING:
            raise TooManyWaiting("Too many of this resident's statements wait for review")
        stamp = now()
        statement_id = db.execute(
            """INSERT INTO statements (session_id, prompt_id, language, body, participant_id, status, origin, created_at)
               VALUES (?, ?, ?, ?, ?, 'pending', 'resident', ?)""",
            (session_id, prompt_id, language, body, participant_id, stamp),
        ).lastrowid
        db.execute("INSERT INTO submissions (nonce, participant_id, kind, at) VALUES (?, ?, 'statement', ?)",
                   (nonce, participant_id, stamp))
    return Cast(statement_id, duplicate=False)


def enter_idea(
    db: sqlite_utils.Database, *, session_id: int, prompt_id: int, participant_id: int, language: str, body: str,
    table_id: int | None, user_id: int,
) -> int:
    """Store an idea a notetaker typed in for someone at a table (staff entry), inside the caller's transaction.

    The idea is theirs (`participant_id`, with the consent staff recorded for them), so withdrawal and
    quote permission treat it as a resident's; staff typed it, so it needs no moderation.
    """
    body = body.strip()
    if not body or len(body) > MAX_STATEMENT_LENGTH:
        raise ValueError("An idea needs words, and no more than the limit")
    _check_staff_card(db, session_id=session_id, prompt_id=prompt_id, participant_id=participant_id,
                      table_id=table_id)
    stamp = now()
    return db.execute(
        """INSERT INTO statements (session_id, prompt_id, language, body, participant_id, status, origin, table_id,
               created_by, created_at, decided_by, decided_at)
           VALUES (?, ?, ?, ?, ?, 'approved', 'resident', ?, ?, ?, ?, ?)""",
        (session_id, prompt_id, language, body, participant_id, table_id, user_id, stamp, user_id, stamp),
    ).lastrowid


def decide_statement(db: sqlite_utils.Database, session_id: int, statement_id: int, status: str, *, by_user: int | None) -> bool:
    """Approve or decline a statement of this session; return False if there is no such statement."""
    if status not in ("approved", "declined"):
        raise ValueError(f"Unknown decision {status!r}")
    with transaction(db):
        changed = db.execute(
            "UPDATE statements SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND session_id = ?",
            (status, by_user, now(), statement_id, session_id),
        ).rowcount
    return bool(changed)


def merge_statements(db: sqlite_utils.Database, session_id: int, duplicate_id: int, into_id: int, *,
                     by_user: int | None) -> dict | None:
    """Merge a duplicate statement into another of the same question, in one transaction; None if they cannot be merged.

    Votes follow the merge: a person who voted only on the duplicate now has that vote on the
    statement it joined; a person who voted on both keeps their vote on the one kept. The
    duplicate leaves the vote ('declined', `merged_into` set). Returns how many votes moved and
    how many were dropped as second votes by the same person.
    """
    if duplicate_id == into_id:
        return None
    with transaction(db):
        pair = {row["id"]: row for row in rows(
            db, "SELECT id, prompt_id, status FROM statements WHERE id IN (?, ?) AND session_id = ?",
            (duplicate_id, into_id, session_id))}
        if len(pair) != 2 or pair[duplicate_id]["prompt_id"] != pair[into_id]["prompt_id"] \
                or pair[into_id]["status"] != "approved" or pair[duplicate_id]["status"] == "declined":
            return None
        moved = db.execute(
            """UPDATE votes SET statement_id = ? WHERE statement_id = ?
               AND participant_id NOT IN (SELECT participant_id FROM votes WHERE statement_id = ?)""",
            (into_id, duplicate_id, into_id)).rowcount
        dropped = db.execute("DELETE FROM votes WHERE statement_id = ?", (duplicate_id,)).rowcount
        db.execute("UPDATE statements SET status = 'declined', merged_into = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                   (into_id, by_user, now(), duplicate_id))
    return {"moved": moved, "dropped": dropped}


def cast_vote(
    db: sqlite_utils.Database, *, session_id: int, participant_id: int, statement_id: int, vote: int,
    nonce: str, language: str, source: str = "phone",
) -> Cast:
    """Store (or change) a participant's vote on a statement, exactly once per form.

    Only approved statements (or the participant's own, still waiting) can be voted on.
    """
    with transaction(db):
        # The three checks in one statement (one read of the write transaction's snapshot, not three).
        checked = db.execute(
            """SELECT EXISTS (SELECT 1 FROM submissions WHERE nonce = ?) AS seen,
                      p.id AS participant, p.session_id AS owner_session, p.withdrawn_at,
                      s.id AS statement, s.prompt_id, s.status, s.participant_id AS author
               FROM (SELECT 1) LEFT JOIN participants p ON p.id = ?
               LEFT JOIN statements s ON s.id = ? AND s.session_id = ?""",
            (nonce, participant_id, statement_id, session_id),
        ).fetchone()
        if checked["seen"]:
            return Cast(None, duplicate=True)
        if checked["participant"] is None or checked["owner_session"] != session_id or checked["withdrawn_at"]:
            raise ValueError("This participant cannot take part in this session")
        statement = None if checked["statement"] is None else {
            "prompt_id": checked["prompt_id"], "status": checked["status"], "participant_id": checked["author"]}
        vote_id = _store_vote(db, session_id=session_id, participant_id=participant_id, statement_id=statement_id,
                              vote=vote, language=language, source=source, statement=statement)
        db.execute("INSERT INTO submissions (nonce, participant_id, kind, at) VALUES (?, ?, 'vote', ?)",
                   (nonce, participant_id, now()))
    return Cast(vote_id, duplicate=False)


def enter_votes(
    db: sqlite_utils.Database, *, session_id: int, prompt_id: int, participant_id: int, votes: dict[int, int],
    language: str, source: str, table_id: int | None, user_id: int,
) -> int:
    """Store the votes a notetaker typed in for one person on one question (staff entry), inside the caller's transaction.

    Each vote is checked as a resident's own is (`_store_vote`: agree, disagree or pass, on an
    approved statement), and only approved statements of `prompt_id` count: a person typed in by
    staff cannot vote on a statement still waiting. The votes carry the table and who typed them.
    Returns how many were stored; raises ValueError (storing nothing, the caller's transaction
    rolls back) if any cannot be.
    """
    if not votes:
        raise ValueError("Staff entry of votes needs at least one vote")
    _check_staff_card(db, session_id=session_id, prompt_id=prompt_id, participant_id=participant_id,
                      table_id=table_id)
    for statement_id, vote in votes.items():
        found = one(db, "SELECT prompt_id, status, participant_id FROM statements WHERE id = ? AND session_id = ?",
                    (statement_id, session_id))
        if found is None or found["prompt_id"] != prompt_id or found["status"] != "approved":
            raise ValueError("That statement cannot be voted on")
        _store_vote(db, session_id=session_id, participant_id=participant_id, statement_id=statement_id, vote=vote,
                    language=language, source=source, table_id=table_id, entered_by=user_id, statement=found)
    return len(votes)


def _check_staff_card(db: sqlite_utils.Database, *, session_id: int, prompt_id: int, participant_id: int,
                      table_id: int | None) -> None:
    """Refuse a notetaker's card unless its person may take part, its question takes statements and its table is the session's.

    The same three checks for an idea and for votes typed in; each raises ValueError, so the
    caller's transaction stores nothing.
    """
    _open_participant(db, session_id, participant_id)
    _react_prompt(db, session_id, prompt_id)
    if table_id is not None and one(db, "SELECT 1 FROM session_tables WHERE id = ? AND session_id = ?",
                                    (table_id, session_id)) is None:
        raise ValueError("That table is not one of this session's")


def _store_vote(db: sqlite_utils.Database, *, session_id: int, participant_id: int, statement_id: int, vote: int,
                language: str, source: str, table_id: int | None = None, entered_by: int | None = None,
                statement: dict | None = None) -> int:
    """Insert or replace one vote inside the caller's transaction, with the checks every vote gets; return its id.

    Agree (1), disagree (-1) or pass (0), on an approved statement of the session (or the voter's
    own, still waiting). A changed vote keeps where it was first cast (its source) and takes the new
    language, and, when staff typed it, the new table and typist. `statement` is the statement's
    prompt_id, status and author when the caller has already read them (a resident's vote reads them
    with its other checks in one statement).
    """
    if vote not in (AGREE, DISAGREE, PASS):
        raise ValueError("A vote is 1, -1 or 0")
    found = statement or one(db, "SELECT prompt_id, status, participant_id FROM statements WHERE id = ? AND session_id = ?",
                             (statement_id, session_id))
    if found is None or not (found["status"] == "approved" or found["participant_id"] == participant_id):
        raise ValueError("That statement cannot be voted on")
    stamp = now()
    # A resident's own vote names no table nor typist, so it stays writable on a schema from before m030.
    staff = {"table_id": table_id, "entered_by": entered_by} if entered_by is not None else {}
    columns = "".join(f", {name}" for name in staff)
    marks = ", ?" * len(staff)
    keep = "".join(f", {name} = coalesce(excluded.{name}, {name})" for name in staff)
    return db.execute(
        f"""INSERT INTO votes (session_id, prompt_id, statement_id, participant_id, vote, language, source{columns},
                created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?{marks}, ?, ?)
            ON CONFLICT (participant_id, statement_id) DO UPDATE SET
                vote = excluded.vote, language = excluded.language{keep}, updated_at = excluded.updated_at
            RETURNING id""",
        (session_id, found["prompt_id"], statement_id, participant_id, vote, language, source, *staff.values(),
         stamp, stamp),
    ).fetchone()[0]


def statements_for_prompt(db: sqlite_utils.Database, prompt_id: int, *, status: str | None = None) -> list[dict]:
    """Return a react question's statements in the order they were added, each with its translations."""
    where, params = ("s.prompt_id = ?", (prompt_id,)) if status is None else ("s.prompt_id = ? AND s.status = ?", (prompt_id, status))
    found = rows(db, f"""SELECT s.*, c.quote_ok AS author_quote_ok, c.quote_scope AS author_quote_scope,
                                 t.name AS table_name, t.language AS table_language
                          FROM statements s LEFT JOIN consents c ON c.participant_id = s.participant_id
                          LEFT JOIN session_tables t ON t.id = s.table_id
                          WHERE {where} ORDER BY s.id""", params)
    texts = rows(
        db, "SELECT t.* FROM statement_texts t JOIN statements s ON s.id = t.statement_id WHERE s.prompt_id = ?",
        (prompt_id,),
    )
    by_statement: dict[int, dict[str, str]] = {}
    for text in texts:
        by_statement.setdefault(text["statement_id"], {})[text["language"]] = text["body"]
    for statement in found:
        statement["translations"] = by_statement.get(statement["id"], {})
    return found


def words_allowed(statement: dict, where: str) -> bool:
    """Tell whether a statement's words may go to the room's screen (`where` "screen") or into reports ("reports").

    Staff wrote (or carried over from a synthesis) every statement without an author; a resident
    offered theirs to the other phones only, so it goes further only as far as their quote
    permission does: the screen with 'screen_and_reports', reports with any quote permission.
    """
    if statement.get("participant_id") is None:
        return True
    if not statement.get("author_quote_ok"):
        return False
    return where != "screen" or statement.get("author_quote_scope") == "screen_and_reports"


def statements_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return every statement of a session (all its react and ideas questions), oldest first, with translations."""
    prompt_ids = [r["id"] for r in rows(
        db, "SELECT id FROM prompts WHERE session_id = ? AND kind IN ('react', 'ideas') ORDER BY position, id", (session_id,))]
    return [s for pid in prompt_ids for s in statements_for_prompt(db, pid)]


def statement_in_session(db: sqlite_utils.Database, session_id: int, statement_id: int) -> dict | None:
    """Return one statement (with translations) only if it belongs to this session."""
    found = one(db, "SELECT * FROM statements WHERE id = ? AND session_id = ?", (statement_id, session_id))
    if found is not None:
        found["translations"] = {r["language"]: r["body"] for r in rows(
            db, "SELECT language, body FROM statement_texts WHERE statement_id = ?", (statement_id,))}
    return found


def shown_text(statement: dict, language: str) -> tuple[str, bool]:
    """Return the words to show in `language` and whether they are a staff translation (not the original)."""
    if statement["language"] != language and statement["translations"].get(language):
        return statement["translations"][language], True
    return statement["body"], False


def votes_of(db: sqlite_utils.Database, participant_id: int, prompt_id: int) -> dict[int, int]:
    """Return a participant's votes on a react question: statement id -> vote."""
    return {r["statement_id"]: r["vote"] for r in rows(
        db, "SELECT statement_id, vote FROM votes WHERE participant_id = ? AND prompt_id = ?", (participant_id, prompt_id))}


def votes_for_prompt(db: sqlite_utils.Database, prompt_id: int) -> list[tuple[int, int, int]]:
    """Return every vote on a react question's approved statements as (participant, statement, vote), oldest change first."""
    return [(r["participant_id"], r["statement_id"], r["vote"]) for r in rows(
        db,
        """SELECT v.participant_id, v.statement_id, v.vote FROM votes v JOIN statements s ON s.id = v.statement_id
           WHERE v.prompt_id = ? AND s.status = 'approved' ORDER BY v.updated_at, v.id""",
        (prompt_id,),
    )]


def votes_for_prompt_in_chunks(db: sqlite_utils.Database, prompt_id: int, *, chunk: int = 50_000) -> list[tuple[int, int, int]]:
    """Return what `votes_for_prompt` returns, read `chunk` votes at a time (each read its own short snapshot), for the
    job consumer's opinion groups: one read of 875,000 votes held a snapshot for 8 s, and a withdrawal's checkpoint
    (which truncates the write-ahead log) waited for it while residents' votes waited for the checkpoint.

    A vote changed during the reads is read once, old or new; a vote deleted during them is for the caller to
    notice (`vote_totals`' `removed` before and after)."""
    approved = {r[0] for r in db.execute("SELECT id FROM statements WHERE prompt_id = ? AND status = 'approved'", (prompt_id,))}
    found: list[tuple] = []
    after = (0, 0)
    while True:
        batch = db.execute(
            """SELECT statement_id, id, updated_at, participant_id, vote FROM votes
               WHERE prompt_id = ? AND (statement_id, id) > (?, ?) ORDER BY statement_id, id LIMIT ?""",
            (prompt_id, *after, chunk)).fetchall()
        if not batch:
            break
        after = (batch[-1][0], batch[-1][1])
        found.extend(tuple(r) for r in batch if r[0] in approved)
    found.sort(key=lambda r: (r[2], r[1]))  # oldest change first, as `votes_for_prompt` orders them
    return [(participant, statement, vote) for statement, _id, _at, participant, vote in found]


def vote_tallies(db: sqlite_utils.Database, prompt_id: int) -> dict[int, tuple[int, int, int]]:
    """Return each approved statement's (agree, disagree, pass) vote counts, read from the counts the triggers keep
    (m042), not from the votes: the same numbers as the engine's tallies of `votes_for_prompt`."""
    found: dict[int, list[int]] = {}
    for r in db.execute(
        """SELECT c.statement_id, c.vote, c.n FROM vote_counts c JOIN statements s ON s.id = c.statement_id
           WHERE c.prompt_id = ? AND s.status = 'approved'""",
        (prompt_id,),
    ):
        found.setdefault(r[0], [0, 0, 0])[{1: 0, -1: 1, 0: 2}[r[1]]] += r[2]
    return {sid: (a, d, p) for sid, (a, d, p) in found.items()}


def vote_totals(db: sqlite_utils.Database, prompt_id: int) -> dict:
    """Return a question's kept totals (m043): `voters` (people with a vote on an approved statement), `votes` (votes on
    approved statements), `version` (rises with every change of a vote or of which statements are approved) and
    `removed` (rises with every deleted vote: a withdrawal, an erasure). Reads a few kept rows, never the votes."""
    found = one(db, "SELECT voters, version, removed FROM vote_totals WHERE prompt_id = ?", (prompt_id,))
    votes = sum(sum(counts) for counts in vote_tallies(db, prompt_id).values())
    return {"voters": found["voters"] if found else 0, "votes": votes,
            "version": found["version"] if found else 0, "removed": found["removed"] if found else 0}


def voted_among(db: sqlite_utils.Database, prompt_id: int, participant_ids: Iterable[int]) -> set[int]:
    """Return those of these people who have a vote on one of the question's approved statements (kept by m043)."""
    wanted = sorted({int(p) for p in participant_ids})
    if not wanted:
        return set()
    return {r[0] for r in db.execute(
        "SELECT participant_id FROM vote_people WHERE prompt_id = ? AND participant_id IN (SELECT value FROM json_each(?))",
        (prompt_id, json.dumps(wanted)))}


def vote_origins(db: sqlite_utils.Database, prompt_id: int) -> dict[tuple[int, int], tuple[str, str]]:
    """Return where each vote on a question came from: (participant, statement) -> (source, table typed in at or '')."""
    return {(r["participant_id"], r["statement_id"]): (r["source"], r["table_name"] or "") for r in rows(
        db,
        """SELECT v.participant_id, v.statement_id, v.source, t.name AS table_name
           FROM votes v LEFT JOIN session_tables t ON t.id = v.table_id WHERE v.prompt_id = ?""",
        (prompt_id,),
    )}


def votes_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return every vote of a session with its prompt and statement (for exports and backups)."""
    return rows(
        db,
        """SELECT v.id, v.prompt_id, v.statement_id, v.participant_id, v.vote, v.language, v.source,
                  v.table_id, v.entered_by, v.created_at, v.updated_at
           FROM votes v WHERE v.session_id = ? ORDER BY v.id""",
        (session_id,),
    )


def pending_statements(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return residents' statements waiting for a decision, oldest first."""
    return rows(db, "SELECT * FROM statements WHERE session_id = ? AND status = 'pending' ORDER BY id", (session_id,))


def vote_count(db: sqlite_utils.Database, session_id: int) -> int:
    """Return how many votes a session holds."""
    return one(db, "SELECT count(*) AS n FROM votes WHERE session_id = ?", (session_id,))["n"]



def prompts_reacted_to(db: sqlite_utils.Database, participant_id: int) -> set[int]:
    """Return the react questions on which a participant has voted or proposed a statement."""
    return {r["prompt_id"] for r in rows(
        db,
        """SELECT prompt_id FROM votes WHERE participant_id = ?
           UNION SELECT prompt_id FROM statements WHERE participant_id = ?""",
        (participant_id, participant_id),
    )}


def staff_vote_count(db: sqlite_utils.Database, session_id: int) -> int:
    """Count the votes staff typed in for a session (a table's notetaker, paper cards read out)."""
    return one(db, "SELECT count(*) AS n FROM votes WHERE session_id = ? AND entered_by IS NOT NULL", (session_id,))["n"]
