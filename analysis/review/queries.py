"""Planners' synthesis: the answers the theme engine reads, its stored runs, reviewed themes and
every planner decision, insights and "how might we" statements, reference populations, priority
groups, the residents' results page, and the loader that turns it all into report data.

Only answers that may be shown are ever read here: never a hidden answer (``responses.hidden_at``)
and never one from a participant who withdrew. Quotes come only from participants who allowed
quoting, after redaction by the session's one :class:`analysis.text.Redaction` (see
:func:`session_redaction`), the same one the projector wall and live themes use.

Re-running the engine keeps people's decisions (see :func:`run_themes`):

- an answer a person placed (moved, split off, marked off-topic) stays where it was put;
- an answer in a theme a person marked reviewed stays in that theme;
- every new machine theme is matched to the existing theme whose answers overlap it most
  (Jaccard similarity of their answer sets, at least ``MATCH_THRESHOLD``, one to one); a matched
  theme keeps its id, its renamed label, its reviewed mark, insights and texts, and takes the
  answers the machine now groups there; an unmatched machine theme becomes a new draft theme;
- a machine-drafted theme that matches nothing and nobody touched is retired; reviewed,
  renamed and person-made themes are never retired by a re-run.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import sqlite_utils

from analysis import assemble
from analysis.assemble import MAX_CHOSEN_QUOTES, SessionData, assemble_report, gettext_with, public_page
from analysis.disclosure import protect_line, threshold_in_use, validate_threshold
from analysis.opinions import (VoteMatrix, compare_priority_group, describe_groups, find_opinion_groups, group_size_table,
                               group_vote_table)
from analysis.redaction import redaction_of
from listening import statements as st
from listening.db import batched_writes, one, others_waited, others_writing, rows, settle, transaction
from listening.queries import (
    SOURCES,
    STATEMENT_KINDS,
    TRANSLATION_COLUMNS,
    TRANSLATION_JOIN,
    add_prompt,
    create_session,
    localized,
    name_drawn_from,
    now,
    prompts_for_session,
    session_by_id,
    store_answer_translation,
    synthesis_settings,
    terms_label,
    texts_for_session,
)

from . import placing

MATCH_THRESHOLD = 0.3
MAX_THEMES = 12
SEED = 0
PUBLIC_FIELDS = ("label", "we_did", "summary")


# --- settings ---------------------------------------------------------------------------------


def settings(db: sqlite_utils.Database, session_id: int) -> dict:
    """Return a session's synthesis settings (scope, names to redact, threshold, publication)."""
    found = synthesis_settings(db, session_id)
    # Counts below 10 are hidden everywhere: a threshold stored before the floor was 10 is raised.
    found["threshold"] = threshold_in_use(found["threshold"])
    return found


def save_settings(db: sqlite_utils.Database, session_id: int, **changes) -> None:
    """Change a session's synthesis settings: prompt_ids, names, threshold, published (with published_by)."""
    allowed = {"prompt_ids", "names", "threshold", "published", "published_by"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Unknown synthesis settings: {sorted(unknown)}")
    if "threshold" in changes:
        changes["threshold"] = validate_threshold(int(changes["threshold"]))
    if "prompt_ids" in changes:
        changes["prompt_ids"] = json.dumps(sorted(int(p) for p in changes["prompt_ids"]))
    stamp = now()
    if "published" in changes:
        changes["published"] = int(bool(changes["published"]))
        changes["published_at"] = stamp if changes["published"] else None
    with transaction(db):
        db.execute(
            "INSERT INTO synthesis_settings (session_id, updated_at) VALUES (?, ?) ON CONFLICT (session_id) DO NOTHING",
            (session_id, stamp),
        )
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            db.execute(f"UPDATE synthesis_settings SET {assignments}, updated_at = ? WHERE session_id = ?",
                       (*changes.values(), stamp, session_id))


# --- redaction ----------------------------------------------------------------------------------


def session_redaction(db: sqlite_utils.Database, session_id: int):
    """Return the one redaction every screen, report and page applies to this session's answers."""
    return redaction_of(texts_for_session(db, session_id), settings(db, session_id)["name_list"])


# --- answers the engine reads -----------------------------------------------------------------


def _has_column(db: sqlite_utils.Database, table: str, column: str) -> bool:
    """Tell whether a table has a column (moderation arrived in a later migration)."""
    return any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})").fetchall())


def visible_filter(db: sqlite_utils.Database, alias: str = "r") -> str:
    """Return the SQL condition that keeps hidden answers out (empty if moderation is not installed)."""
    return f" AND {alias}.hidden_at IS NULL" if _has_column(db, "responses", "hidden_at") else ""


def open_prompts(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's open-answer prompts, in order."""
    return [p for p in prompts_for_session(db, session_id) if p["kind"] == "open"]


def scope_prompt_ids(db: sqlite_utils.Database, session_id: int, chosen: Sequence[int] | None = None) -> list[int]:
    """Return the open prompts analysed: the chosen ones that exist, or every open prompt."""
    available = [p["id"] for p in open_prompts(db, session_id)]
    chosen = settings(db, session_id)["prompt_ids"] if chosen is None else chosen
    picked = [pid for pid in available if pid in set(chosen)]
    return picked or available


def open_answers(db: sqlite_utils.Database, session_id: int, prompt_ids: Sequence[int] | None = None) -> list[dict]:
    """Return the visible open answers of a session (not hidden, not withdrawn, not blank), oldest first."""
    columns, found = open_answer_rows(db, session_id, prompt_ids)
    return [dict(zip(columns, row)) for row in found]


def open_answer_rows(db: sqlite_utils.Database, session_id: int,
                     prompt_ids: Sequence[int] | None = None) -> tuple[tuple[str, ...], list[tuple]]:
    """Return `open_answers` as its column names and one plain tuple per answer: a theme run reads 200,000 of them,
    and a dict each was half of reading them (0.7 of 1.4 s of CPU, issue 19)."""
    prompt_ids = scope_prompt_ids(db, session_id) if prompt_ids is None else list(prompt_ids)
    if not prompt_ids:
        return (), []
    marks = ", ".join("?" for _ in prompt_ids)
    cursor = db.conn.cursor()
    cursor.row_factory = None
    cursor.execute(
        f"""SELECT r.id, r.prompt_id, r.participant_id, r.language, r.source, r.text, r.created_at,
                   coalesce(c.quote_ok, 0) AS quote_ok, p.source AS participant_source,
                   {TRANSLATION_COLUMNS}, tbl.name AS table_name
            FROM responses r
            JOIN participants p ON p.id = r.participant_id
            LEFT JOIN consents c ON c.participant_id = p.id
            {TRANSLATION_JOIN}
            LEFT JOIN session_tables tbl ON tbl.id = r.table_id
            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
              AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks})
              {visible_filter(db)}
            ORDER BY r.id""",
        (session_id, *prompt_ids),
    )
    try:
        return tuple(column[0] for column in cursor.description), cursor.fetchall()
    finally:
        cursor.close()


def choice_answers(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return the visible answers to choice and scale questions (not skipped, not hidden, not withdrawn), with choices decoded."""
    found = rows(
        db,
        f"""SELECT r.id, r.prompt_id, r.participant_id, r.choices, r.number
            FROM responses r
            JOIN participants p ON p.id = r.participant_id
            JOIN prompts q ON q.id = r.prompt_id
            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
              AND q.kind IN ('single', 'multiple', 'scale') {visible_filter(db)}
            ORDER BY r.id""",
        (session_id,),
    )
    for row in found:
        row["choices"] = json.loads(row["choices"]) if row["choices"] else []
    return found


def participant_segments(db: sqlite_utils.Database, session_id: int) -> dict[int, dict[int, int]]:
    """Return each taking-part participant's "about you" answers: {participant: {prompt: option}}."""
    found: dict[int, dict[int, int]] = defaultdict(dict)
    # The first choice is taken in SQL and the rows read as tuples: 100,000 residents' answers without a JSON parse each.
    for participant_id, prompt_id, first in db.execute(
        f"""SELECT r.participant_id, r.prompt_id, json_extract(r.choices, '$[0]') FROM responses r
            JOIN prompts q ON q.id = r.prompt_id JOIN participants p ON p.id = r.participant_id
            WHERE r.session_id = ? AND q.kind = 'about' AND r.skipped = 0 AND p.withdrawn_at IS NULL
              AND r.choices IS NOT NULL AND r.choices != '' {visible_filter(db)}""",
        (session_id,),
    ):
        if first is not None:
            found[participant_id][prompt_id] = first
    return found


def participant_described(db: sqlite_utils.Database, session_id: int) -> dict[int, dict[int, str]]:
    """Return the words each taking-part participant gave with a self-described choice: {participant: {prompt: words}}.

    Only the team's internal data export reads these; no count, theme, quote or public page does.
    """
    if not _has_column(db, "responses", "described"):
        return {}
    found: dict[int, dict[int, str]] = defaultdict(dict)
    for row in rows(
        db,
        f"""SELECT r.participant_id, r.prompt_id, r.described FROM responses r
            JOIN participants p ON p.id = r.participant_id
            WHERE r.session_id = ? AND r.skipped = 0 AND p.withdrawn_at IS NULL
              AND r.described IS NOT NULL AND trim(r.described) != '' {visible_filter(db)}""",
        (session_id,),
    ):
        found[row["participant_id"]][row["prompt_id"]] = row["described"]
    return found


def taking_part(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return the participants who have not withdrawn, with language, source and quote consent."""
    return rows(
        db,
        """SELECT p.id, p.language, p.source, coalesce(c.quote_ok, 0) AS quote_ok FROM participants p
           LEFT JOIN consents c ON c.participant_id = p.id
           WHERE p.session_id = ? AND p.withdrawn_at IS NULL ORDER BY p.id""",
        (session_id,),
    )


# --- runs -----------------------------------------------------------------------------------


def latest_run(db: sqlite_utils.Database, session_id: int) -> dict | None:
    """Return the latest engine run of a session, with the email of who ran it."""
    found = one(
        db,
        """SELECT r.*, u.email FROM theme_runs r LEFT JOIN users u ON u.id = r.created_by
           WHERE r.session_id = ? ORDER BY r.id DESC LIMIT 1""",
        (session_id,),
    )
    if found is not None:
        found["prompt_ids"] = json.loads(found["prompt_ids"])
    return found


def engine_answers(db: sqlite_utils.Database, session_id: int, answers: Iterable[dict]):
    """Turn stored answers into the engine's ``Answer`` objects, with their quote consent.

    An answer whose person did not allow quoting still counts, but its words never become a theme's
    headline, a claim or a quote (its label falls back to key terms). The people's "about you" answers
    are not read: the engine never looks at an answer's segments (issue 19: at 204,000 answers they were
    about 100 MB of small dicts and strings, held by a job's process through the whole run, and 2 s).
    """
    from analysis.themes import stored_answer

    return [stored_answer(a, quotable=bool(a.get("quote_ok"))) for a in answers]


def engine_answers_of_rows(db: sqlite_utils.Database, session_id: int, columns: Sequence[str], found: Sequence[tuple]):
    """Return `engine_answers` of the rows `open_answer_rows` read (the same ``Answer`` objects: a test compares),
    handing it one mapping refilled for each row instead of a dict made for each (issue 19: 2.1 s of CPU at 200,000
    answers before); `engine_answers` reads each row as it comes and keeps nothing of it."""
    at = {name: i for i, name in enumerate(columns)}
    picks = [(name, at[name]) for name in ("id", "participant_id", "text", "language", "translation",
                                           "translation_language", "quote_ok")]
    row: dict = {}

    def each() -> Iterator[dict]:
        """Yield every answer's columns in the one mapping."""
        for values in found:
            for name, i in picks:
                row[name] = values[i]
            yield row

    return engine_answers(db, session_id, each())


def engine_answer(row: dict, *, segments: dict[str, str] | None = None):
    """Turn one stored answer (with its quote consent and translation columns) into the engine's ``Answer``."""
    from analysis.themes import stored_answer

    return stored_answer(row, quotable=bool(row.get("quote_ok")), segments=segments)


def answer_to_translate(db: sqlite_utils.Database, session_id: int, response_id: int) -> dict | None:
    """Return one open answer of this session that staff may translate (visible, not withdrawn, not blank), with its translation."""
    return one(
        db,
        f"""SELECT r.id, r.prompt_id, r.language, r.text, coalesce(c.quote_ok, 0) AS quote_ok,
                   t.text AS translation, t.language AS translation_language, t.created_at AS translated_at, u.email AS translated_by
            FROM responses r
            JOIN participants p ON p.id = r.participant_id
            JOIN prompts q ON q.id = r.prompt_id
            LEFT JOIN consents c ON c.participant_id = p.id
            LEFT JOIN answer_translations t ON t.response_id = r.id
            LEFT JOIN users u ON u.id = t.created_by
            WHERE r.id = ? AND r.session_id = ? AND q.kind = 'open' AND p.withdrawn_at IS NULL AND r.skipped = 0
              AND r.text IS NOT NULL AND trim(r.text) != '' {visible_filter(db)}""",
        (response_id, session_id),
    )


def set_answer_translation(db: sqlite_utils.Database, session_id: int, response_id: int, text: str, *,
                           language: str, user_id: int | None) -> bool:
    """Store (or replace) a staff translation of an answer into ``language``; empty text removes it. Returns whether one is kept.

    The caller checked the answer belongs to the session; the edit goes in the synthesis history (never the words).
    """
    with transaction(db):
        kept = store_answer_translation(db, response_id, text, language=language, user_id=user_id)
        log_edit(db, session_id, user_id=user_id, action="translate" if kept else "untranslate", response_id=response_id)
    return kept


def question_texts(db: sqlite_utils.Database, session_id: int, prompt_ids: Sequence[int]) -> list[str]:
    """Return the texts of these prompts in every language the session has them in (their words never form a theme)."""
    texts = texts_for_session(db, session_id)
    return [body for pid in prompt_ids for body in texts.get(("prompt", pid, "text"), {}).values() if body.strip()]


ANCHOR_PREFIX = "r"  # an anchor's engine id is "r" and the reviewed theme's row id


def anchor_theme_id(engine_id: str) -> int:
    """Return the stored theme id behind an anchor's engine id ("r12" -> 12)."""
    return int(engine_id.removeprefix(ANCHOR_PREFIX))


def reviewed_anchors(db: sqlite_utils.Database, session_id: int, in_scope: set[int]):
    """Return the session's reviewed themes as engine anchors: their label and current answers in scope.

    A re-run then keeps each reviewed theme whole, lets new answers that fit join it, and flags a new
    machine theme that resembles it instead of standing beside it.
    """
    from analysis.themes import Anchor

    reviewed = [t for t in _live_themes(db, session_id).values() if t["kind"] == "theme" and t["reviewed"]]
    if not reviewed:  # every placement is read only when some theme was reviewed (0.7 s at 200,000 answers, issue 19)
        return []
    members = current_members(db, session_id)
    return [Anchor(f"{ANCHOR_PREFIX}{t['id']}", t["label"], tuple(sorted(members.get(t["id"], set()) & in_scope)))
            for t in reviewed if members.get(t["id"], set()) & in_scope]


def _jaccard(a: set, b: set) -> float:
    """Return the Jaccard similarity of two sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def current_members(db: sqlite_utils.Database, session_id: int) -> dict[int, set[int]]:
    """Return each active theme's answer ids."""
    members: dict[int, set[int]] = defaultdict(set)
    for row in rows(
        db,
        """SELECT a.theme_id, a.response_id FROM theme_assignments a JOIN themes t ON t.id = a.theme_id
           WHERE a.session_id = ? AND a.status = 'theme' AND t.retired_at IS NULL""",
        (session_id,),
    ):
        members[row["theme_id"]].add(row["response_id"])
    return members


def active_themes(db: sqlite_utils.Database, session_id: int, *, sizes: bool = True) -> list[dict]:
    """Return a session's live themes (not merged away or retired), the other group last.

    ``sizes=False`` leaves out ``stored_size`` (a count of every placement: 0.1 s at 200,000 answers,
    too long inside a theme run's write lock).
    """
    size = ("(SELECT count(*) FROM theme_assignments a WHERE a.theme_id = t.id AND a.status = 'theme')"
            if sizes else "NULL")
    found = rows(
        db,
        f"""SELECT t.*, u.email AS reviewed_by_email, {size} AS stored_size
           FROM themes t LEFT JOIN users u ON u.id = t.reviewed_by
           WHERE t.session_id = ? AND t.retired_at IS NULL ORDER BY t.kind = 'other', t.id""",
        (session_id,),
    )
    for theme in found:
        theme["top_terms"] = json.loads(theme["top_terms"])
        theme["claims"] = json.loads(theme.get("claims") or "[]")
        theme["subthemes"] = json.loads(theme.get("subthemes") or "[]")
        theme["reviewed"] = theme["reviewed_at"] is not None
    return found


def _live_themes(db: sqlite_utils.Database, session_id: int) -> dict[int, dict]:
    """Return a session's live themes by id (the other group last) with what a run decides by: kind, label, and whether a
    person renamed, shaped or reviewed each; without what the engine stored about them, which `active_themes` reads
    and decodes (every sub-topic's answer ids: 1.35 MB and 0.1 s at 204,000 answers, once inside a run's write lock)."""
    found = rows(db, """SELECT id, kind, label, renamed, manual, reviewed_at FROM themes
                        WHERE session_id = ? AND retired_at IS NULL ORDER BY kind = 'other', id""", (session_id,))
    for theme in found:
        theme["reviewed"] = theme["reviewed_at"] is not None
    return {theme["id"]: theme for theme in found}


def theme_in_session(db: sqlite_utils.Database, session_id: int, theme_id: int) -> dict | None:
    """Return an active theme only if it belongs to this session."""
    for theme in active_themes(db, session_id):
        if theme["id"] == theme_id:
            return theme
    return None


def other_theme_id(db: sqlite_utils.Database, session_id: int, run_id: int | None = None) -> int:
    """Return the id of the session's "Other / unclear" group, creating it if needed."""
    found = one(db, "SELECT id FROM themes WHERE session_id = ? AND kind = 'other' AND retired_at IS NULL", (session_id,))
    if found is not None:
        return found["id"]
    from analysis import messages

    stamp = now()
    return db.execute(
        """INSERT INTO themes (session_id, run_id, kind, label, machine_label, created_at, updated_at)
           VALUES (?, ?, 'other', ?, ?, ?, ?)""",
        (session_id, run_id, messages.OTHER_LABEL, messages.OTHER_LABEL, stamp, stamp),
    ).lastrowid


# Theme assignments are written at most this many at a time, each batch its own short transaction, so a
# resident's answer never waits long for SQLite's write lock while a big session is re-run (issue 19). The
# counts move once per batch (`placing.counted_once`), not once per row, so a batch of 20 ms holds hundreds.
ASSIGNMENT_BATCH = 4000
# Answers leaving a run's scope (another question chosen, or hidden since) are unplaced this many at a time.
LEAVING_BATCH = 500
# A batch should hold the write lock about this long: the next batch is sized from the last one's time (at most
# twice or half as big, up to ASSIGNMENT_BATCH), so a busy or niced process descheduled inside its transaction
# writes smaller ones.
LOCK_HOLD_S = 0.02
# After a batch another writer waited for, and otherwise every this many batches, the run copies the write-ahead
# log into the database itself (listening.db.settle), outside the lock. A batch is committed without an fsync, so
# the next resident's commit (synchronous FULL) fsyncs every batch written since the last settle with its own
# answer: on a busy disk residents waited 0.3 to 1.8 s in COMMIT during the placements (1 December, every 10
# batches). Done by a second connection while the next batch was written, a resident's commit found the batch not
# yet copied and copied it itself, inside the lock: answers waited up to 11 s (2 December, docs/scaling.md). Since
# place20 (2 December) a batch someone waited for is always settled (residents are answering: as before), and with
# nobody waiting every 4 batches (about 1,000 pages, 4 MB, for the first resident to come to fsync), which copies a
# page the batches of one block all write (PLACEMENT_BLOCK) once, not four times: the checkpoints' share of the
# placements went from about 9 s to 4 s at load 4 (docs/scaling.md).
SETTLE_EVERY = 4
# After a batch another writer waited for, the run leaves the lock free as long as it held it, up to this long:
# SQLite's busy handler retries a waiting answer after 1, 2, 5, 10, 15, 20 ms..., and back-to-back batches left it
# no gap to take (waits of 1 s traced). A gap of 5 ms (answers waiting on Chorus's turn look again every
# millisecond) made the run's placements faster but let more answers wait over 100 ms for the lock at load 6 (3 of
# 1,643, the longest 676 ms, against 2 of 1,160 and 120 ms with this gap: 2 December, docs/scaling.md), so it was
# not kept. Until place20 the gap followed every batch, about 11 to 27 s of a 217,000-answer run's placements
# with nobody waiting; now only a batch someone waited for (`listening.db.others_waited`: a waiting writer,
# in another process or another thread, says so in the lock file every millisecond) is followed by one.
LOCK_GAP_S = 4 * LOCK_HOLD_S
# Within that gap the run goes on as soon as the writers it waited for are done (speed21, 2 December): it looks every
# millisecond whether another writer has the lock or said it waited for it (`listening.db.others_writing`), and goes on
# once nobody has for half the gap, and at least this long (a resident's two transactions, consent then answer, are a
# millisecond or so apart on a quiet machine; on a busy one the batches, and the moments between a resident's
# transactions, both stretch). With residents answering every 20 ms nearly every batch is one someone waited for, and
# the fixed gap was about half of the placements' time (10.7 of 23.2 s at 204,000 answers): the lock stood free and
# unused once the resident was done. With only 3 ms of quiet, at load 6 to 9, a resident's second transaction more
# often found the next batch begun (55 of 1,260 answers waited over 100 ms, against 25 of 1,934 with the fixed gap).
GIVE_WAY_QUIET_S = 0.003
MIN_ASSIGNMENT_BATCH = 25
# The placements are written in blocks of this many answers by where the engine ranks them (each theme's answers
# from the most typical), each block in answer-id order (`_placement_order`). In answer-id order, as before
# place20, each batch of about 200 answers changed ranks all over the rank index (theme_assignments_by_rank:
# nearly every answer's rank moves in a re-run) and wrote about 2 pages per answer to the log (384 a batch, 1.85
# GB over the run), which the checkpoint then copied; in blocks a batch's new ranks are neighbours in that index
# and its rows share table pages (a block's 16,000 answers over about 3,200 pages): about 1 page per answer
# (216,000 over the run, 2 December; 4,000 and 50,000 gave 257,000 each). The same rows end the same.
PLACEMENT_BLOCK = 16000
# What a run keeps of each answer it read while the engine works: its place, its author (a withdrawal meanwhile)
# and its words (taken out of the run's names if it went meanwhile: `unname_answers`). Every column of 200,000
# rows, kept while the engine worked, was about 200 MB of the job's peak.
KEPT_COLUMNS = ("id", "participant_id", "text", "translation")
# A run that has not finished after this long is taken to have died (a restart); another may start.
RUN_STALE_MINUTES = 30


# How far through the engine each of find_themes's steps ends, counted from the job's start, as measured on a
# 216,933-answer run (2 December, quiet, `bench/big_session.py --profile-run`: steps end at 17.2, 19.5, 41.5, 43.0
# and 44.2 s of 47.6 s; docs/scaling.md): the progress bar and its time estimate follow the work, not the step count.
# Within the third step (the projection of every text outside the sample) the engine reports fractions too.
ENGINE_SHARES = (0.36, 0.41, 0.87, 0.90, 0.93)


def engine_share(done: float) -> float:
    """Return how far through the engine a step's end (`find_themes`'s `on_step`) is: ENGINE_SHARES at a step's end,
    and in between for a fraction of a step (``2.5``: halfway from the second step's end to the third's)."""
    whole = min(int(done), len(ENGINE_SHARES))
    before = ENGINE_SHARES[whole - 1] if whole >= 1 else 0.0
    if whole >= len(ENGINE_SHARES):
        return ENGINE_SHARES[-1]
    return before + (done - whole) * (ENGINE_SHARES[whole] - before)


def engine_warm_up() -> threading.Thread:
    """Import the engine's first libraries (scikit-learn's k-means and SVD) in a thread while the caller reads the
    answers from the database (which lets go of Python's lock while SQLite works): about 1.3 s of CPU and up to 4 s
    of wall on a cold disk at the start of a job's process, which the engine would otherwise wait for. Then read
    WordLlama's tokenizer and weights (`analysis.themes._embedder`, which every run reads): 0.2 s warm, up to 5 s
    when its files are cold (issue 19). Join it before anything forks. A failure is left for the engine to meet and
    report."""

    def load() -> None:
        """Import what the engine imports first, and read WordLlama's files, quietly."""
        try:
            from analysis.themes import _embedder, _kmeans_class, _truncated_svd_class

            _kmeans_class()
            _truncated_svd_class()
            _embedder()
        except Exception:  # noqa: BLE001, S110 - the engine imports them again and says what failed
            pass

    thread = threading.Thread(target=load, name="chorus-engine-imports", daemon=True)
    thread.start()
    return thread


# The engine's thread runs this much lower in CPU priority than the job (see `at_low_priority`).
ENGINE_NICE = 10
_T = TypeVar("_T")


def at_low_priority(work: Callable[[], _T]) -> _T:
    """Run `work()` in a thread that lowers its own CPU priority by ENGINE_NICE; return its result or raise its error.

    The engine computes for minutes; the run's writes then hold SQLite's write lock, which residents' answers
    wait for. A whole job run at low priority (`nice`) is descheduled inside those short transactions on a busy
    machine, and residents waited for it: up to 3.2 s for the lock at 100,000 residents (2 December,
    docs/scaling.md). Linux sets priorities per thread, and lowers one without privileges but never raises it
    again, so only the engine's own thread is lowered and the writes stay at the job's priority. The caller
    waits; its connection is used by the thread meanwhile (progress reports), never by both at once.
    """
    box: dict = {}

    def run() -> None:
        """Lower this thread's priority, then do the work and keep its result or error."""
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + ENGINE_NICE))
        except (OSError, AttributeError):  # not Linux, or not allowed: the work runs at the job's priority
            pass
        try:
            box["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread as it is (a cancel, an error)
            box["error"] = exc

    thread = threading.Thread(target=run, name="chorus-engine", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


class RunInProgress(RuntimeError):
    """Another theme run of this session is still writing its placements."""


def run_themes(db: sqlite_utils.Database, session_id: int, *, user_id: int | None,
               prompt_ids: Sequence[int] | None = None, seed: int = SEED, progress=None, checkpoint=None) -> dict:
    """Run the theme engine over a session's open answers and merge the result with people's decisions.

    The themes are decided in one short transaction; the answers' placements are then written in
    batches of ASSIGNMENT_BATCH (never moving an answer a person placed meanwhile), and the run is
    marked finished. One run per session at a time: a second raises RunInProgress.

    `progress(done, total, cancellable=True)` (a background job's report) hears how far the run is:
    the engine counts as four fifths, the placements as the last fifth. It may raise to cancel the
    run up to the moment the themes are written; after that the run finishes its placements, so a
    session is never left half re-placed. Answers withdrawn while the engine ran are not placed, and
    their words are taken out of the names and claims the run stores (`unname_answers`).

    `checkpoint` (a background job's `listening.jobs.Context`) keeps what the engine found in the job's
    file (`keep`) and where the placements are in the job's row (`mark`, in each batch's transaction), so a
    run interrupted by a restart continues with `resume_themes` instead of running the engine again.
    """
    from analysis.themes import find_themes

    report = progress or (lambda done, total, cancellable=True: None)
    if _run_in_progress(db, session_id):
        raise RunInProgress(f"A theme run of session {session_id} is in progress")
    if prompt_ids is not None:
        with batched_writes(db):  # no fsync inside the lock (then the run puts it on disk itself), as its other writes
            save_settings(db, session_id, prompt_ids=prompt_ids)
    scope = scope_prompt_ids(db, session_id)
    warming = engine_warm_up()
    read_at = now()
    # The collector waits until the engine is done (`_collecting_later`), then leaves aside what the run holds for the
    # placements (`_long_lived_kept_aside`).
    with _collecting_later():
        columns, found = open_answer_rows(db, session_id, scope)
        redaction = session_redaction(db, session_id)
        # A planner reads a dozen themes, not twenty: about one theme per eight answers, at most twelve.
        k_max = min(MAX_THEMES, max(2, len(found) // 8))
        answers = _kept_columns(columns, found)
        anchors = reviewed_anchors(db, session_id, {a["id"] for a in answers})
        total = 5 * len(answers) + 1
        report(0, total)
        given = [engine_answers_of_rows(db, session_id, columns, found)]  # the engine's to let go of (`pop`)
        fingerprint = rows_fingerprint(scope, columns, found)
        del found
        question, main_language = question_texts(db, session_id, scope), session_by_id(db, session_id)["default_language"]
        warming.join()  # before the engine forks: a child must not start with an import half done by another thread
        result = at_low_priority(lambda: find_themes(
            given.pop(), seed=seed, names=redaction.names, vocabulary=redaction.vocabulary, k_max=k_max,
            question=question, main_language=main_language, anchors=anchors,
            on_step=lambda done, steps: report(int(4 * len(answers) * engine_share(done)), total)))
    with _long_lived_kept_aside():
        report(4 * len(answers), total)
        if checkpoint is not None:
            # Ids and words the engine kept, with the answers' fingerprint: a copy of resident data, deleted by an erasure.
            checkpoint.keep({"scope": scope, "seed": seed, "read_at": read_at, "fingerprint": fingerprint, "result": result})
        return _write_run(db, session_id, answers, result, scope=scope, seed=seed, read_at=read_at, user_id=user_id,
                          report=report, checkpoint=checkpoint)


def _kept_columns(columns: Sequence[str], found: Sequence[tuple]) -> list[dict]:
    """Return what a run keeps of each answer it read (KEPT_COLUMNS) from `open_answer_rows`'s tuples."""
    if not found:
        return []
    pick = itemgetter(*(columns.index(key) for key in KEPT_COLUMNS))
    return [dict(zip(KEPT_COLUMNS, pick(row))) for row in found]


@contextmanager
def _collecting_later() -> Iterator[None]:
    """Let Python's cyclic garbage collector wait until the block ends (as it was: a block run with it off stays so).

    Reading a big session's answers makes about a million tracked objects (tuples, dicts, `Answer`s, their segments)
    and the engine millions more (each text's words, rows, keys), none of them in a cycle: at 204,000 answers the
    collections that creation set off walked them for about 6 s of a loaded run (16 full collections, 10 of them while
    the answers were read, and 5,600 younger ones, measured with `gc.callbacks`; issue 19), and found a few dozen
    objects to free. The children the engine forks start with it off too, and exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _long_lived_kept_aside() -> Iterator[None]:
    """Keep every object alive now out of the collector's walks for the block (`gc.freeze`), and give them back after.

    What a run holds for minutes (the answers, the engine's result, imported libraries) is not garbage, but each full
    collection while the placements are written walked it again. Objects kept aside are still freed when nothing
    refers to them; only a cycle among them waits for the end of the block to be collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def answers_fingerprint(scope: Sequence[int], answers: Iterable[dict]) -> str:
    """Return a digest of what an engine run read (its questions and every column of every answer, in order): equal
    only if no answer was added, changed, hidden, translated or withdrawn since, whatever the run itself wrote.

    Each answer's column names and values are taken as Python writes them (`repr`: the rows hold numbers,
    strings and None), about half the time of a JSON encoding of each (1.1 s at 200,000 answers, issue 19).
    """
    digest = hashlib.sha256(json.dumps(list(scope)).encode())
    columns = None
    for answer in answers:
        if columns != tuple(answer):
            columns = tuple(answer)
            digest.update(repr(columns).encode())
        digest.update(repr(tuple(answer.values())).encode())
    return digest.hexdigest()


# Rows whose `repr`s are joined and hashed at once by `rows_fingerprint` (a few MB of text at a time).
FINGERPRINT_CHUNK = 5000


def rows_fingerprint(scope: Sequence[int], columns: Sequence[str], found: Sequence[tuple]) -> str:
    """Return `answers_fingerprint` of the answers `open_answer_rows` read, from its tuples: the same bytes hashed (the
    column names once, then each row's `repr`), joined a chunk at a time instead of one update per answer."""
    digest = hashlib.sha256(json.dumps(list(scope)).encode())
    if found:
        digest.update(repr(tuple(columns)).encode())
    for first in range(0, len(found), FINGERPRINT_CHUNK):
        digest.update("".join(map(repr, found[first:first + FINGERPRINT_CHUNK])).encode())
    return digest.hexdigest()


def resume_themes(db: sqlite_utils.Database, session_id: int, kept: dict, *, user_id: int | None, checkpoint,
                  progress=None) -> dict | None:
    """Continue a theme run a restart interrupted, from what its engine found (`kept`, the job's file) and its last
    committed batch (`checkpoint.checkpoint`); return None, writing nothing, if the answers changed since the engine
    read them (the caller then starts again from the beginning).

    Answers are read again and compared by `answers_fingerprint`: a new, edited, hidden or withdrawn answer
    means the engine's result no longer covers the session, so it is not used.
    """
    scope = list(kept["scope"])
    if scope != scope_prompt_ids(db, session_id):
        return None
    columns, found = open_answer_rows(db, session_id, scope)
    if rows_fingerprint(scope, columns, found) != kept["fingerprint"]:
        return None
    answers = _kept_columns(columns, found)
    del found
    report = progress or (lambda done, total, cancellable=True: None)
    report(4 * len(answers) + int(checkpoint.checkpoint.get("placed") or 0), 5 * len(answers) + 1)
    return _write_run(db, session_id, answers, kept["result"], scope=scope, seed=kept["seed"], read_at=kept["read_at"],
                      user_id=user_id, report=report, checkpoint=checkpoint, resuming=True)


def _write_run(db: sqlite_utils.Database, session_id: int, answers: list[dict], result, *, scope: list[int], seed: int,
               read_at: str, user_id: int | None, report, checkpoint=None, resuming: bool = False) -> dict:
    """Write what the engine found: the themes in one short transaction, then the placements in batches.

    When `resuming` and the themes were written before the restart (the checkpoint names the run), only the
    placements after its last committed batch are written; the rest of the run is as when uninterrupted.
    """
    from analysis.themes import OTHER_ID

    total = 5 * len(answers) + 1
    at = (checkpoint.checkpoint if checkpoint is not None else {}) if resuming else {}
    in_scope = {a["id"] for a in answers}
    gone: list[dict] = []
    if at.get("run_id"):
        # The themes were written before the restart: the run goes on with them (as named, with its own stamp).
        run_id, stamp, target = at["run_id"], at["stamp"], dict(at["target"])
        taken = set(at["taken"])
        everything = _live_themes(db, session_id)
        themes = {tid: everything[tid] for tid in at["before"] if tid in everything}
        existing = _placements(db, session_id)
        # Answers not yet placed are as they were when the run planned (a person's pin or review since counts).
        kept, _matched = _plan_placements(existing, everything, in_scope, result)
        start = int(at.get("placed") or 0)
        # A run begun before the placements were written in blocks (PLACEMENT_BLOCK) goes on in the answers' order.
        order = at.get("order", "answers")
    else:
        stamp = now()
        # Every placement is read before the write lock (about 2 s at 100,000 residents, which answers would
        # wait for); inside it, the placements' counter says whether any moved meanwhile, and only then are
        # they read again.
        seen = _placement_version(db, session_id)
        existing = _placements(db, session_id)
        # What to keep and which drafts the new themes continue is worked out before the write lock too (a
        # second of Python at 200,000 answers, which a niced job made residents wait for); inside, only if a
        # placement moved or a theme changed meanwhile is it worked out again.
        themes_read = _live_themes(db, session_id)
        kept, matched = _plan_placements(existing, themes_read, in_scope, result)
        stored = _stored_details(result.themes, result.subthemes)
        # Committed without an fsync inside the lock, like the placements (the themes' details are megabytes at
        # 200,000 answers: an fsync of them held residents' answers), then put on disk by the run itself (`settle`).
        with batched_writes(db), transaction(db):
            if _run_in_progress(db, session_id):
                raise RunInProgress(f"A theme run of session {session_id} is in progress")
            moved = _placement_version(db, session_id) != seen
            if moved:
                existing = _placements(db, session_id)
            gone = _gone_meanwhile(db, session_id, answers, scope, read_at)
            run_id = db.execute(
                """INSERT INTO theme_runs (session_id, prompt_ids, seed, k_chosen, answer_count, method, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (session_id, json.dumps(scope), seed, result.k_chosen, len(answers), result.method, user_id, stamp),
            ).lastrowid
            themes = _live_themes(db, session_id)
            if moved or _theme_states(themes) != _theme_states(themes_read):
                kept, matched = _plan_placements(existing, themes, in_scope, result)
            target = _store_machine_themes(db, session_id, run_id, result.themes, themes, matched, stamp, stored)
            target[OTHER_ID] = other_theme_id(db, session_id, run_id)
            taken = set(matched.values())
            if gone:
                from listening.queries import unname_answers

                unname_answers(db, session_id, gone)
            if checkpoint is not None:
                # Committed with the themes: a restart from here continues with these rows, never makes them twice.
                checkpoint.mark(run_id=run_id, stamp=stamp, target=target, taken=sorted(taken), before=sorted(themes),
                                placed=0, order="blocks")
        start, order = 0, "blocks"
    try:
        # Answers no longer in scope (another question chosen, or hidden since) leave the synthesis.
        leaving = sorted(set(existing) - in_scope)
        with batched_writes(db):
            for first in range(0, len(leaving), LEAVING_BATCH):
                chunk = leaving[first:first + LEAVING_BATCH]
                with transaction(db), placing.counted_once(db, session_id, chunk):
                    db.conn.executemany("DELETE FROM theme_assignments WHERE response_id = ?", [(rid,) for rid in chunk])
        mark = (lambda placed: checkpoint.mark(placed=placed)) if checkpoint is not None else None
        placing_order = _placement_order(answers, result) if order == "blocks" else answers
        vanished = _place_answers(db, session_id, placing_order, result, kept, target, stamp,
                                  lambda done: report(4 * len(answers) + done, total, cancellable=False),
                                  start=start, mark=mark) or []
        with transaction(db):
            # Answers deleted meanwhile other than by a withdrawal (an import undone) were found batch by batch.
            noticed = {a["id"] for a in gone}
            if any(a["id"] not in noticed for a in vanished):
                from listening.queries import unname_answers

                unname_answers(db, session_id, [a for a in vanished if a["id"] not in noticed])
            _retire_untouched(db, themes, taken, stamp)
            log_edit(db, session_id, user_id=user_id, action="run",
                     detail=json.dumps({"answers": len(answers), "themes": result.k_chosen, "prompts": scope, "seed": seed}))
    finally:
        with transaction(db):
            db.execute("UPDATE theme_runs SET finished_at = ? WHERE id = ?", (now(), run_id))
    return latest_run(db, session_id)


def _theme_states(themes: dict[int, dict]) -> list[tuple[int, bool]]:
    """Return what a run's plan depends on in the live themes: their ids and which are reviewed."""
    return sorted((tid, bool(t["reviewed"])) for tid, t in themes.items())


def _plan_placements(existing: dict[int, dict], themes: dict[int, dict], in_scope: set[int], result) -> tuple[set[int], dict[str, int]]:
    """Return the answers a run keeps where they are (pinned, or in a reviewed theme) and machine theme -> draft it continues."""
    kept = {rid for rid, row in existing.items() if rid in in_scope and (
        row["pinned"] or (row["theme_id"] in themes and themes[row["theme_id"]]["reviewed"]))}
    # Reviewed themes went in as anchors and come back under their own id; only drafts are matched.
    drafts = {tid: t for tid, t in themes.items() if not t["reviewed"]}
    machine = [t for t in result.themes if not t.reviewed]
    members: dict[int, set[int]] = defaultdict(set)  # as current_members, from the placements already read
    for rid, row in existing.items():
        if row["status"] == "theme" and row["theme_id"] in themes:
            members[row["theme_id"]].add(rid)
    matched = _match_machine_themes(machine, drafts, members)
    matched.update({t.id: anchor_theme_id(t.id) for t in result.themes if t.reviewed})
    return kept, matched


def _gone_meanwhile(db: sqlite_utils.Database, session_id: int, answers: Sequence[dict], scope: Sequence[int],
                    since: str) -> list[dict]:
    """Return the answers read for a run whose authors withdrew since `since` (a range on participants_live: cheap
    inside the write transaction even at 200,000 answers, where re-reading every answer's id held the lock 1.3 s),
    those a facilitator hid since (from the small moderation log), and those their authors rewrote or skipped since
    (`replaced_since`, as read): their words must not name what the run stores."""
    from listening.queries import replaced_since

    left = {r["id"] for r in rows(db, "SELECT id FROM participants WHERE session_id = ? AND withdrawn_at >= ?",
                                   (session_id, since))}
    hidden = {r["response_id"] for r in rows(db, "SELECT response_id FROM moderation_log WHERE session_id = ? "
                                                 "AND action = 'hide' AND at >= ?", (session_id, since))}
    gone = [a for a in answers if a["participant_id"] in left or a["id"] in hidden] if left or hidden else []
    taken = {a["id"] for a in gone}
    return gone + [a for a in replaced_since(db, answers, scope, since) if a["id"] not in taken]


def _placements(db: sqlite_utils.Database, session_id: int) -> dict[int, dict]:
    """Return every placement of a session's answers by answer id (its theme, status and whether a person pinned it)."""
    return {r["response_id"]: r for r in rows(
        db, "SELECT response_id, theme_id, pinned, status FROM theme_assignments WHERE session_id = ?", (session_id,))}


def _placement_version(db: sqlite_utils.Database, session_id: int) -> int:
    """Return the session's placements counter (m029): it moves with every placement added, changed or removed."""
    found = db.execute("SELECT version FROM placement_versions WHERE session_id = ?", (session_id,)).fetchone()
    return found[0] if found else 0


def _run_in_progress(db: sqlite_utils.Database, session_id: int) -> bool:
    """Tell whether another run of this session started recently and has not finished writing."""
    cutoff = (datetime.now(timezone.utc) - timedelta(minutes=RUN_STALE_MINUTES)).isoformat(timespec="seconds")
    return one(db, """SELECT 1 FROM theme_runs WHERE session_id = ? AND finished_at IS NULL AND created_at > ?""",
               (session_id, cutoff)) is not None


def _match_machine_themes(machine_themes, themes: dict[int, dict], members: dict[int, set[int]]) -> dict[str, int]:
    """Match machine themes to existing themes by answer overlap, best pairs first, one to one."""
    candidates = [theme_id for theme_id, theme in themes.items() if theme["kind"] == "theme"]
    # Each answer's theme now, so that a machine theme's overlap with every candidate is counted in one pass over its
    # answers (the Jaccard similarity of each pair's sets, as `_jaccard`, was 0.6 s at 200,000 answers, issue 19).
    theme_of = {rid: theme_id for theme_id in candidates for rid in members.get(theme_id, ())}
    pairs = []
    for machine in machine_themes:
        ids = set(machine.answer_ids)
        shared = Counter(theme_of[rid] for rid in ids if rid in theme_of)
        for theme_id in candidates:
            both = shared.get(theme_id, 0)
            union = len(ids) + len(members.get(theme_id, ())) - both
            score = both / union if union else 0.0
            if score >= MATCH_THRESHOLD:
                pairs.append((-score, machine.id, theme_id))
    matched: dict[str, int] = {}
    taken: set[int] = set()
    for _score, machine_id, theme_id in sorted(pairs):
        if machine_id not in matched and theme_id not in taken:
            matched[machine_id] = theme_id
            taken.add(theme_id)
    return matched


def theme_details(machine, subthemes: Sequence = ()) -> dict:
    """Return what the engine says about a theme, as the themes table stores it (m020_theme_details).

    Claims keep their true counts and answer ids (the staff page shows them; reports apply quote
    consent and the disclosure threshold); sub-topics are JSON [{label, size, terms, answer_ids}].
    """
    subs = [{"label": sub.label, "size": sub.size, "terms": list(sub.top_terms), "answer_ids": list(sub.answer_ids)}
            for sub in subthemes if sub.parent == machine.id]
    return {
        "headline_from_translation": int(machine.headline_from_translation),
        "coherence": machine.coherence,
        "mixed": int(machine.mixed),
        "claims": json.dumps([{"text": c.text, "count": c.count, "answer_ids": list(c.answer_ids)} for c in machine.claims],
                             ensure_ascii=False),
        "overlaps_theme_id": anchor_theme_id(machine.overlaps) if machine.overlaps else None,
        "subthemes": json.dumps(subs, ensure_ascii=False),
    }


def _stored_details(machine_themes, subthemes: Sequence = ()) -> dict[str, tuple[str, dict]]:
    """Return each machine theme's stored top terms and details (JSON), worked out before the write lock.

    A theme's sub-topics list every answer id (about 1.3 MB of JSON over 200,000 answers): encoding them
    inside the themes' transaction held the write lock that residents' answers wait for.
    """
    return {machine.id: (json.dumps(list(machine.top_terms), ensure_ascii=False), theme_details(machine, subthemes))
            for machine in machine_themes}


def _store_machine_themes(db: sqlite_utils.Database, session_id: int, run_id: int, machine_themes,
                          themes: dict[int, dict], matched: dict[str, int], stamp: str,
                          stored: dict[str, tuple[str, dict]]) -> dict[str, int]:
    """Update each matched theme (keeping a person's label) or add a new draft, with the engine's details
    (`_stored_details`); return machine id -> theme id."""
    target: dict[str, int] = {}
    for machine in machine_themes:
        terms, details = stored[machine.id]
        if machine.id in matched:
            theme_id = matched[machine.id]
            theme = themes[theme_id]
            keep = theme["renamed"] or theme["reviewed"] or theme["manual"]
            label = theme["label"] if keep else machine.label
            # A reviewed theme's engine label is its own: its machine label stays the engine's headline.
            machine_label = machine.headline if machine.reviewed else machine.label
            db.execute(
                f"""UPDATE themes SET run_id = ?, label = ?, machine_label = ?, top_terms = ?, updated_at = ?,
                      {", ".join(f"{k} = ?" for k in details)} WHERE id = ?""",
                (run_id, label, machine_label, terms, stamp, *details.values(), theme_id),
            )
        else:
            theme_id = db.execute(
                f"""INSERT INTO themes (session_id, run_id, kind, label, machine_label, top_terms, created_at, updated_at,
                      {", ".join(details)}) VALUES (?, ?, 'theme', ?, ?, ?, ?, ?, {", ".join("?" for _ in details)})""",
                (session_id, run_id, machine.label, machine.label, terms, stamp, stamp, *details.values()),
            ).lastrowid
        target[machine.id] = theme_id
    return target


def _placement_order(answers: list[dict], result) -> list[dict]:
    """Return the answers in the order their placements are written: in blocks of PLACEMENT_BLOCK by where the
    engine ranks them (its themes in order, each by typicality), each block by answer id (see PLACEMENT_BLOCK)."""
    position: dict[int, int] = {}
    for group in (*result.themes, result.other):
        for aid in group.answer_ids:
            position.setdefault(aid, len(position))
    last = len(position)
    return sorted(answers, key=lambda a: (position.get(a["id"], last) // PLACEMENT_BLOCK, a["id"]))


def _place_answers(db: sqlite_utils.Database, session_id: int, answers: list[dict], result, kept: set[int],
                   target: dict[str, int], stamp: str, placed=None, *, start: int = 0, mark=None) -> list[dict]:
    """Give every answer its engine rank and quote order; place those nobody kept where the engine put them.

    Written in the order given (`_placement_order`), in batches of up to ASSIGNMENT_BATCH answers, one transaction
    each; an answer a person pinned meanwhile keeps its place, and one withdrawn meanwhile is not placed (each batch
    re-reads which answers are still there). `placed(count)` hears how many answers are written. A resumed run
    starts at answer `start` of the same order; `mark(count)` is called inside each batch's transaction (a job's
    checkpoint, m044). Returns the answers found gone. The batches are written without an fsync at each commit
    (`listening.db.batched_writes`): a resident's answer waits for a batch's writes, never for the disk. After a
    batch another writer waited for (`listening.db.others_waited`) the run copies the log into the database and
    leaves the lock free while others write or wait (`_give_way`: at most as long as the batch held it, LOCK_GAP_S at
    most); after one nobody waited for it goes straight on, copying the log every SETTLE_EVERY batches.
    """
    ranks: dict[int, int] = {}
    quotes: dict[int, int] = {}
    vanished: list[dict] = []
    for group in (*result.themes, result.other):
        for position, aid in enumerate(group.answer_ids):
            ranks[aid] = position
        for position, aid in enumerate(group.quotes):
            quotes[aid] = position
    # The first batch is small: the size grows while batches are quick, rather than shrinking after a long one.
    size, first, number, reported = min(2 * MIN_ASSIGNMENT_BATCH, ASSIGNMENT_BATCH), start, 0, 0.0
    looked, unsettled = time.monotonic_ns(), 0
    with batched_writes(db):
        while first < len(answers):
            batch = answers[first:first + size]
            done = first + len(batch)
            held = _place_batch(db, session_id, batch, result, kept, target, stamp, ranks, quotes, vanished,
                                (lambda: mark(done)) if mark is not None else None)
            first, number, unsettled = first + len(batch), number + 1, unsettled + 1
            looking = time.monotonic_ns()
            waited = others_waited(db, looked)
            looked = looking
            if waited or unsettled >= SETTLE_EVERY:
                settle(db)
                unsettled = 0
            if placed is not None and (time.monotonic() - reported >= 0.5 or first >= len(answers)):
                placed(first)
                reported = time.monotonic()
            grown = int(len(batch) * LOCK_HOLD_S / held) if held > 0 else 2 * len(batch)
            size = max(min(MIN_ASSIGNMENT_BATCH, ASSIGNMENT_BATCH), len(batch) // 2,
                       min(ASSIGNMENT_BATCH, 2 * len(batch), grown))
            if waited and first < len(answers):
                _give_way(db, min(held, LOCK_GAP_S))
    return vanished


_pause = time.sleep  # each look of the gap left to writers who waited (a test notes them)


def _give_way(db: sqlite_utils.Database, longest: float) -> float:
    """Leave the write lock free while other writers have it or wait for it, until nobody has for half of `longest`
    (GIVE_WAY_QUIET_S at least), and at most `longest`; return how long it was left free (seconds)."""
    quiet = max(GIVE_WAY_QUIET_S, longest / 2)
    began = time.monotonic()
    quiet_from = began  # when another writer was last seen with the lock or waiting for it
    while True:
        now_s = time.monotonic()
        if now_s - began >= longest:
            return now_s - began
        if others_writing(db, int(quiet_from * 1e9)):  # has it now, or said it waited since it was last seen
            quiet_from = now_s
        elif now_s - quiet_from >= quiet:
            return now_s - began
        _pause(0.001)


def _place_batch(db: sqlite_utils.Database, session_id: int, batch: list[dict], result, kept: set[int], target: dict[str, int],
                 stamp: str, ranks: dict[int, int], quotes: dict[int, int], vanished: list[dict], mark=None) -> float:
    """Write one batch of placements in one short transaction (see `_place_answers`), with `mark()` in it; add the
    answers found gone to `vanished`; return how long the write lock was held (seconds, wall clock).

    Inside the lock the batch's answers and placements are read again (one query): an answer gone is not placed, a
    placement a person pinned meanwhile is left alone, and one already where the run puts it (theme, status, rank
    and quote) is not written. The counts of the answers whose theme or status changes move once for the batch
    (`placing.counted_once`), not once per row.
    """
    from analysis.themes import CONTENTLESS_ID

    wanted: dict[int, tuple] = {}  # answer id -> (theme, status, rank, quote), or (None, None, rank, quote) if kept
    for answer in batch:
        rid = answer["id"]
        rank, quote = ranks.get(rid, 10**6), quotes.get(rid)
        if rid in kept:
            wanted[rid] = (None, None, rank, quote)
            continue
        machine_id = result.assignment.get(rid, CONTENTLESS_ID)
        status = "contentless" if machine_id == CONTENTLESS_ID else "theme"
        wanted[rid] = (None if status == "contentless" else target[machine_id], status, rank, quote)
    ids = json.dumps(list(wanted))
    start = time.monotonic()
    with transaction(db):
        now_placed = {row[0]: tuple(row[1:]) for row in db.execute(
            """SELECT r.id, a.response_id IS NOT NULL, a.theme_id, a.status, a.pinned, a.rank, a.quote
               FROM responses r LEFT JOIN theme_assignments a ON a.response_id = r.id
               WHERE r.id IN (SELECT value FROM json_each(?))""", (ids,))}
        vanished.extend(a for a in batch if a["id"] not in now_placed)
        added, moved, ranked = [], [], []
        for rid, (theme_id, status, rank, quote) in wanted.items():
            if rid not in now_placed:
                continue
            placed, was_theme, was_status, pinned, was_rank, was_quote = now_placed[rid]
            if status is None:  # kept where it is, as the run planned: its rank and quote only
                if placed and (was_rank, was_quote) != (rank, quote):
                    ranked.append((rank, quote, stamp, rid))
                continue
            if placed and pinned:  # a person placed it since the run planned
                continue
            if not placed:
                added.append((rid, session_id, theme_id, status, rank, quote, stamp))
            elif (was_theme, was_status) != (theme_id, status):
                moved.append((theme_id, status, rank, quote, stamp, rid))
            elif (was_rank, was_quote) != (rank, quote):
                ranked.append((rank, quote, stamp, rid))
        if added or moved or ranked:
            with placing.counted_once(db, session_id, [row[0] for row in added] + [row[-1] for row in moved]):
                db.conn.executemany("UPDATE theme_assignments SET rank = ?, quote = ?, updated_at = ? WHERE response_id = ?",
                                    ranked)
                db.conn.executemany(
                    """UPDATE theme_assignments SET theme_id = ?, status = ?, rank = ?, quote = ?, updated_at = ?
                       WHERE response_id = ?""", moved)
                db.conn.executemany(
                    """INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, quote, updated_at)
                       VALUES (?, ?, ?, ?, 0, ?, ?, ?)""", added)
        if mark is not None:
            mark()
    return time.monotonic() - start


def _retire_untouched(db: sqlite_utils.Database, themes: dict[int, dict], taken: set[int], stamp: str) -> None:
    """Retire machine drafts that nothing matched and nobody touched, once they are empty."""
    for theme_id, theme in themes.items():
        if theme["kind"] != "theme" or theme_id in taken:
            continue
        if theme["reviewed"] or theme["renamed"] or theme["manual"]:
            continue
        left = one(db, "SELECT count(*) AS n FROM theme_assignments WHERE theme_id = ? AND status = 'theme'",
                   (theme_id,))["n"]
        if left == 0:
            db.execute("UPDATE themes SET retired_at = ?, updated_at = ? WHERE id = ?", (stamp, stamp, theme_id))


# --- edits ----------------------------------------------------------------------------------


def log_edit(db: sqlite_utils.Database, session_id: int, *, user_id: int | None, action: str,
             theme_id: int | None = None, response_id: int | None = None, detail: str = "") -> None:
    """Record one planner decision: who, when, what."""
    with transaction(db):
        db.execute(
            "INSERT INTO theme_edits (session_id, theme_id, response_id, action, detail, user_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, theme_id, response_id, action, detail, user_id, now()),
        )


def edit_history(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return every planner decision on a session, newest first, with who made it."""
    return rows(
        db,
        """SELECT e.*, u.email, t.label AS theme_label FROM theme_edits e
           LEFT JOIN users u ON u.id = e.user_id LEFT JOIN themes t ON t.id = e.theme_id
           WHERE e.session_id = ? ORDER BY e.id DESC""",
        (session_id,),
    )


def export_history(db: sqlite_utils.Database, code: str) -> list[dict]:
    """Return every export of a session from the audit log, newest first."""
    return rows(
        db,
        """SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
           WHERE a.action = 'export' AND a.target = ? ORDER BY a.id DESC""",
        (code,),
    )


def rename_theme(db: sqlite_utils.Database, session_id: int, theme_id: int, label: str, *, user_id: int | None,
                 definition: str | None = None) -> None:
    """Give a theme a person's label (and definition); re-runs keep it."""
    label = label.strip()
    if not label:
        raise ValueError("A theme needs a label")
    with transaction(db):
        before = one(db, "SELECT label FROM themes WHERE id = ? AND session_id = ?", (theme_id, session_id))
        if before is None:
            raise ValueError("No such theme in this session")
        db.execute("UPDATE themes SET label = ?, renamed = 1, updated_at = ? WHERE id = ?", (label, now(), theme_id))
        if definition is not None:
            db.execute("UPDATE themes SET definition = ? WHERE id = ?", (definition.strip(), theme_id))
        log_edit(db, session_id, user_id=user_id, action="rename", theme_id=theme_id,
                 detail=json.dumps({"from": before["label"], "to": label}, ensure_ascii=False))


def set_reviewed(db: sqlite_utils.Database, session_id: int, theme_id: int, reviewed: bool, *, user_id: int | None) -> None:
    """Mark a theme reviewed by a person (or back to draft)."""
    stamp = now()
    with transaction(db):
        db.execute(
            "UPDATE themes SET reviewed_at = ?, reviewed_by = ?, updated_at = ? WHERE id = ? AND session_id = ?",
            (stamp if reviewed else None, user_id if reviewed else None, stamp, theme_id, session_id),
        )
        if reviewed:
            # Reviewing a theme flagged as overlapping a reviewed one is the planner's "keep it".
            db.execute("UPDATE themes SET overlaps_theme_id = NULL WHERE id = ? AND session_id = ?", (theme_id, session_id))
        log_edit(db, session_id, user_id=user_id, action="review" if reviewed else "unreview", theme_id=theme_id)


def merge_themes(db: sqlite_utils.Database, session_id: int, keep_id: int, merge_id: int, *, user_id: int | None) -> None:
    """Merge one theme into another: its answers, insights and texts move; it is retired."""
    if keep_id == merge_id:
        raise ValueError("A theme cannot be merged with itself")
    stamp = now()
    with transaction(db):
        db.execute("UPDATE theme_assignments SET theme_id = ?, pinned = 1, updated_at = ? WHERE theme_id = ?",
                   (keep_id, stamp, merge_id))
        db.execute("UPDATE insights SET theme_id = ? WHERE theme_id = ?", (keep_id, merge_id))
        db.execute("UPDATE themes SET retired_at = ?, merged_into = ?, updated_at = ? WHERE id = ?",
                   (stamp, keep_id, stamp, merge_id))
        db.execute("UPDATE themes SET manual = 1, updated_at = ? WHERE id = ?", (stamp, keep_id))
        log_edit(db, session_id, user_id=user_id, action="merge", theme_id=keep_id, detail=json.dumps({"merged": merge_id}))


def new_theme(db: sqlite_utils.Database, session_id: int, label: str, *, user_id: int | None,
              response_ids: Iterable[int] = ()) -> int:
    """Create a theme by hand and move the given answers into it (a split by choosing answers)."""
    label = label.strip()
    if not label:
        raise ValueError("A theme needs a label")
    stamp = now()
    ids = [int(r) for r in response_ids]
    with transaction(db):
        theme_id = db.execute(
            """INSERT INTO themes (session_id, kind, label, machine_label, renamed, manual, created_at, updated_at)
               VALUES (?, 'theme', ?, '', 1, 1, ?, ?)""",
            (session_id, label, stamp, stamp),
        ).lastrowid
        for rid in ids:
            _place(db, session_id, rid, theme_id, "theme", stamp)
        log_edit(db, session_id, user_id=user_id, action="split", theme_id=theme_id,
                 detail=json.dumps({"label": label, "answers": ids}, ensure_ascii=False))
    return theme_id


def split_by_reclustering(db: sqlite_utils.Database, session_id: int, theme_id: int, *, user_id: int | None,
                          parts: int = 2, seed: int = SEED) -> list[int]:
    """Re-cluster one theme's answers into ``parts`` new draft themes; the original is retired."""
    from analysis.themes import find_themes

    members = sorted(current_members(db, session_id).get(theme_id, set()))
    if len(members) < 2 * parts:
        raise ValueError("Too few answers to split this theme")
    answers = [a for a in open_answers(db, session_id) if a["id"] in set(members)]
    redaction = session_redaction(db, session_id)
    result = find_themes(engine_answers(db, session_id, answers), k=parts, seed=seed,
                         names=redaction.names, vocabulary=redaction.vocabulary)
    stamp = now()
    created = []
    with transaction(db):
        for machine in (*result.themes, result.other):
            if not machine.answer_ids:
                continue
            new_id = db.execute(
                """INSERT INTO themes (session_id, kind, label, machine_label, top_terms, manual, created_at, updated_at)
                   VALUES (?, 'theme', ?, ?, ?, 1, ?, ?)""",
                (session_id, machine.label, machine.label, json.dumps(list(machine.top_terms), ensure_ascii=False),
                 stamp, stamp),
            ).lastrowid
            created.append(new_id)
            quotes = {aid: i for i, aid in enumerate(machine.quotes)}
            for rank, rid in enumerate(machine.answer_ids):
                db.execute(
                    "UPDATE theme_assignments SET theme_id = ?, pinned = 1, rank = ?, quote = ?, updated_at = ? WHERE response_id = ?",
                    (new_id, rank, quotes.get(rid), stamp, rid),
                )
        # Contentless members (if any) keep their place in the original theme, which then retires.
        db.execute("UPDATE theme_assignments SET theme_id = NULL, status = 'contentless' WHERE theme_id = ?", (theme_id,))
        db.execute("UPDATE themes SET retired_at = ?, updated_at = ? WHERE id = ?", (stamp, stamp, theme_id))
        log_edit(db, session_id, user_id=user_id, action="recluster", theme_id=theme_id,
                 detail=json.dumps({"into": created}))
    return created


def _place(db: sqlite_utils.Database, session_id: int, response_id: int, theme_id: int | None, status: str, stamp: str) -> None:
    """Put one answer where a person chose, pinned so re-runs leave it there."""
    db.execute(
        """INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at)
           VALUES (?, ?, ?, ?, 1, 0, ?)
           ON CONFLICT (response_id) DO UPDATE SET theme_id = excluded.theme_id, status = excluded.status,
             pinned = 1, quote = NULL, chosen = 0, updated_at = excluded.updated_at""",
        (response_id, session_id, theme_id, status, stamp),
    )


def move_answer(db: sqlite_utils.Database, session_id: int, response_id: int, theme_id: int | None, *,
                user_id: int | None, off_topic: bool = False) -> None:
    """Move an answer to another theme, or mark it off-topic; the move is pinned and logged."""
    stamp = now()
    with transaction(db):
        before = one(db, "SELECT theme_id, status FROM theme_assignments WHERE response_id = ? AND session_id = ?",
                     (response_id, session_id))
        if before is None:
            raise ValueError("That answer is not part of this synthesis")
        _place(db, session_id, response_id, None if off_topic else theme_id, "off_topic" if off_topic else "theme", stamp)
        log_edit(db, session_id, user_id=user_id, action="off_topic" if off_topic else "move",
                 theme_id=theme_id, response_id=response_id,
                 detail=json.dumps({"from": before["theme_id"], "from_status": before["status"]}))




def choose_quotes(db: sqlite_utils.Database, session_id: int, theme_id: int, response_ids: Sequence[int], *,
                  chosen: bool, user_id: int | None) -> None:
    """Choose (or stop choosing) answers of a theme as its quotes; each choice is pinned and logged.

    Only answers in this theme from residents who allowed quoting can be chosen, and a theme
    quotes at most ``MAX_CHOSEN_QUOTES``; otherwise nothing changes and ``QuoteChoiceError`` says why.
    """
    ids = sorted({int(r) for r in response_ids})
    stamp = now()
    with transaction(db):
        marks = ", ".join("?" for _ in ids)
        found = rows(
            db,
            f"""SELECT a.response_id, a.theme_id, a.status, a.chosen, coalesce(c.quote_ok, 0) AS quote_ok
                FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                LEFT JOIN consents c ON c.participant_id = r.participant_id
                WHERE a.session_id = ? AND a.response_id IN ({marks})""",
            (session_id, *ids),
        ) if ids else []
        if not ids or len(found) != len(ids) or any(f["theme_id"] != theme_id or f["status"] != "theme" for f in found):
            raise QuoteChoiceError("not_in_theme")
        if chosen:
            if not all(f["quote_ok"] for f in found):
                raise QuoteChoiceError("not_consented")
            already = db.execute("SELECT count(*) FROM theme_assignments WHERE theme_id = ? AND chosen = 1 AND response_id NOT IN "
                                 f"({marks})", (theme_id, *ids)).fetchone()[0]
            if already + len(ids) > MAX_CHOSEN_QUOTES:
                raise QuoteChoiceError("too_many")
        for f in found:
            if bool(f["chosen"]) == chosen:
                continue
            db.execute("UPDATE theme_assignments SET chosen = ?, pinned = 1, updated_at = ? WHERE response_id = ?",
                       (int(chosen), stamp, f["response_id"]))
            log_edit(db, session_id, user_id=user_id, action="quote" if chosen else "unquote",
                     theme_id=theme_id, response_id=f["response_id"])


class QuoteChoiceError(ValueError):
    """A quote choice that cannot be made: ``reason`` is not_in_theme, not_consented or too_many."""

    def __init__(self, reason: str) -> None:
        """Keep the reason, for a translated message."""
        super().__init__(reason)
        self.reason = reason


# --- insights -------------------------------------------------------------------------------


def add_insight(db: sqlite_utils.Database, session_id: int, kind: str, body: str, *, theme_id: int | None,
                user_id: int | None) -> int:
    """Add an insight or a "how might we" statement, optionally attached to a theme."""
    if kind not in ("insight", "hmw"):
        raise ValueError(f"Unknown kind {kind!r}")
    body = body.strip()
    if not body:
        raise ValueError("Nothing was written")
    with transaction(db):
        insight_id = db.execute(
            "INSERT INTO insights (session_id, theme_id, kind, body, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, theme_id, kind, body, user_id, now()),
        ).lastrowid
        log_edit(db, session_id, user_id=user_id, action=f"{kind}_added", theme_id=theme_id, detail=body[:500])
    return insight_id


def delete_insight(db: sqlite_utils.Database, session_id: int, insight_id: int, *, user_id: int | None) -> bool:
    """Delete an insight or statement; False if it is not in this session."""
    with transaction(db):
        found = one(db, "SELECT * FROM insights WHERE id = ? AND session_id = ?", (insight_id, session_id))
        if found is None:
            return False
        db.execute("DELETE FROM insights WHERE id = ?", (insight_id,))
        log_edit(db, session_id, user_id=user_id, action=f"{found['kind']}_deleted", theme_id=found["theme_id"],
                 detail=found["body"][:500])
    return True


def insights_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's insights and statements, oldest first, with who wrote them."""
    return rows(
        db,
        """SELECT i.*, u.email FROM insights i LEFT JOIN users u ON u.id = i.created_by
           WHERE i.session_id = ? ORDER BY i.id""",
        (session_id,),
    )


# --- who was heard: reference populations and priority groups ---------------------------------


def reference_shares(db: sqlite_utils.Database, session_id: int) -> dict[int, dict]:
    """Return the planner's reference shares: {option_id: {"percent", "source", "prompt_id"}}."""
    return {r["option_id"]: r for r in rows(db, "SELECT * FROM reference_shares WHERE session_id = ?", (session_id,))}


def save_reference(db: sqlite_utils.Database, session_id: int, prompt_id: int, percents: dict[int, float | None],
                   source: str, *, user_id: int | None) -> None:
    """Replace the reference shares of one "about you" question (blank options are dropped)."""
    stamp = now()
    with transaction(db):
        db.execute("DELETE FROM reference_shares WHERE session_id = ? AND prompt_id = ?", (session_id, prompt_id))
        for option_id, percent in percents.items():
            if percent is None:
                continue
            db.execute(
                "INSERT INTO reference_shares (session_id, prompt_id, option_id, percent, source, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, prompt_id, option_id, float(percent), source.strip(), stamp),
            )
        log_edit(db, session_id, user_id=user_id, action="reference",
                 detail=json.dumps({"prompt": prompt_id, "shares": percents, "source": source.strip()}, ensure_ascii=False))


def priority_option_ids(db: sqlite_utils.Database, session_id: int) -> set[int]:
    """Return the options (groups) the planner named as priority groups."""
    return {r["option_id"] for r in rows(db, "SELECT option_id FROM priority_groups WHERE session_id = ?", (session_id,))}


def save_priority_groups(db: sqlite_utils.Database, session_id: int, option_ids: Iterable[tuple[int, int]], *,
                         user_id: int | None) -> None:
    """Replace the session's priority groups with the given (prompt_id, option_id) pairs."""
    pairs = sorted(set(option_ids))
    with transaction(db):
        db.execute("DELETE FROM priority_groups WHERE session_id = ?", (session_id,))
        for prompt_id, option_id in pairs:
            db.execute("INSERT INTO priority_groups (session_id, prompt_id, option_id) VALUES (?, ?, ?)",
                       (session_id, prompt_id, option_id))
        log_edit(db, session_id, user_id=user_id, action="priority_groups", detail=json.dumps([o for _, o in pairs]))


# --- the residents' page ----------------------------------------------------------------------


def public_texts(db: sqlite_utils.Database, session_id: int) -> dict[tuple[int, str], dict[str, str]]:
    """Return the residents' page texts: {(theme_id or 0, field): {language: body}}."""
    found: dict[tuple[int, str], dict[str, str]] = defaultdict(dict)
    for row in rows(db, "SELECT * FROM public_texts WHERE session_id = ?", (session_id,)):
        found[(row["theme_id"], row["field"])][row["language"]] = row["body"]
    return dict(found)


def set_public_text(db: sqlite_utils.Database, session_id: int, theme_id: int, field: str, language: str, body: str) -> None:
    """Store one text of the residents' page; an empty body removes it."""
    if field not in PUBLIC_FIELDS:
        raise ValueError(f"Unknown field {field!r}")
    body = (body or "").strip()
    with transaction(db):
        if not body:
            db.execute("DELETE FROM public_texts WHERE session_id = ? AND theme_id = ? AND field = ? AND language = ?",
                       (session_id, theme_id, field, language))
            return
        db.execute(
            """INSERT INTO public_texts (session_id, theme_id, field, language, body, updated_at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (session_id, theme_id, field, language) DO UPDATE SET body = excluded.body,
                 updated_at = excluded.updated_at""",
            (session_id, theme_id, field, language, body, now()),
        )


# --- the loader that feeds reports -------------------------------------------------------------


def placed_answers(db: sqlite_utils.Database, session_id: int, response_ids: Sequence[int]) -> set[int]:
    """Return which of these answers are in the session's synthesis: analysed, visible, not withdrawn, not blank, and placed by a run."""
    scope = scope_prompt_ids(db, session_id)
    wanted = sorted(set(response_ids))
    found: set[int] = set()
    for start in range(0, len(wanted) if scope else 0, 500):  # a few hundred at a time: SQLite caps a query's values
        chunk = wanted[start:start + 500]
        found.update(row[0] for row in db.execute(
            f"""SELECT r.id FROM responses r JOIN theme_assignments a ON a.response_id = r.id
                JOIN participants p ON p.id = r.participant_id
                WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
                  AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({", ".join("?" for _ in scope)})
                  AND r.id IN ({", ".join("?" for _ in chunk)}) {visible_filter(db)}""",
            (session_id, *scope, *chunk)))
    return found


def data_versions(db: sqlite_utils.Database, session_ids: Sequence[int]) -> tuple[int, int]:
    """Return a key that changes whenever any of these sessions' data or any campaign table changes:
    (the sum of the sessions' data versions, the campaign tables' version from m024).

    Each session's version only grows, so their sum changes whenever one of them does.
    """
    ids = tuple(session_ids)
    total = 0
    for start in range(0, len(ids), 500):  # within SQLite's limit on bound values
        chunk = ids[start:start + 500]
        total += one(db, f"SELECT coalesce(sum(version), 0) AS n FROM data_versions WHERE session_id IN ({','.join('?' * len(chunk))})",
                     chunk)["n"]
    campaign = one(db, "SELECT version FROM campaign_data_version WHERE id = 1")
    return total, campaign["version"] if campaign else 0


def data_version(db: sqlite_utils.Database, session_id: int) -> int:
    """Return the session's data version: a counter every write that a synthesis page could show bumps (m019's triggers)."""
    found = one(db, "SELECT version FROM data_versions WHERE session_id = ?", (session_id,))
    return found["version"] if found else 0



def counted_answers(db: sqlite_utils.Database, session_id: int, prompt_ids: Sequence[int]) -> list[dict]:
    """Return the same answers as `open_answers`, with only what counting needs (id, question, author, language): no text.

    "Who was heard" counts answers by theme and group and never shows one; at 100,000 residents the
    texts, translations and consents were most of what reading the session cost.
    """
    if not prompt_ids:
        return []
    marks = ", ".join("?" for _ in prompt_ids)
    return [{"id": rid, "prompt_id": pid, "participant_id": person, "language": language}
            for rid, pid, person, language in db.execute(
                f"""SELECT r.id, r.prompt_id, r.participant_id, r.language FROM responses r
                    JOIN participants p ON p.id = r.participant_id
                    WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
                      AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks})
                      {visible_filter(db)}
                    ORDER BY r.id""", (session_id, *prompt_ids))]


def load(db: sqlite_utils.Database, session_id: int, *, lenses: bool = True, choices: bool | None = None,
         answers: bool = True, texts: bool = True) -> SessionData | None:
    """Read everything a review page, report or export needs about one session into a :class:`SessionData`.

    With ``lenses`` off, people's "about you" answers, choice answers (unless ``choices``) and own
    words are left out (empty): enough for theme sizes, quotes and a release without lenses (the
    review and publish pages; the residents' page, which shows choice results, with ``choices``).
    With ``answers`` off as well, no answer, placement or person is read either (what a cached page
    keeps; :mod:`analysis.review.tallies` counts them in SQL). With ``texts`` off, answers carry only
    what counting needs (:func:`counted_answers`): enough for a report without theme sections or records.
    """
    choices = lenses if choices is None else choices
    found = session_by_id(db, session_id)
    if found is None:
        return None
    scope = scope_prompt_ids(db, session_id)
    assignments = {r["response_id"]: r for r in rows(
        db, "SELECT * FROM theme_assignments WHERE session_id = ?", (session_id,))} if answers else {}
    return SessionData(
        session=found, texts=texts_for_session(db, session_id), prompts=prompts_for_session(db, session_id),
        scope=scope, assignments=assignments,
        answers=(open_answers(db, session_id, scope) if texts else counted_answers(db, session_id, scope)) if answers else [],
        themes=active_themes(db, session_id), insights=insights_for_session(db, session_id),
        participants=taking_part(db, session_id) if answers else [], segments=participant_segments(db, session_id) if lenses else {},
        reference=reference_shares(db, session_id), priority=priority_option_ids(db, session_id),
        settings=settings(db, session_id), run=latest_run(db, session_id), public=public_texts(db, session_id),
        sources=SOURCES, choices=choice_answers(db, session_id) if choices else [],
        described=participant_described(db, session_id) if lenses else {},
    )


THEME_PAGE = 100


def theme_members_page(db: sqlite_utils.Database, session_id: int, theme_id: int, *,
                       after: tuple[int, int] | None = None, size: int | None = None) -> tuple[list[dict], tuple[int, int] | None]:
    """Return one page of a theme's answers, most typical first (rank, then id), and the key of the next page (None at the end).

    The same answers `load` would group under the theme (in the analysed questions, visible, not
    blank, not withdrawn), read through the (theme_id, rank, response_id) index a page at a time.
    """
    size = size or THEME_PAGE
    scope = scope_prompt_ids(db, session_id)
    if not scope:
        return [], None
    marks = ", ".join("?" for _ in scope)
    key_sql, key = ("AND (a.rank, a.response_id) > (?, ?)", list(after)) if after else ("", [])
    found = rows(db, f"""
        SELECT r.id, r.prompt_id, r.participant_id, r.language, r.source, r.text, r.created_at,
               coalesce(c.quote_ok, 0) AS quote_ok, a.rank, a.quote, a.pinned, a.chosen, {TRANSLATION_COLUMNS}
        FROM theme_assignments a JOIN responses r ON r.id = a.response_id
        JOIN participants p ON p.id = r.participant_id LEFT JOIN consents c ON c.participant_id = p.id
        {TRANSLATION_JOIN}
        WHERE a.theme_id = ? AND a.status = 'theme' AND +a.session_id = ? AND p.withdrawn_at IS NULL
          AND r.skipped = 0 AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks})
          {visible_filter(db)} {key_sql}
        ORDER BY a.rank, a.response_id LIMIT ?""", (theme_id, session_id, *scope, *key, size + 1))
    more = len(found) > size
    found = found[:size]
    for row in found:
        row["pinned"], row["chosen"] = bool(row["pinned"]), bool(row["chosen"])
    return found, ((found[-1]["rank"], found[-1]["id"]) if more else None)


def translations_for(language: str):
    """Return the Babel translations for a language, for rendering without a request."""
    from babel.support import Translations

    from listening.i18n import TRANSLATIONS_DIR

    return Translations.load(str(TRANSLATIONS_DIR), [language])


def design_records(db: sqlite_utils.Database, stored: SessionData, language: str, segment_names: Sequence[str],
                    prefer_not: str) -> dict:
    """Return the internal export's `votes` and `ideas` (each idea with its reactions and table), one numbering of participants."""
    pseudonyms: dict[int, str] = {}
    votes = _vote_records(db, stored, language, segment_names, prefer_not, pseudonyms)
    return {"votes": votes, "ideas": _idea_records(db, stored, language, pseudonyms)}


def _idea_records(db: sqlite_utils.Database, stored: SessionData, language: str, pseudonyms: dict[int, str]) -> tuple:
    """Return every idea of the session's ideas questions (any status) with its agree, disagree and pass counts and table."""
    from analysis import reports
    from analysis.text import strip_bidi

    out = []
    for prompt in [p for p in stored.prompts if p["kind"] == "ideas"]:
        tallies: dict[int, list[int]] = {}
        for _participant, statement_id, vote in st.votes_for_prompt(db, prompt["id"]):
            tallies.setdefault(statement_id, [0, 0, 0])[{1: 0, -1: 1, 0: 2}[vote]] += 1
        for idea in st.statements_for_prompt(db, prompt["id"]):
            words, _translated = st.shown_text(idea, language)
            author = "team" if idea["participant_id"] is None else \
                pseudonyms.setdefault(idea["participant_id"], f"P{len(pseudonyms) + 1}")
            agree, disagree, passes = tallies.get(idea["id"], [0, 0, 0])
            out.append(reports.IdeaRecord(
                idea=f"S{idea['id']}", prompt_number=prompt["number"], text=strip_bidi(words), language=idea["language"],
                table=idea.get("table_name") or "", author=author,
                status="merged" if idea.get("merged_into") else idea["status"],
                agree=agree, disagree=disagree, passes=passes))
    return tuple(out)


def _vote_records(db: sqlite_utils.Database, stored: SessionData, language: str, segment_names: Sequence[str],
                  prefer_not: str, pseudonyms: dict[int, str] | None = None) -> tuple:
    """Return every vote on the session's approved statements for the internal export, participants numbered in this export."""
    from analysis import reports
    from analysis.text import strip_bidi

    about = assemble.about_prompts(stored)
    about_keys = dict(zip([p["id"] for p in about], segment_names))
    option_names = {o["id"]: assemble.option_label(stored, o, language, prefer_not) for p in about for o in p["options"]}
    pseudonyms = {} if pseudonyms is None else pseudonyms
    out = []
    for prompt in [p for p in stored.prompts if p["kind"] in STATEMENT_KINDS]:
        approved = {s["id"]: s for s in st.statements_for_prompt(db, prompt["id"], status="approved")}
        votes = st.votes_for_prompt(db, prompt["id"])
        origins = st.vote_origins(db, prompt["id"])
        matrix = VoteMatrix.from_votes(votes, statements=list(approved))
        assignment = find_opinion_groups(matrix, seed=SEED).assignment if matrix.n_votes else {}
        for participant_id, statement_id, vote in votes:
            words, _translated = st.shown_text(approved[statement_id], language)
            segs = stored.segments.get(participant_id, {})
            out.append(reports.VoteRecord(
                participant=pseudonyms.setdefault(participant_id, f"P{len(pseudonyms) + 1}"),
                prompt_number=prompt["number"], statement=f"S{statement_id}", statement_text=strip_bidi(words),
                statement_language=approved[statement_id]["language"],
                vote={1: "agree", -1: "disagree", 0: "pass"}[vote], group=assignment.get(participant_id) or "",
                language=language,
                segments=tuple((about_keys[pid], option_names.get(oid, "")) for pid, oid in segs.items() if pid in about_keys),
                table=approved[statement_id].get("table_name") or "",
                source=origins.get((participant_id, statement_id), ("phone", ""))[0],
                vote_table=origins.get((participant_id, statement_id), ("phone", ""))[1],
            ))
    return tuple(out)


def report_from(db: sqlite_utils.Database, stored: SessionData, language: str, *, records: bool = False,
                translations=None, themes: bool = True, **counted):
    """Assemble a synthesis report from a session already loaded (see :func:`build_report`; ``themes`` and the
    counts made elsewhere, ``counted``: see :func:`analysis.assemble.assemble_report`; without themes no design results)."""
    from listening.i18n import source_labels

    translations = translations or translations_for(language)
    report = assemble_report(stored, language, translations, records=records,
                             source_names=source_labels(gettext_with(translations)),
                             generated_at=now()[:16].replace("T", " ") + " UTC", themes=themes, **counted)
    if themes and any(p["kind"] in DESIGN_KINDS for p in stored.prompts):
        report = _with_design_results(db, stored, report, language, translations, records=records)
    return report


# Question kinds of a design session, whose results a report shows under "What people decided together".
DESIGN_KINDS = ("react", "ideas", "dots", "rank", "budget")


def _with_design_results(db: sqlite_utils.Database, stored: SessionData, report, language: str, translations, *, records: bool):
    """Add a design session's opinion groups and priorities to a report (and, for the internal export, every vote)."""
    import dataclasses

    from .design_report import design_tables

    gettext = gettext_with(translations)
    session_id, default = stored.session["id"], stored.session["default_language"]
    titles = {p["id"]: gettext("Question %(n)s", n=p["number"]) + ": " + localized(
        stored.texts, "prompt", p["id"], "text", language, default) for p in stored.prompts}
    authored = {s["id"]: s for p in stored.prompts if p["kind"] in STATEMENT_KINDS
                for s in st.statements_for_prompt(db, p["id"], status="approved")}
    tallies: dict[int, tuple[int, int, int]] = {}
    for prompt in [p for p in stored.prompts if p["kind"] == "ideas"]:
        counts: dict[int, list[int]] = {}
        for _participant, statement_id, vote in st.votes_for_prompt(db, prompt["id"]):
            counts.setdefault(statement_id, [0, 0, 0])[{1: 0, -1: 1, 0: 2}[vote]] += 1
        tallies.update({sid: tuple(c) for sid, c in counts.items()})
    tables, withheld = design_tables(opinion_views(db, session_id, language), priority_results(db, session_id, language),
                                     titles=titles, authored=authored, redaction=stored.redaction, gettext=gettext,
                                     threshold=stored.settings["threshold"], tallies=tallies, language=language)
    caveats = report.caveats
    if withheld:
        caveats += (gettext("Not shown, because fewer than %(n)s people answered: %(questions)s.",
                            n=stored.settings["threshold"], questions="; ".join(withheld)),)
    report = dataclasses.replace(report, design_results=tables, caveats=caveats, withheld=report.withheld + withheld)
    if records and any(p["kind"] in STATEMENT_KINDS for p in stored.prompts):
        report = dataclasses.replace(report, **design_records(db, stored, language, report.segment_names,
                                                               gettext("Prefer not to say")))
    return report


# --- the residents' page ----------------------------------------------------------------------


def public_summary(db: sqlite_utils.Database, session_id: int, language: str) -> dict | None:
    """Return what the residents' results page shows in a language, or None if the session is missing or unpublished."""
    stored = load(db, session_id, lenses=False, choices=True)  # the page counts without lenses
    return None if stored is None else public_page(stored, language)


# --- opinion groups (design sessions' react questions) -----------------------------------------


@dataclass(frozen=True)
class OpinionView:
    """One react question's opinion groups as the planners' page and reports may show them."""

    prompt: dict
    statements: dict  # statement id -> {"text", "language", "translated"} in the page's language
    groups: object | None  # analysis.opinions.OpinionGroups, or None without votes
    sizes: dict  # group id -> size, or None when hidden
    by_group: dict  # statement id -> analysis.opinions.GroupVotes
    priorities: tuple  # analysis.opinions.PriorityComparison, one per priority group
    voters: int
    votes: int
    # A big question's groups as the job consumer stored them (`stored_above`): when, from how many votes, whether
    # newer ones are being worked out, and whether priority groups were left to the report (computed from every vote).
    stored_at: str | None = None
    stored_votes: int | None = None
    coming: bool = False
    priorities_in_report: bool = False
    # What may be said of the groups beyond their sizes, every share from published counts (`describe_groups`).
    described: object | None = None


def priority_members(db: sqlite_utils.Database, session_id: int, language: str) -> list[tuple[str, set[int]]]:
    """Return each priority group the planner named, as (label, participants who chose that option about themselves)."""
    wanted = priority_option_ids(db, session_id)
    if not wanted:
        return []
    texts = texts_for_session(db, session_id)
    members: dict[int, set[int]] = {option_id: set() for option_id in wanted}
    for row in rows(
        db,
        """SELECT r.participant_id, r.choices FROM responses r JOIN prompts q ON q.id = r.prompt_id
           JOIN participants p ON p.id = r.participant_id
           WHERE r.session_id = ? AND q.kind = 'about' AND r.skipped = 0 AND p.withdrawn_at IS NULL""",
        (session_id,),
    ):
        for option_id in json.loads(row["choices"] or "[]"):
            if option_id in members:
                members[option_id].add(row["participant_id"])
    default = one(db, "SELECT languages FROM sessions WHERE id = ?", (session_id,))
    fallback = json.loads(default["languages"])[0] if default else language
    return [(localized(texts, "option", option_id, "label", language, fallback) or str(option_id), people)
            for option_id, people in sorted(members.items())]


def opinion_views(db: sqlite_utils.Database, session_id: int, language: str, *,
                  stored_above: int | None = None) -> list[OpinionView]:
    """Return the opinion groups, consensus, divisive statements and priority-group agreement of every react question.

    Worked out from every vote, unless `stored_above` (the planners' page): a question with more votes than that
    shows the groups the job consumer stored for it (`listening.opinion_store`, the same engine and seed, without
    members), asking it for new ones when the votes changed; working them out from 875,000 votes took 6 to 7 s
    of CPU in the request (2 December). Its priority-group comparisons, which need every vote, are then left to
    the report.
    """
    threshold = settings(db, session_id)["threshold"]
    priority: list | None = None  # read once, when a question is worked out here (every "about you" answer)
    out = []
    for prompt in [p for p in prompts_for_session(db, session_id) if p["kind"] in STATEMENT_KINDS]:
        approved = st.statements_for_prompt(db, prompt["id"], status="approved")
        shown = {}
        for statement in approved:
            words, translated = st.shown_text(statement, language)
            shown[statement["id"]] = {"text": words, "language": language if translated else statement["language"],
                                      "translated": translated}
        totals = st.vote_totals(db, prompt["id"])
        if stored_above is not None and totals["votes"] > stored_above:
            out.append(_stored_view(db, prompt, shown, totals, threshold, bool(priority_option_ids(db, session_id))))
            continue
        if priority is None:
            priority = priority_members(db, session_id, language)
        votes = st.votes_for_prompt(db, prompt["id"])
        matrix = VoteMatrix.from_votes(votes, statements=[s["id"] for s in approved])
        groups = find_opinion_groups(matrix, seed=SEED) if matrix.n_votes else None
        sizes = group_size_table(groups, threshold=threshold) if groups else {}
        by_group = {sid: group_vote_table(groups, sid, threshold=threshold) for sid in shown} if groups else {}
        comparisons = tuple(compare_priority_group(matrix, people, label=label, threshold=threshold)
                            for label, people in priority) if matrix.n_votes else ()
        out.append(OpinionView(prompt, shown, groups, sizes, by_group, comparisons,
                               voters=len({p for p, _s, _v in votes}), votes=len(votes),
                               described=describe_groups(groups, threshold=threshold) if groups else None))
    return out


def _stored_view(db: sqlite_utils.Database, prompt: dict, shown: dict, totals: dict, threshold: int,
                 priorities: bool) -> OpinionView:
    """Return a big question's view from its stored groups (see `opinion_views`), asking for new ones when due."""
    from analysis.opinions import groups_from_summary
    from listening import opinion_store

    statements = list(shown)
    row = opinion_store.stored_row(db, prompt["id"])
    if opinion_store.wanted(row, statements, totals):
        opinion_store.ask_consumer(db, prompt["id"], row)
        row = opinion_store.stored_row(db, prompt["id"])
    ready = opinion_store.usable(row, statements, totals)
    groups = groups_from_summary(json.loads(row["summary"])) if ready else None
    sizes = group_size_table(groups, threshold=threshold) if groups else {}
    by_group = {sid: group_vote_table(groups, sid, threshold=threshold) for sid in shown} if groups else {}
    return OpinionView(prompt, shown, groups, sizes, by_group, (), voters=totals["voters"], votes=totals["votes"],
                       stored_at=row["computed_at"] if ready else None, stored_votes=row["votes"] if ready else None,
                       coming=not ready or row["version"] != totals["version"], priorities_in_report=priorities,
                       described=describe_groups(groups, threshold=threshold) if groups else None)


# --- a follow-up design session ----------------------------------------------------------------


def _screen_name(db: sqlite_utils.Database, theme: dict) -> str:
    """Return a theme's name as phones and the room's screen may show it: a machine name that could be words of an answer
    whose author allowed quoting in reports only becomes the theme's key terms; a name a planner wrote stays."""
    if theme["renamed"]:  # a name a planner wrote (a theme merged into keeps the engine's name: `manual` alone is not one)
        return theme["label"]
    reports_only = rows(db, """SELECT r.text, tr.text AS translation FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                               JOIN consents c ON c.participant_id = r.participant_id
                               LEFT JOIN answer_translations tr ON tr.response_id = r.id
                               WHERE a.theme_id = ? AND c.quote_ok = 1 AND coalesce(c.quote_scope, '') != 'screen_and_reports'""",
                        (theme["id"],))
    return terms_label(theme["top_terms"]) if name_drawn_from(theme["label"], reports_only) else theme["label"]


def follow_up_seeds(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return what a follow-up design session starts from: reviewed themes (with residents' page labels as translations), insights and "how might we" statements."""
    found = one(db, "SELECT languages FROM sessions WHERE id = ?", (session_id,))
    default = json.loads(found["languages"])[0] if found else "en"
    seeds = []
    labels: dict[int, dict[str, str]] = defaultdict(dict)
    for row in rows(db, "SELECT theme_id, language, body FROM public_texts WHERE session_id = ? AND field = 'label' AND theme_id != 0",
                    (session_id,)):
        if row["body"].strip():
            labels[row["theme_id"]][row["language"]] = row["body"].strip()
    for theme in rows(db, """SELECT id, label, renamed, top_terms FROM themes WHERE session_id = ? AND kind = 'theme'
                             AND reviewed_at IS NOT NULL AND retired_at IS NULL AND merged_into IS NULL ORDER BY id""", (session_id,)):
        words = {default: _screen_name(db, theme), **labels.get(theme["id"], {})}
        seeds.append({"origin": "theme", "origin_id": theme["id"], "language": default, "body": words[default],
                      "translations": {c: w for c, w in words.items() if c != default}})
    for insight in insights_for_session(db, session_id):
        seeds.append({"origin": insight["kind"], "origin_id": insight["id"], "language": default, "body": insight["body"],
                      "translations": {}})
    return seeds


def create_follow_up(db: sqlite_utils.Database, session_id: int, *, user_id: int | None, texts: dict[str, dict[str, str]],
                     question: dict[str, str]) -> dict | None:
    """Create a draft design session from a listening session's reviewed synthesis, in one transaction; None if nothing is reviewed.

    It has the same languages, mode and time zone, the given session `texts` (title, purpose,
    consent per language), one react question worded `question`, and one statement per reviewed
    theme, insight and "how might we" statement, their translations carried over.
    """
    source = one(db, "SELECT * FROM sessions WHERE id = ?", (session_id,))
    seeds = follow_up_seeds(db, session_id)
    if source is None or not seeds:
        return None
    with transaction(db):
        created = create_session(db, languages=json.loads(source["languages"]), mode=source["mode"],
                                 timezone_name=source["timezone"], created_by=user_id, texts=texts,
                                 minutes=source["minutes"], contact=source["contact"])
        prompt_id = add_prompt(db, created["id"], kind="react", texts=question)
        for seed in seeds:
            st.add_statement(db, created["id"], prompt_id, language=seed["language"], body=seed["body"][:280],
                             translations={c: w[:280] for c, w in seed["translations"].items()}, created_by=user_id,
                             origin=seed["origin"], origin_id=seed["origin_id"])
        log_edit(db, session_id, user_id=user_id, action="follow_up_created", detail=created["code"])
    return created


# --- priorities (dot voting, ranking, points budget) by segment ---------------------------------


def _priority_scores(kind: str, answers: Sequence[list[int]], option_ids: Sequence[int]) -> dict:
    """Return each option's score (dots, points or Borda points), first choices (ranking) and each option's share of the scores."""
    scores = {o: 0 for o in option_ids}
    firsts = {o: 0 for o in option_ids}
    for choices in answers:
        if kind == "rank":
            for place, option_id in enumerate(choices):
                if option_id in scores:
                    scores[option_id] += max(len(option_ids) - place, 1)
            if choices and choices[0] in firsts:
                firsts[choices[0]] += 1
        else:
            for option_id in choices:
                if option_id in scores:
                    scores[option_id] += 1
    total = sum(scores.values())
    return {"scores": scores, "firsts": firsts if kind == "rank" else None,
            "shares": {o: (scores[o] / total if total else None) for o in option_ids}}


def _firsts_shown(prompt_id: int, overall: dict, threshold: int) -> dict[int, int | None] | None:
    """Return a ranking's first-choice counts as every page and report may show them (None: hidden), in order of score.

    A first choice is a count of people: one below the threshold, or one that would reveal it from the number who
    answered, is hidden, on the planners' page as in the reports."""
    if overall["firsts"] is None:
        return None
    order = sorted(overall["scores"], key=lambda o: (-overall["scores"][o], o))
    shown = protect_line(f"firsts-{prompt_id}", [str(o) for o in order], [overall["firsts"][o] for o in order],
                         threshold=threshold)
    return {o: shown.count(str(o)) for o in order}


def priority_results(db: sqlite_utils.Database, session_id: int, language: str) -> list[dict]:
    """Return every prioritise question's results overall and by segment ("about you" answers), segments under disclosure control.

    A segment's results are shown only when its number of respondents may be published (at least
    the threshold, and not one that would reveal a hidden one); its scores are then shares of that
    segment's own dots, points or Borda points.
    """
    threshold = settings(db, session_id)["threshold"]
    texts = texts_for_session(db, session_id)
    prompts = prompts_for_session(db, session_id)
    fallback = json.loads(one(db, "SELECT languages FROM sessions WHERE id = ?", (session_id,))["languages"])[0]
    answers = rows(db, """SELECT r.participant_id, r.prompt_id, r.choices FROM responses r JOIN participants p ON p.id = r.participant_id
                          WHERE r.session_id = ? AND r.skipped = 0 AND p.withdrawn_at IS NULL""", (session_id,))
    by_prompt: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for row in answers:
        by_prompt[row["prompt_id"]][row["participant_id"]] = json.loads(row["choices"] or "[]")
    out = []
    for prompt in [p for p in prompts if p["kind"] in ("dots", "rank", "budget")]:
        given = by_prompt.get(prompt["id"], {})
        option_ids = [o["id"] for o in prompt["options"]]
        result = {"prompt": prompt, "respondents": len(given),
                  "labels": {o: localized(texts, "option", o, "label", language, fallback) for o in option_ids},
                  "overall": _priority_scores(prompt["kind"], list(given.values()), option_ids), "segments": []}
        result["firsts_shown"] = _firsts_shown(prompt["id"], result["overall"], threshold)
        for about in [p for p in prompts if p["kind"] == "about"]:
            members: dict[int, set[int]] = {o["id"]: set() for o in about["options"]}
            for participant_id, choices in by_prompt.get(about["id"], {}).items():
                for option_id in choices:
                    if option_id in members and participant_id in given:
                        members[option_id].add(participant_id)
            categories = [str(o) for o in members]
            shown = protect_line(f"segment-{about['id']}", categories, [len(m) for m in members.values()], threshold=threshold)
            groups = []
            for option_id, people in members.items():
                size = shown.count(str(option_id))
                groups.append({"label": localized(texts, "option", option_id, "label", language, fallback) if not
                               next(o for o in about["options"] if o["id"] == option_id)["prefer_not"] else None,
                               "size": size,
                               "result": _priority_scores(prompt["kind"], [given[p] for p in people], option_ids) if size is not None else None})
            result["segments"].append({"about": about, "groups": groups,
                                       "label": localized(texts, "prompt", about["id"], "text", language, fallback)})
        out.append(result)
    return out
