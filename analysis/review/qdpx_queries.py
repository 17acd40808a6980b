"""REFI-QDA (.qdpx) exchange for a session's synthesis: the project Chorus exports, and codes brought back as themes.

Export (:func:`export_qdpx`): sources are the session's counted open answers, and by default only
those whose author allowed quoting, redacted exactly as quotes in reports are (the session's one
redaction); the internal set (every consented answer, words as written) is for admins only,
and every export is in the audit log like any other. Codes are the reviewed themes (drafts only
when asked, marked as drafts) with their definitions; codings link each answer to its theme; a staff
translation of an exported answer goes with it as a linked note, redacted like the answer (and only
with an answer that is exported: never for one whose author did not allow quoting, in the default set). No
participant id, receipt, contact detail or "about you" answer leaves: a source is named by its
answer id only.

Import (:func:`qdpx_plan`, :func:`apply_qdpx_plan`): the codes of a project recoded in another
tool become draft themes of this session, each with the answers coded to it, once a planner has
seen what would change and confirmed. An answer coded more than once goes to its first code
(Chorus puts each answer in one theme) and is counted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

import sqlite_utils

from analysis import assemble, qdpx
from analysis.assemble import SessionData
from analysis.text import strip_bidi
from listening.db import rows, transaction
from listening.queries import TRANSLATION_COLUMNS, TRANSLATION_JOIN, localized, record_audit, session_by_id

from . import queries as synthesis

QUOTED, INTERNAL = "quoted", "internal"


def _codes(stored: SessionData, *, drafts: bool, draft_mark: str) -> tuple[tuple[qdpx.QdaCode, ...], set[int]]:
    """Return the project's codes (the reviewed themes; drafts only when asked, marked) and the themes they stand for."""
    themes = [t for t in stored.themes if t["kind"] == "theme" and (t["reviewed"] or drafts)]
    codes = tuple(qdpx.QdaCode(str(t["id"]), t["label"] if t["reviewed"] else f"{draft_mark} {t['label']}",
                               t["definition"] or "") for t in themes)
    return codes, {t["id"] for t in themes}


def _answer_source(stored: SessionData, answer: dict, placed: dict | None, *, answer_set: str, kept_themes: set[int],
                   translation_mark: str) -> tuple[qdpx.QdaSource | None, tuple[qdpx.QdaCoding, ...]]:
    """Return one answer as a project's source and its coding (None when the answer set leaves it out)."""
    default = stored.session["default_language"]
    if answer_set == QUOTED and not answer["quote_ok"]:
        return None, ()
    redaction = stored.redaction
    text = redaction(answer["text"]).strip() if answer_set == QUOTED else strip_bidi(answer["text"])
    if not text:
        return None, ()
    numbers = {p["id"]: p["number"] for p in stored.prompts}
    question = assemble.prompt_text(stored, answer["prompt_id"], default)
    # A staff translation goes with its answer, under the same rule and the same redaction: a note on the source.
    translation = answer.get("translation") or ""
    translation = redaction(translation).strip() if answer_set == QUOTED else strip_bidi(translation).strip()
    into = answer.get("translation_language") or default
    notes = (qdpx.QdaNote(f"{translation_mark} {qdpx.SOURCE_PREFIX}{answer['id']} ({into})", translation),) if translation else ()
    source = qdpx.QdaSource(str(answer["id"]), text, label=f"Q{numbers.get(answer['prompt_id'], 0)}",
                            variables={"question": question, "language": answer["language"]}, notes=notes)
    if placed and placed["status"] == "theme" and placed["theme_id"] in kept_themes:
        return source, (qdpx.QdaCoding(str(answer["id"]), str(placed["theme_id"])),)
    return source, ()


def _title(stored: SessionData) -> str:
    """Return the project's name: the session's title in its main language, and its code."""
    found = stored.session
    default = found["default_language"]
    return f"{localized(stored.texts, 'session', found['id'], 'title', default, default)} ({found['code']})"


def qdpx_project(stored: SessionData, *, answer_set: str, drafts: bool, draft_mark: str,
                 translation_mark: str = "Translation:") -> qdpx.QdaProject:
    """Build the REFI-QDA project of a session's themes and answers (no database, no request)."""
    codes, kept_themes = _codes(stored, drafts=drafts, draft_mark=draft_mark)
    sources, codings = [], []
    for answer in stored.answers:
        source, coded = _answer_source(stored, answer, stored.assignments.get(answer["id"]), answer_set=answer_set,
                                       kept_themes=kept_themes, translation_mark=translation_mark)
        if source is not None:
            sources.append(source)
            codings.extend(coded)
    return qdpx.QdaProject(name=_title(stored), codes=codes, sources=tuple(sources), codings=tuple(codings),
                           description="", created_at=None)


BATCH = 1000


def _answers(db: sqlite_utils.Database, session_id: int, scope: list[int]) -> Iterator[tuple[dict, dict | None]]:
    """Yield the answers `synthesis.load` reads (`open_answers`), oldest first, each with its placement, 1,000 at a time."""
    if not scope:
        return
    marks = ", ".join("?" for _ in scope)
    last = 0
    while True:
        batch = rows(db, f"""
            SELECT r.id, r.prompt_id, r.language, r.text, coalesce(c.quote_ok, 0) AS quote_ok, {TRANSLATION_COLUMNS},
                   a.status AS placed_status, a.theme_id AS placed_theme, a.response_id AS placed
            FROM responses r
            JOIN participants p ON p.id = r.participant_id
            LEFT JOIN consents c ON c.participant_id = p.id
            {TRANSLATION_JOIN}
            LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = ?
            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
              AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks})
              {synthesis.visible_filter(db)} AND r.id > ?
            ORDER BY r.id LIMIT ?""", (session_id, session_id, *scope, last, BATCH))
        if not batch:
            return
        for row in batch:
            placed = {"status": row["placed_status"], "theme_id": row["placed_theme"]} if row["placed"] is not None else None
            yield row, placed
        last = batch[-1]["id"]


def export_qdpx(db: sqlite_utils.Database, session_id: int, file, *, answer_set: str, drafts: bool, draft_mark: str,
                user_id: int | None, translation_mark: str = "Translation:", progress=None) -> str:
    """Write a session's .qdpx to a binary file, log the export, and return its file name (`progress` hears three steps).

    The answers are read from SQL 1,000 at a time, twice in one read snapshot (the project's XML, then
    one text file per answer), and written as they come (:func:`analysis.qdpx.write_qdpx_streamed`):
    the same file as :func:`qdpx_project` of the session's full load gives, in memory that does not
    grow with the session (issue 19).
    """
    step = progress or (lambda done, total: None)
    if answer_set not in (QUOTED, INTERNAL):
        raise ValueError(f"Unknown answer set {answer_set!r}")
    step(0, 3)
    started = not db.conn.in_transaction
    if started:
        db.execute("BEGIN")  # one read snapshot (WAL): both passes see the same answers; writers carry on
    try:
        stored = synthesis.load(db, session_id, lenses=False, answers=False)
        if stored is None:
            raise ValueError(f"No session with id {session_id}")
        codes, kept_themes = _codes(stored, drafts=drafts, draft_mark=draft_mark)
        scope = list(stored.scope)

        def sources() -> Iterator[tuple[qdpx.QdaSource, tuple[qdpx.QdaCoding, ...]]]:
            """Yield each exported answer's source and coding, read afresh."""
            for answer, placed in _answers(db, session_id, scope):
                source, coded = _answer_source(stored, answer, placed, answer_set=answer_set, kept_themes=kept_themes,
                                               translation_mark=translation_mark)
                if source is not None:
                    yield source, coded

        step(1, 3)
        written, notes = qdpx.write_qdpx_streamed(file, name=_title(stored), codes=codes, sources=sources,
                                                  variable_names=("language", "question"))
        step(2, 3)
    finally:
        if started:
            db.conn.rollback()
    name = f"chorus-{stored.session['code']}-{'quotes' if answer_set == QUOTED else 'internal'}.qdpx"
    record_audit(db, user_id=user_id, action="export", target=stored.session["code"],
                 detail=f"format=qdpx set={answer_set} drafts={int(drafts)} sources={written} "
                        f"codes={len(codes)} translations={notes} file={name}")
    return name


@dataclass(frozen=True)
class QdpxPlan:
    """What importing a project's codes would do: (label, description, answer ids) per code, and what is left out."""

    themes: tuple[tuple[str, str, tuple[int, ...]], ...]
    unmatched_sources: int
    unknown_answers: int
    coded_twice: int
    moving: int
    empty_codes: int

    def to_json(self) -> str:
        """Return the plan as JSON, to carry (signed) in the confirmation form."""
        return json.dumps([[label, description, list(ids)] for label, description, ids in self.themes], ensure_ascii=False)


def _placements(db: sqlite_utils.Database, session_id: int) -> dict[int, tuple[str | None, int | None]]:
    """Return the session's counted answers (those `synthesis.load` reads) by id, with their placement's status and theme:
    ids, not texts, so bringing codes back never holds the session's answers."""
    scope = synthesis.scope_prompt_ids(db, session_id)
    marks = ", ".join("?" for _ in scope) or "NULL"
    return {answer_id: (status, theme_id) for answer_id, status, theme_id in db.execute(f"""
        SELECT r.id, a.status, a.theme_id FROM responses r JOIN participants p ON p.id = r.participant_id
        LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id
        WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
          AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks}) {synthesis.visible_filter(db)}""",
        (session_id, *scope))}


def qdpx_plan(db: sqlite_utils.Database, session_id: int, data: bytes) -> QdpxPlan:
    """Read a .qdpx against a session's answers: one theme per code that codes any of them; raise QdpxError if unreadable."""
    placements = _placements(db, session_id)
    known = set(placements)
    project = qdpx.read_qdpx(data, source_ids=[str(i) for i in known])
    names: dict[str, tuple[str, str]] = {}
    for code, parent in project.all_codes():
        label = code.name.strip() or code.id
        if parent is not None and parent in names:
            label = f"{names[parent][0]} / {label}"
        names[code.id] = (label[:200], code.description.strip()[:2000])
    members: dict[str, list[int]] = {cid: [] for cid in names}
    taken: set[int] = set()
    unknown = twice = 0
    for coding in project.codings:
        if coding.code_id not in members:
            continue
        answer = int(coding.source_id) if coding.source_id.isdigit() else None
        if answer is None or answer not in known:
            unknown += 1
        elif answer in taken:
            twice += 1
        else:
            taken.add(answer)
            members[coding.code_id].append(answer)
    themes = tuple((names[cid][0], names[cid][1], tuple(ids)) for cid, ids in members.items() if ids)
    moving = sum(1 for rid in taken if placements[rid][0] == "theme" and placements[rid][1] is not None)
    return QdpxPlan(themes, len(project.unmatched_sources), unknown, twice, moving,
                    sum(1 for ids in members.values() if not ids))


def apply_qdpx_plan(db: sqlite_utils.Database, session_id: int, themes: list, *, user_id: int | None) -> list[int]:
    """Create one draft theme per code with its answers, in one transaction, and log it; return the theme ids."""
    known = set(_placements(db, session_id))
    created = []
    with transaction(db):
        for label, description, ids in themes:
            answers = [int(i) for i in ids if int(i) in known]
            if not str(label).strip() or not answers:
                continue
            theme_id = synthesis.new_theme(db, session_id, str(label)[:200], user_id=user_id, response_ids=answers)
            if str(description).strip():
                synthesis.rename_theme(db, session_id, theme_id, str(label)[:200], user_id=user_id,
                                       definition=str(description)[:2000])
            created.append(theme_id)
        record_audit(db, user_id=user_id, action="qdpx_import", target=session_by_id(db, session_id)["code"],
                     detail=f"themes={len(created)} answers={sum(len(t[2]) for t in themes)}")
    return created

