"""The team's data exports (CSV, Excel, JSON) written answer by answer from SQL, never held whole.

`export` in `queries.py` builds the report without its records (codebook, counts, title) and hands
the writers in `analysis/reports.py` the generator `answer_records`, which reads the same answers
`queries.load` would (visible, not withdrawn, not blank, in the analysed questions) 1,000 at a
time by id, with their theme and their "about you" answers. Both happen inside one read
transaction, so the codebook and the rows describe the same moment.
"""
from __future__ import annotations

import json
from typing import Iterator

import sqlite_utils

from analysis.assemble import described_columns
from listening.db import rows
from listening.queries import (
    TRANSLATION_COLUMNS,
    TRANSLATION_JOIN,
    localized,
    prompts_for_session,
    session_by_id,
    texts_for_session,
)

BATCH = 1000


def segment_columns(prompts: list[dict]) -> tuple[dict[int, str], tuple[str, ...]]:
    """Return the export's column name for each "about you" question, and the names in order (as `_records` names them)."""
    keys: dict[int, str] = {}
    names: list[str] = []
    for prompt in prompts:
        if prompt["kind"] != "about":
            continue
        key = f"about_{prompt['demographic'] or 'other'}"
        key = key if key not in names else f"{key}_{prompt['number']}"
        keys[prompt["id"]] = key
        names.append(key)
    return keys, tuple(names)


def _described(db: sqlite_utils.Database, session_id: int, participant_ids: list[int], visible: str) -> dict[int, dict[int, str]]:
    """Return the words these participants gave with a self-described choice, per question (internal export only)."""
    if not participant_ids:
        return {}
    marks = ", ".join("?" for _ in participant_ids)
    found: dict[int, dict[int, str]] = {}
    for row in rows(db, f"""SELECT r.participant_id, r.prompt_id, r.described FROM responses r
                             WHERE r.participant_id IN ({marks}) AND +r.session_id = ? AND r.skipped = 0
                               AND r.described IS NOT NULL AND trim(r.described) != '' {visible}""",
                    (*participant_ids, session_id)):
        found.setdefault(row["participant_id"], {})[row["prompt_id"]] = row["described"]
    return found


def _segments(db: sqlite_utils.Database, session_id: int, participant_ids: list[int], visible: str) -> dict[int, dict[int, int]]:
    """Return the first "about you" option each of these participants chose, per question."""
    if not participant_ids:
        return {}
    marks = ", ".join("?" for _ in participant_ids)
    found: dict[int, dict[int, int]] = {}
    for row in rows(db, f"""SELECT r.participant_id, r.prompt_id, r.choices FROM responses r
                             JOIN prompts q ON q.id = r.prompt_id
                             WHERE r.participant_id IN ({marks}) AND +r.session_id = ? AND q.kind = 'about'
                               AND r.skipped = 0 {visible}""", (*participant_ids, session_id)):
        choices = json.loads(row["choices"]) if row["choices"] else []
        if choices:
            found.setdefault(row["participant_id"], {})[row["prompt_id"]] = choices[0]
    return found


def answer_records(db: sqlite_utils.Database, session_id: int, language: str, scope: list[int], *,
                   prefer_not: str, visible: str) -> Iterator:
    """Yield every analysed answer of a session as a report `AnswerRecord`, oldest first, a batch at a time."""
    from analysis import reports
    from analysis.text import strip_bidi

    prompts = prompts_for_session(db, session_id)
    texts = texts_for_session(db, session_id)
    default = session_by_id(db, session_id)["default_language"]
    numbers = {p["id"]: p["number"] for p in prompts}
    wording = {p["id"]: localized(texts, "prompt", p["id"], "text", language, default) for p in prompts}
    about_keys, _names = segment_columns(prompts)
    described_keys = described_columns(prompts, about_keys)
    option_names = {o["id"]: prefer_not if o["prefer_not"] else localized(texts, "option", o["id"], "label", language, default)
                    for p in prompts if p["kind"] == "about" for o in p["options"]}
    if not scope:
        return
    marks = ", ".join("?" for _ in scope)
    last = 0
    while True:
        batch = rows(db, f"""
            SELECT r.id, r.prompt_id, r.participant_id, r.language, r.source, r.text, r.created_at,
                   coalesce(c.quote_ok, 0) AS quote_ok, a.status, a.theme_id,
                   t.kind AS theme_kind, t.label AS theme_label, t.reviewed_at, {TRANSLATION_COLUMNS}, tbl.name AS table_name
            FROM responses r
            JOIN participants p ON p.id = r.participant_id
            LEFT JOIN consents c ON c.participant_id = p.id
            LEFT JOIN theme_assignments a ON a.response_id = r.id
            LEFT JOIN themes t ON t.id = a.theme_id AND t.retired_at IS NULL
            {TRANSLATION_JOIN}
            LEFT JOIN session_tables tbl ON tbl.id = r.table_id
            WHERE r.session_id = ? AND p.withdrawn_at IS NULL AND r.skipped = 0
              AND r.text IS NOT NULL AND trim(r.text) != '' AND r.prompt_id IN ({marks}) {visible}
              AND r.id > ?
            ORDER BY r.id LIMIT ?""", (session_id, *scope, last, BATCH))
        if not batch:
            return
        people = sorted({r["participant_id"] for r in batch})
        segments = _segments(db, session_id, people, visible)
        described = _described(db, session_id, people, visible) if described_keys else {}
        for row in batch:
            has_theme = row["theme_id"] is not None and row["theme_kind"] is not None
            status = row["status"] or "unsorted"
            if has_theme and row["theme_kind"] == "other":
                status = "other"
            segs = segments.get(row["participant_id"], {})
            yield reports.AnswerRecord(
                id=row["id"], prompt_number=numbers.get(row["prompt_id"], 0), prompt=wording.get(row["prompt_id"], ""),
                language=row["language"], source=row["source"], text=strip_bidi(row["text"]),
                theme_id="" if not has_theme else ("other" if row["theme_kind"] == "other" else f"T{row['theme_id']}"),
                theme=row["theme_label"] if has_theme else "", status=status,
                reviewed=bool(has_theme and row["reviewed_at"] is not None), quote_ok=bool(row["quote_ok"]),
                created_at=row["created_at"], table=row["table_name"] or "",
                segments=tuple((about_keys[pid], option_names.get(oid, "")) for pid, oid in sorted(segs.items())
                               if pid in about_keys),
                described=tuple((described_keys[pid], strip_bidi(words)) for pid, words in
                                sorted(described.get(row["participant_id"], {}).items()) if pid in described_keys),
                translation=strip_bidi(row["translation"] or ""),
            )
        last = batch[-1]["id"]
