"""Imports of answers from other tools' exports: describing a session to the mapping engine, storing
a confirmed plan in one transaction, the history of a session's imports, and undoing one.

The engine (:mod:`analysis.importing`, :mod:`analysis.import_mapping`) reads and plans; this module
only stores what a person confirmed, through :func:`listening.queries.record_imported` (the
rules of ``record_consent`` and ``save_response``, in batches), with the consent method 'import'. The web pages (:mod:`facilitation.imports`) and ``chorus import`` share it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Generator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from analysis import import_mapping as im
from listening import erasures, queries
from listening.db import one, rows, transaction
from listening.erasures import Erasure

# What a column may be read as, besides a question, in the order the preview offers them.
ROLE_TARGETS = (im.IGNORE, im.TAKE_PART, im.QUOTE, im.CONTACT, im.LANGUAGE, im.SOURCE, im.TIME, im.ROW_ID,
                im.CONTACT_NAME, im.CONTACT_PHONE, im.CONTACT_EMAIL)


def file_hash(data: bytes) -> str:
    """Return the SHA-256 of a file's bytes, as the imports table records it."""
    return hashlib.sha256(data).hexdigest()


def prefer_not_labels(languages) -> dict[str, str]:
    """Return "Prefer not to say" in each of a session's languages, for matching a file's wording."""
    from babel.support import Translations

    from listening.i18n import TRANSLATIONS_DIR

    return {code: Translations.load(str(TRANSLATIONS_DIR), [code]).gettext("Prefer not to say") for code in languages}


def session_questions(db: sqlite_utils.Database, session_id: int) -> im.SessionQuestions:
    """Describe a session's questions, choices and languages to the mapping engine."""
    found = queries.session_by_id(db, session_id)
    texts = queries.texts_for_session(db, session_id)
    prefer = prefer_not_labels(found["languages"])
    questions = []
    for prompt in queries.prompts_for_session(db, session_id):
        choices = tuple(
            im.Choice(option["id"], dict(prefer) if option["prefer_not"] else dict(texts.get(("option", option["id"], "label"), {})),
                      prefer_not=bool(option["prefer_not"]))
            for option in prompt["options"])
        questions.append(im.Question(
            prompt["id"], prompt["kind"], dict(texts.get(("prompt", prompt["id"], "text"), {})), choices,
            position=prompt["number"], scale_min=prompt["scale_min"], scale_max=prompt["scale_max"],
            demographic=prompt["demographic"]))
    return im.SessionQuestions(tuple(questions), tuple(found["languages"]))


def target_value(mapping: im.ColumnMap, numbers: dict[int, int], choice_numbers: dict[int, int]) -> str:
    """Encode what a column is read as: a role ("language"), "question:N" or "question:N:C" (numbers from 1)."""
    if mapping.target != im.QUESTION:
        return mapping.target
    value = f"question:{numbers[mapping.question_id]}"
    return value + (f":{choice_numbers[mapping.choice_id]}" if mapping.choice_id is not None else "")


def parse_target(value: str, column: int, session: im.SessionQuestions) -> im.ColumnMap | None:
    """Decode a target written as :func:`target_value` writes it; None if it names nothing in the session."""
    value = (value or "").strip()
    if value in ROLE_TARGETS:
        return im.ColumnMap(column, value, reason=im.messages.MATCH_NAME if value != im.IGNORE else "")
    parts = value.split(":")
    if parts[0] != "question" or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
        return None
    question = next((q for q in session.questions if q.position == int(parts[1])), None)
    if question is None:
        return None
    if len(parts) == 2:
        return im.ColumnMap(column, im.QUESTION, question.id)
    if question.kind != "multiple" or not 1 <= int(parts[2]) <= len(question.choices):
        return None
    return im.ColumnMap(column, im.QUESTION, question.id, question.choices[int(parts[2]) - 1].id)


def numbering(session: im.SessionQuestions) -> tuple[dict[int, int], dict[int, int]]:
    """Return each question's number and each choice's number within its question."""
    return ({q.id: q.position for q in session.questions},
            {c.id: n for q in session.questions for n, c in enumerate(q.choices, start=1)})


def mapping_json(table, columns, session: im.SessionQuestions) -> str:
    """Return the mapping as stored with an import: column name -> target."""
    numbers, choice_numbers = numbering(session)
    return json.dumps({table.columns[m.column].name: target_value(m, numbers, choice_numbers) for m in columns},
                      ensure_ascii=False)


def existing_keys(db: sqlite_utils.Database, session_id: int) -> set[str]:
    """Return the row keys already imported into a session (withdrawn people included: never imported twice)."""
    return {r["import_key"] for r in rows(
        db, "SELECT import_key FROM participants WHERE session_id = ? AND import_key IS NOT NULL", (session_id,))}


def import_state(db: sqlite_utils.Database, session_id: int) -> tuple:
    """Return what changes when a session's imported people or imports change (an import, an undo, an erasure):
    a remembered import preview (its people already imported, the file imported before) is stale once it does."""
    people = one(db, "SELECT count(*) AS n, max(id) AS last FROM participants WHERE session_id = ? AND import_key IS NOT NULL",
                 (session_id,))
    imports = one(db, "SELECT count(*) AS n, max(id) AS last, count(undone_at) AS undone FROM imports WHERE session_id = ?",
                  (session_id,))
    return (people["n"], people["last"], imports["n"], imports["last"], imports["undone"])


def _utc(moment: dt.datetime | None, timezone: str) -> str | None:
    """Return a file's time as stored (UTC ISO 8601); a time without a zone is read in the session's zone."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
            moment = moment.replace(tzinfo=dt.UTC)
    stamp = moment.astimezone(dt.UTC)
    return stamp.isoformat(timespec="microseconds") if stamp <= dt.datetime.now(dt.UTC) else None


def store_import(db: sqlite_utils.Database, session_id: int, plan: im.ImportPlan, *, filename: str, data_hash: str,
                 sheet: str, tool: str, mapping: str, source: str, language: str, user_id: int | None) -> dict:
    """Store a confirmed plan in one transaction (see :func:`store_import_steps`); return the import's row."""
    return finish(store_import_steps(db, session_id, plan, filename=filename, data_hash=data_hash, sheet=sheet,
                                     tool=tool, mapping=mapping, source=source, language=language, user_id=user_id))


class Progress:
    """An import's steps (:func:`store_import_steps`) as (done, total) pairs; `stored` is the import's row once through."""

    def __init__(self, steps: Generator[tuple[int, int], None, dict]) -> None:
        """Wrap the steps; nothing is stored until they are iterated."""
        self.steps = steps
        self.stored: dict | None = None

    def __iter__(self):
        """Yield (people stored, people to store) after each batch, keeping the import's row at the end."""
        self.stored = yield from self.steps


def finish(steps: Generator[tuple[int, int], None, dict]) -> dict:
    """Run an import's steps (:func:`store_import_steps`) to the end and return the import's row."""
    run = Progress(steps)
    for _step in run:
        pass
    return run.stored


def store_import_steps(db: sqlite_utils.Database, session_id: int, plan: im.ImportPlan, *, filename: str,
                       data_hash: str, sheet: str, tool: str, mapping: str, source: str, language: str,
                       user_id: int | None) -> Generator[tuple[int, int], None, dict]:
    """Store a confirmed plan in one transaction: the import, then each new row as a participant with answers,
    yielding (people stored, of how many) as it goes, and returning the import's row.

    Rows whose key the session already holds are left alone (counted as ``already``); nothing is
    stored when the plan is blocked. Closing the generator before its end rolls it all back.
    """
    if plan.blocked:
        raise ValueError("A blocked plan (no consent rule) cannot be stored")
    found = queries.session_by_id(db, session_id)
    with transaction(db):
        fresh = plan.new_records(existing_keys(db, session_id))
        counts = {**dict(plan.counts), "stored": len(fresh), "already": len(plan.records) - len(fresh),
                  "stored_answers": sum(len(r.answers) for r in fresh)}
        import_id = db.execute(
            """INSERT INTO imports (session_id, filename, file_hash, sheet, tool, mapping, consent_method,
                   consent_statement, consent_version, source, language, counts, imported_by, imported_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (session_id, filename[:255], data_hash, sheet, tool, mapping, plan.consent_method, plan.consent_statement,
             plan.consent_version, source, language, json.dumps(counts), user_id, queries.now()),
        ).lastrowid
        yield from queries.record_imported_steps(db, session_id, [_person(r, found["timezone"]) for r in fresh],
                                                 import_id=import_id, recorded_by=user_id)
        queries.record_audit(db, user_id=user_id, action="import", target=found["code"],
                             detail=f"import={import_id} file_sha256={data_hash[:16]} stored={counts['stored']} "
                                    f"already={counts['already']} refused={counts.get('refused', 0)}")
    return import_by_id(db, session_id, import_id)


def _person(record: im.ImportRecord, timezone: str) -> queries.ImportedPerson:
    """Turn one planned row into what the store writes: its consent, contact details if agreed, and answers."""
    contact = ({"name": record.contact.name, "phone": record.contact.phone, "email": record.contact.email}
               if record.contact is not None and record.contact_ok else None)
    answers = tuple((a.question_id, a.text, a.choice_ids if a.choice_ids else None, a.number) for a in record.answers)
    return queries.ImportedPerson(record.key, record.language, record.source, _utc(record.submitted_at, timezone),
                                  record.quote_ok, record.contact_ok, contact, answers)


def _decoded(found: dict | None) -> dict | None:
    """Decode an imports row's JSON columns."""
    if found is not None:
        found["counts"] = json.loads(found["counts"])
        found["mapping"] = json.loads(found["mapping"])
    return found


def import_by_id(db: sqlite_utils.Database, session_id: int, import_id: int) -> dict | None:
    """Return one import of a session with who made it and how many of its people are still in, or None."""
    return _decoded(one(
        db,
        """SELECT i.*, u.email AS imported_by_email,
             (SELECT count(*) FROM participants p WHERE p.import_id = i.id AND p.withdrawn_at IS NULL) AS people
           FROM imports i LEFT JOIN users u ON u.id = i.imported_by WHERE i.id = ? AND i.session_id = ?""",
        (import_id, session_id)))


def imports_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's imports, newest first."""
    found = rows(
        db,
        """SELECT i.*, u.email AS imported_by_email,
             (SELECT count(*) FROM participants p WHERE p.import_id = i.id AND p.withdrawn_at IS NULL) AS people
           FROM imports i LEFT JOIN users u ON u.id = i.imported_by WHERE i.session_id = ? ORDER BY i.id DESC""",
        (session_id,))
    return [_decoded(f) for f in found]


def imported_before(db: sqlite_utils.Database, session_id: int, data_hash: str) -> dict | None:
    """Return the latest import of a session (not undone) with the same file, or None."""
    found = one(db, "SELECT id FROM imports WHERE session_id = ? AND file_hash = ? AND undone_at IS NULL "
                    "ORDER BY id DESC LIMIT 1", (session_id, data_hash))
    return import_by_id(db, session_id, found["id"]) if found else None


def undo_blockers(db: sqlite_utils.Database, import_id: int) -> dict:
    """Count what planners built on an import's answers: answers in reviewed themes, and chosen quotes."""
    return one(
        db,
        """SELECT
             (SELECT count(*) FROM theme_assignments a JOIN themes t ON t.id = a.theme_id
                JOIN responses r ON r.id = a.response_id JOIN participants p ON p.id = r.participant_id
               WHERE p.import_id = :i AND t.reviewed_at IS NOT NULL AND t.retired_at IS NULL) AS reviewed,
             (SELECT count(*) FROM theme_assignments a JOIN responses r ON r.id = a.response_id
                JOIN participants p ON p.id = r.participant_id WHERE p.import_id = :i AND a.chosen = 1) AS quotes""",
        {"i": import_id})


class UndoRefused(ValueError):
    """An import cannot be undone: already undone, or reviewed themes stand on its answers."""

    def __init__(self, reason: str, counts: dict | None = None) -> None:
        """Keep the reason ('undone' or 'reviewed') and the counts that explain it."""
        super().__init__(reason)
        self.reason = reason
        self.counts = counts or {}


def undo_import(db: sqlite_utils.Database, session_id: int, import_id: int, *, user_id: int | None) -> dict:
    """Delete everything an import stored (people, consents, contacts, answers), in one transaction, and log it.

    Refused while a reviewed theme holds one of its answers or one is a chosen quote: a person's
    decisions are not undone behind their back. The import's row stays, marked undone, so the
    history says what happened; the same file can then be imported again.
    """
    with transaction(db):
        found = import_by_id(db, session_id, import_id)
        if found is None or found["undone_at"]:
            raise UndoRefused("undone")
        blockers = undo_blockers(db, import_id)
        if blockers["reviewed"] or blockers["quotes"]:
            raise UndoRefused("reviewed", blockers)
        stamp = queries.now()
        counts = queries.erase_import(db, found, at=stamp, reason="a staff member undid an import", by_user=user_id)
        code = queries.session_by_id(db, session_id)["code"]
        # In the erasure ledger too, so restoring a backup taken before this undo does not bring these people back.
        erasure = Erasure(at=stamp, kind="import_undo", session_code=code, receipt_hash=found["file_hash"])
        erasures.record(db, erasure)
        queries.record_audit(db, user_id=user_id, action="import_undone", target=code,
                             detail=f"import={import_id} people={counts['people']} answers={counts['answers']}")
    erasures.settle(db, [erasure])  # the ledger file, and no copy of the deleted rows left in -wal
    return counts
