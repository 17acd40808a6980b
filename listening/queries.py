"""Sessions, their texts and prompts, participants, consent and answers: plain functions taking `db`.

Views call these and render; they never assemble SQL. Every write that must be all-or-nothing
runs inside `transaction(db)`.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, Sequence

import sqlite_utils

from . import erasures
from .db import one, rows, transaction
from .erasures import Erasure

# Easy to read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
RECEIPT_CODE_LENGTH = 12

PROMPT_KINDS = ("open", "single", "multiple", "scale", "about")
CHOICE_KINDS = ("single", "multiple", "about")
SESSION_FIELDS = ("title", "purpose", "consent")
# Session texts a language may leave empty: whom to contact falls back to the session's settings.
OPTIONAL_SESSION_FIELDS = ("contact",)
DEMOGRAPHICS = ("age", "race_ethnicity", "language", "neighbourhood", "gender", "other")
SOURCES = ("phone", "paper", "sticky", "phone_call", "interpreter")


def now() -> str:
    """Return the current UTC time as an ISO 8601 string, the form every time is stored in."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def normalize_code(raw: str) -> str:
    """Turn what someone typed or read aloud into a canonical code: upper case, no spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def new_code(length: int) -> str:
    """Return a random code from the unambiguous alphabet."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def format_receipt(code: str) -> str:
    """Show a receipt code in groups of four so it is easy to copy down."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def receipt_hash(code: str) -> str:
    """Hash a receipt code so the database never holds one that could be replayed."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


# --- sessions -------------------------------------------------------------------------------


def _session_row(row: dict | None) -> dict | None:
    """Decode a sessions row's JSON columns."""
    if row is not None:
        row["languages"] = json.loads(row["languages"])
        row["default_language"] = row["languages"][0]
    return row


def session_by_code(db: sqlite_utils.Database, code: str) -> dict | None:
    """Return the session with this join code, or None."""
    return _session_row(one(db, "SELECT * FROM sessions WHERE code = ?", (normalize_code(code),)))


def session_by_id(db: sqlite_utils.Database, session_id: int) -> dict | None:
    """Return the session with this id, or None."""
    return _session_row(one(db, "SELECT * FROM sessions WHERE id = ?", (session_id,)))


def all_sessions(db: sqlite_utils.Database, *, among: tuple[str, dict] | None = None) -> list[dict]:
    """Return every session (or those whose id the SQL `among` selects), newest first, with title and counts."""
    where, params = (f"WHERE s.id IN ({among[0]})", among[1]) if among is not None else ("", {})
    found = rows(
        db,
        f"""
        SELECT s.*,
          (SELECT body FROM texts t WHERE t.owner = 'session' AND t.owner_id = s.id
             AND t.field = 'title' AND t.language = json_extract(s.languages, '$[0]')) AS title,
          (SELECT count(*) FROM participants p WHERE p.session_id = s.id
             AND p.withdrawn_at IS NULL) AS participant_count
        FROM sessions s {where} ORDER BY s.created_at DESC, s.id DESC
        """,
        params,
    )
    return [_session_row(row) for row in found]


def create_session(
    db: sqlite_utils.Database,
    *,
    languages: Sequence[str],
    mode: str,
    timezone_name: str,
    created_by: int | None,
    texts: dict[str, dict[str, str]] | None = None,
    minutes: int = 15,
    contact: str = "",
    wall_moderation: bool = True,
) -> dict:
    """Create a draft session with a fresh join code; `texts` maps field -> language -> body.

    `wall_moderation` (on unless said otherwise) holds open answers for a facilitator's
    approval before the projector wall shows them.
    """
    if not languages:
        raise ValueError("A session needs at least one language")
    if mode not in ("live", "self_paced"):
        raise ValueError(f"Unknown mode {mode!r}")
    with transaction(db):
        while True:
            code = new_code(JOIN_CODE_LENGTH)
            if one(db, "SELECT 1 FROM sessions WHERE code = ?", (code,)) is None:
                break
        stamp = now()
        cursor = db.execute(
            """INSERT INTO sessions (code, mode, status, languages, timezone, minutes, contact,
                   created_by, created_at, updated_at, wall_moderation)
               VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?)""",
            (code, mode, json.dumps(list(languages)), timezone_name, minutes, contact,
             created_by, stamp, stamp, int(bool(wall_moderation))),
        )
        session_id = cursor.lastrowid
        for field, by_language in (texts or {}).items():
            for language, body in by_language.items():
                set_text(db, session_id, "session", session_id, field, language, body)
    return session_by_id(db, session_id)


def update_session(db: sqlite_utils.Database, session_id: int, **changes) -> None:
    """Change a session's settings (languages, mode, timezone, minutes, contact, wall_moderation)."""
    allowed = {"languages", "mode", "timezone", "minutes", "contact", "wall_moderation"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Cannot change {sorted(unknown)} with update_session")
    if "languages" in changes:
        changes["languages"] = json.dumps(list(changes["languages"]))
    if "wall_moderation" in changes:
        changes["wall_moderation"] = int(bool(changes["wall_moderation"]))
    if not changes:
        return
    assignments = ", ".join(f"{name} = ?" for name in changes)
    with transaction(db):
        db.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE id = ?",
            (*changes.values(), now(), session_id),
        )


def set_status(db: sqlite_utils.Database, session_id: int, status: str) -> None:
    """Move a session to draft, open or closed, recording when it opened or closed."""
    if status not in ("draft", "open", "closed"):
        raise ValueError(f"Unknown status {status!r}")
    stamp = now()
    with transaction(db):
        if status == "open":
            snapshot_consent(db, session_id)
            db.execute(
                "UPDATE sessions SET status = 'open', opened_at = coalesce(opened_at, ?), "
                "closed_at = NULL, updated_at = ? WHERE id = ?",
                (stamp, stamp, session_id),
            )
        elif status == "closed":
            db.execute(
                "UPDATE sessions SET status = 'closed', closed_at = ?, answering_open = 0, "
                "updated_at = ? WHERE id = ?",
                (stamp, stamp, session_id),
            )
        else:
            db.execute(
                "UPDATE sessions SET status = 'draft', updated_at = ? WHERE id = ?",
                (stamp, session_id),
            )


# --- texts ----------------------------------------------------------------------------------


def set_text(
    db: sqlite_utils.Database, session_id: int, owner: str, owner_id: int, field: str,
    language: str, body: str,
) -> None:
    """Store one piece of session text in one language; an empty body removes it."""
    body = (body or "").strip()
    with transaction(db):
        if not body:
            db.execute(
                "DELETE FROM texts WHERE owner = ? AND owner_id = ? AND field = ? AND language = ?",
                (owner, owner_id, field, language),
            )
            return
        db.execute(
            """INSERT INTO texts (session_id, owner, owner_id, field, language, body, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (owner, owner_id, field, language)
               DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
               WHERE texts.body != excluded.body""",
            (session_id, owner, owner_id, field, language, body, now()),
        )


def texts_for_session(db: sqlite_utils.Database, session_id: int) -> dict[tuple[str, int, str], dict[str, str]]:
    """Return all of a session's text as {(owner, owner_id, field): {language: body}}."""
    found: dict[tuple[str, int, str], dict[str, str]] = {}
    for row in rows(db, "SELECT * FROM texts WHERE session_id = ?", (session_id,)):
        found.setdefault((row["owner"], row["owner_id"], row["field"]), {})[row["language"]] = row["body"]
    return found


@dataclass(frozen=True)
class TextSlot:
    """One piece of session text that every offered language needs."""

    owner: str
    owner_id: int
    field: str
    prompt_position: int | None = None
    option_position: int | None = None
    optional: bool = False

    @property
    def key(self) -> str:
        """A stable form-field name for this slot."""
        return f"{self.owner}-{self.owner_id}-{self.field}"


def text_slots(db: sqlite_utils.Database, session_id: int) -> list[TextSlot]:
    """List every piece of text a session needs in each of its languages, in reading order."""
    slots = [TextSlot("session", session_id, field) for field in SESSION_FIELDS[:2]]
    slots += [TextSlot("session", session_id, field, optional=True) for field in OPTIONAL_SESSION_FIELDS]
    slots += [TextSlot("session", session_id, field) for field in SESSION_FIELDS[2:]]
    for prompt in prompts_for_session(db, session_id):
        slots.append(TextSlot("prompt", prompt["id"], "text", prompt["position"]))
        if prompt["kind"] == "scale":
            slots.append(TextSlot("prompt", prompt["id"], "min_label", prompt["position"]))
            slots.append(TextSlot("prompt", prompt["id"], "max_label", prompt["position"]))
        for option in prompt["options"]:
            if not option["prefer_not"]:
                slots.append(
                    TextSlot("option", option["id"], "label", prompt["position"], option["position"])
                )
    return slots


def missing_texts(db: sqlite_utils.Database, session_id: int) -> list[tuple[TextSlot, str]]:
    """Return (slot, language) for every piece of text not yet written in an offered language."""
    session = session_by_id(db, session_id)
    present = texts_for_session(db, session_id)
    missing = []
    for slot in text_slots(db, session_id):
        if slot.optional:
            continue
        have = present.get((slot.owner, slot.owner_id, slot.field), {})
        for language in session["languages"]:
            if not have.get(language, "").strip():
                missing.append((slot, language))
    return missing


def contact_for(texts: dict, session: dict, language: str) -> str:
    """Return whom residents of `language` can contact: that language's own wording, else the session's setting."""
    own = texts.get(("session", session["id"], "contact"), {}).get(language, "")
    return (own or session["contact"] or "").strip()


def localized(texts: dict, owner: str, owner_id: int, field: str, language: str, fallback: str) -> str:
    """Pick a text in `language`, else in the session default `fallback`, else an empty string."""
    by_language = texts.get((owner, owner_id, field), {})
    return by_language.get(language) or by_language.get(fallback) or ""


# --- prompts --------------------------------------------------------------------------------


def prompts_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return a session's prompts in order, each with its options, numbered from 1."""
    prompts = rows(
        db, "SELECT * FROM prompts WHERE session_id = ? ORDER BY position, id", (session_id,)
    )
    options = rows(
        db,
        """SELECT o.* FROM options o JOIN prompts p ON p.id = o.prompt_id
           WHERE p.session_id = ? ORDER BY o.prompt_id, o.position, o.id""",
        (session_id,),
    )
    by_prompt: dict[int, list[dict]] = {}
    for option in options:
        by_prompt.setdefault(option["prompt_id"], []).append(option)
    for number, prompt in enumerate(prompts, start=1):
        prompt["number"] = number
        prompt["options"] = by_prompt.get(prompt["id"], [])
    return prompts


def prompt_in_session(db: sqlite_utils.Database, session_id: int, prompt_id: int) -> dict | None:
    """Return a prompt only if it belongs to this session."""
    for prompt in prompts_for_session(db, session_id):
        if prompt["id"] == prompt_id:
            return prompt
    return None


def add_prompt(
    db: sqlite_utils.Database,
    session_id: int,
    *,
    kind: str,
    texts: dict[str, str],
    options: dict[str, list[str]] | None = None,
    required: bool = False,
    demographic: str | None = None,
    scale_min: int | None = None,
    scale_max: int | None = None,
    scale_labels: dict[str, tuple[str, str]] | None = None,
) -> int:
    """Add a prompt at the end of a session; `texts` and `options` are keyed by language."""
    if kind not in PROMPT_KINDS:
        raise ValueError(f"Unknown prompt kind {kind!r}")
    if kind == "scale":
        scale_min = 1 if scale_min is None else scale_min
        scale_max = 5 if scale_max is None else scale_max
        if not scale_min < scale_max or scale_max - scale_min > 10:
            raise ValueError("A scale runs from a lower to a higher number, at most 11 points")
    with transaction(db):
        position = one(
            db, "SELECT coalesce(max(position), 0) + 1 AS p FROM prompts WHERE session_id = ?",
            (session_id,),
        )["p"]
        prompt_id = db.execute(
            """INSERT INTO prompts (session_id, position, kind, required, demographic,
                   scale_min, scale_max, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (session_id, position, kind, int(required), demographic if kind == "about" else None,
             scale_min if kind == "scale" else None, scale_max if kind == "scale" else None, now()),
        ).lastrowid
        for language, body in texts.items():
            set_text(db, session_id, "prompt", prompt_id, "text", language, body)
        for language, (low, high) in (scale_labels or {}).items():
            set_text(db, session_id, "prompt", prompt_id, "min_label", language, low)
            set_text(db, session_id, "prompt", prompt_id, "max_label", language, high)
        if kind in CHOICE_KINDS:
            set_options(db, session_id, prompt_id, options or {})
    return prompt_id


def set_options(db: sqlite_utils.Database, session_id: int, prompt_id: int, options: dict[str, list[str]]) -> None:
    """Make a choice prompt's options match the given lines, line n being option n in every language.

    Options that already have answers are never deleted; shortening the list past them raises.
    """
    prompt = one(db, "SELECT * FROM prompts WHERE id = ?", (prompt_id,))
    count = max((len(labels) for labels in options.values()), default=0)
    with transaction(db):
        existing = rows(
            db, "SELECT * FROM options WHERE prompt_id = ? AND prefer_not = 0 ORDER BY position, id",
            (prompt_id,),
        )
        for extra in existing[count:]:
            if _option_used(db, prompt_id, extra["id"]):
                raise OptionInUse(extra["id"])
            db.execute("DELETE FROM texts WHERE owner = 'option' AND owner_id = ?", (extra["id"],))
            db.execute("DELETE FROM options WHERE id = ?", (extra["id"],))
        ids = [row["id"] for row in existing[:count]]
        for position in range(len(ids), count):
            ids.append(
                db.execute(
                    "INSERT INTO options (prompt_id, position, prefer_not) VALUES (?, ?, 0)",
                    (prompt_id, position + 1),
                ).lastrowid
            )
        for position, option_id in enumerate(ids, start=1):
            db.execute("UPDATE options SET position = ? WHERE id = ?", (position, option_id))
            for language, labels in options.items():
                label = labels[position - 1] if position - 1 < len(labels) else ""
                set_text(db, session_id, "option", option_id, "label", language, label)
        has_prefer_not = one(
            db, "SELECT id FROM options WHERE prompt_id = ? AND prefer_not = 1", (prompt_id,)
        )
        if prompt["kind"] == "about" and has_prefer_not is None:
            db.execute(
                "INSERT INTO options (prompt_id, position, prefer_not) VALUES (?, ?, 1)",
                (prompt_id, count + 1),
            )
        elif has_prefer_not is not None:
            db.execute(
                "UPDATE options SET position = ? WHERE id = ?", (count + 1, has_prefer_not["id"])
            )


class OptionInUse(Exception):
    """An option that residents have chosen cannot be removed."""


def _option_used(db: sqlite_utils.Database, prompt_id: int, option_id: int) -> bool:
    """Tell whether any answer to this prompt chose this option."""
    for row in rows(db, "SELECT choices FROM responses WHERE prompt_id = ? AND choices IS NOT NULL", (prompt_id,)):
        if option_id in json.loads(row["choices"]):
            return True
    return False


def update_prompt(db: sqlite_utils.Database, prompt_id: int, **changes) -> None:
    """Change a prompt's settings (kind, required, demographic, scale_min, scale_max).

    A prompt that stops being a choice question loses its options and their texts.
    """
    allowed = {"kind", "required", "demographic", "scale_min", "scale_max"}
    if set(changes) - allowed:
        raise ValueError(f"Cannot change {sorted(set(changes) - allowed)} with update_prompt")
    if "kind" in changes and changes["kind"] not in PROMPT_KINDS:
        raise ValueError(f"Unknown prompt kind {changes['kind']!r}")
    if not changes:
        return
    assignments = ", ".join(f"{name} = ?" for name in changes)
    with transaction(db):
        db.execute(f"UPDATE prompts SET {assignments} WHERE id = ?", (*changes.values(), prompt_id))
        kind = one(db, "SELECT kind FROM prompts WHERE id = ?", (prompt_id,))["kind"]
        if kind not in CHOICE_KINDS:
            for option in rows(db, "SELECT id FROM options WHERE prompt_id = ?", (prompt_id,)):
                db.execute("DELETE FROM texts WHERE owner = 'option' AND owner_id = ?", (option["id"],))
            db.execute("DELETE FROM options WHERE prompt_id = ?", (prompt_id,))
        elif kind != "about":
            db.execute("DELETE FROM options WHERE prompt_id = ? AND prefer_not = 1", (prompt_id,))


def move_prompt(db: sqlite_utils.Database, session_id: int, prompt_id: int, step: int) -> None:
    """Move a prompt up (step -1) or down (step 1) in its session's order."""
    with transaction(db):
        order = [p["id"] for p in prompts_for_session(db, session_id)]
        index = order.index(prompt_id)
        target = index + step
        if 0 <= target < len(order):
            order[index], order[target] = order[target], order[index]
            for position, pid in enumerate(order, start=1):
                db.execute("UPDATE prompts SET position = ? WHERE id = ?", (position, pid))


def prompt_answer_count(db: sqlite_utils.Database, prompt_id: int) -> int:
    """Count the answers stored for a prompt."""
    return one(db, "SELECT count(*) AS n FROM responses WHERE prompt_id = ?", (prompt_id,))["n"]


def delete_prompt(db: sqlite_utils.Database, session_id: int, prompt_id: int) -> None:
    """Delete a prompt that has no answers, with its options and texts."""
    with transaction(db):
        if prompt_answer_count(db, prompt_id):
            raise ValueError("A prompt with answers cannot be deleted")
        option_ids = [r["id"] for r in rows(db, "SELECT id FROM options WHERE prompt_id = ?", (prompt_id,))]
        for option_id in option_ids:
            db.execute("DELETE FROM texts WHERE owner = 'option' AND owner_id = ?", (option_id,))
        db.execute("DELETE FROM texts WHERE owner = 'prompt' AND owner_id = ?", (prompt_id,))
        db.execute("DELETE FROM prompts WHERE id = ? AND session_id = ?", (prompt_id, session_id))
        if one(db, "SELECT current_prompt_id FROM sessions WHERE id = ?", (session_id,))["current_prompt_id"] == prompt_id:
            db.execute("UPDATE sessions SET current_prompt_id = NULL, answering_open = 0 WHERE id = ?", (session_id,))
        for position, pid in enumerate(
            [p["id"] for p in prompts_for_session(db, session_id)], start=1
        ):
            db.execute("UPDATE prompts SET position = ? WHERE id = ?", (position, pid))


# --- consent --------------------------------------------------------------------------------


def snapshot_consent(db: sqlite_utils.Database, session_id: int) -> int:
    """Record the consent statement as a new version if its text changed; return the version."""
    with transaction(db):
        texts = texts_for_session(db, session_id).get(("session", session_id, "consent"), {})
        latest = one(
            db, "SELECT max(version) AS v FROM consent_versions WHERE session_id = ?", (session_id,)
        )["v"] or 0
        current = {
            r["language"]: r["body"]
            for r in rows(
                db, "SELECT language, body FROM consent_versions WHERE session_id = ? AND version = ?",
                (session_id, latest),
            )
        }
        if current == texts and latest:
            return latest
        version = latest + 1
        stamp = now()
        for language, body in texts.items():
            db.execute(
                "INSERT INTO consent_versions (session_id, version, language, body, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, version, language, body, stamp),
            )
        return version


def current_consent(db: sqlite_utils.Database, session_id: int, language: str) -> dict | None:
    """Return the latest recorded consent statement in a language, or None if there is none."""
    return one(
        db,
        """SELECT * FROM consent_versions WHERE session_id = ? AND language = ?
           ORDER BY version DESC LIMIT 1""",
        (session_id, language),
    )


@dataclass(frozen=True)
class NewParticipant:
    """A participant just created, with the receipt code only they will ever see."""

    id: int
    receipt: str
    created: bool


# What a quote permission covered: the words of its checkbox named the room's screen, or only reports.
QUOTE_SCOPES = (None, "reports", "screen_and_reports")


def record_consent(
    db: sqlite_utils.Database,
    session_id: int,
    *,
    consent_version_id: int,
    language: str,
    nonce: str,
    quote_ok: bool,
    contact_ok: bool,
    contact: dict[str, str] | None = None,
    method: str = "self",
    source: str = "phone",
    recorded_by: int | None = None,
    quote_scope: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> NewParticipant:
    """Create a participant with their consent (and contact details, kept apart) in one go.

    `quote_scope` says what the quote permission's words covered ('screen_and_reports' when they
    named the room's screen, 'reports' when not); `labels` are the choices' words as shown. A
    quote permission without a scope never reaches the room's screen. A repeat of the same form
    (same nonce) returns the participant it already created.
    """
    if quote_scope not in QUOTE_SCOPES:
        raise ValueError(f"Unknown quote scope {quote_scope!r}")
    with transaction(db):
        seen = one(db, "SELECT participant_id FROM submissions WHERE nonce = ?", (nonce,))
        if seen is not None:
            return NewParticipant(seen["participant_id"], "", created=False)
        version = one(
            db, "SELECT * FROM consent_versions WHERE id = ? AND session_id = ?",
            (consent_version_id, session_id),
        )
        if version is None:
            raise ValueError("That consent statement does not belong to this session")
        stamp = now()
        while True:
            receipt = new_code(RECEIPT_CODE_LENGTH)
            if one(db, "SELECT 1 FROM participants WHERE receipt_hash = ?", (receipt_hash(receipt),)) is None:
                break
        participant_id = db.execute(
            "INSERT INTO participants (session_id, receipt_hash, language, source, entered_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, receipt_hash(receipt), language, source, recorded_by, stamp),
        ).lastrowid
        db.execute(
            """INSERT INTO consents (participant_id, session_id, consent_version_id, version, language,
                   method, take_part, quote_ok, contact_ok, given_at, recorded_by, quote_scope, choice_labels)
               VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)""",
            (participant_id, session_id, version["id"], version["version"], version["language"],
             method, int(quote_ok), int(contact_ok), stamp, recorded_by, quote_scope,
             json.dumps(dict(labels), ensure_ascii=False) if labels else None),
        )
        details = {k: (v or "").strip() for k, v in (contact or {}).items()}
        if contact_ok and any(details.values()):
            db.execute(
                "INSERT INTO contacts (participant_id, name, phone, email, created_at) VALUES (?, ?, ?, ?, ?)",
                (participant_id, details.get("name", ""), details.get("phone", ""),
                 details.get("email", ""), stamp),
            )
        db.execute(
            "INSERT INTO submissions (nonce, participant_id, kind, at) VALUES (?, ?, 'consent', ?)",
            (nonce, participant_id, stamp),
        )
    return NewParticipant(participant_id, receipt, created=True)


def participant(db: sqlite_utils.Database, participant_id: int) -> dict | None:
    """Return a participant with their consent choices, or None."""
    return one(
        db,
        """SELECT p.*, c.quote_ok, c.contact_ok, c.version AS consent_version, c.method,
                  c.given_at, c.language AS consent_language
           FROM participants p LEFT JOIN consents c ON c.participant_id = p.id WHERE p.id = ?""",
        (participant_id,),
    )


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """The outcome of saving an answer: whether this request changed anything."""

    response_id: int | None
    duplicate: bool


def save_response(
    db: sqlite_utils.Database,
    *,
    session_id: int,
    participant_id: int,
    prompt_id: int,
    nonce: str,
    language: str,
    text: str | None = None,
    choices: Iterable[int] | None = None,
    number: int | None = None,
    skipped: bool = False,
    source: str = "phone",
    entered_by: int | None = None,
) -> Saved:
    """Store (or replace) a participant's answer to a prompt, exactly once per form.

    The nonce makes retries, replays and double taps harmless: the first commit wins and later
    copies change nothing. A new form for the same prompt (going back to change an answer)
    replaces the earlier answer instead of adding a second one.
    """
    with transaction(db):
        if one(db, "SELECT 1 FROM submissions WHERE nonce = ?", (nonce,)) is not None:
            return Saved(None, duplicate=True)
        owner = one(
            db, "SELECT session_id, withdrawn_at FROM participants WHERE id = ?", (participant_id,)
        )
        if owner is None or owner["session_id"] != session_id or owner["withdrawn_at"]:
            raise ValueError("This participant cannot answer in this session")
        if one(db, "SELECT 1 FROM prompts WHERE id = ? AND session_id = ?", (prompt_id, session_id)) is None:
            raise ValueError("That prompt does not belong to this session")
        stamp = now()
        choice_json = json.dumps(sorted(set(choices))) if choices is not None else None
        cursor = db.execute(
            """INSERT INTO responses (session_id, participant_id, prompt_id, language, source, text,
                   choices, number, skipped, entered_by, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (participant_id, prompt_id) DO UPDATE SET
                   language = excluded.language, text = excluded.text, choices = excluded.choices,
                   number = excluded.number, skipped = excluded.skipped,
                   updated_at = excluded.updated_at
               RETURNING id""",
            (session_id, participant_id, prompt_id, language, source, text, choice_json, number,
             int(skipped), entered_by, stamp, stamp),
        )
        response_id = cursor.fetchone()[0]
        db.execute(
            "INSERT INTO submissions (nonce, participant_id, kind, at) VALUES (?, ?, 'answer', ?)",
            (nonce, participant_id, stamp),
        )
    return Saved(response_id, duplicate=False)


def answers_of(db: sqlite_utils.Database, participant_id: int) -> dict[int, dict]:
    """Return a participant's answers keyed by prompt id, with choices decoded."""
    found = {}
    for row in rows(db, "SELECT * FROM responses WHERE participant_id = ?", (participant_id,)):
        row["choices"] = json.loads(row["choices"]) if row["choices"] else []
        found[row["prompt_id"]] = row
    return found


def responses_for_session(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return every stored answer of a session (not withdrawn), oldest first."""
    found = rows(
        db,
        """SELECT r.*, c.quote_ok FROM responses r
           JOIN participants p ON p.id = r.participant_id
           LEFT JOIN consents c ON c.participant_id = p.id
           WHERE r.session_id = ? AND p.withdrawn_at IS NULL
           ORDER BY r.created_at, r.id""",
        (session_id,),
    )
    for row in found:
        row["choices"] = json.loads(row["choices"]) if row["choices"] else []
    return found


def session_counts(db: sqlite_utils.Database, session_id: int) -> dict:
    """Count a session's participants, withdrawals and answers."""
    return one(
        db,
        """SELECT
             (SELECT count(*) FROM participants WHERE session_id = :s AND withdrawn_at IS NULL) AS participants,
             (SELECT count(*) FROM participants WHERE session_id = :s AND withdrawn_at IS NOT NULL) AS withdrawn,
             (SELECT count(*) FROM responses WHERE session_id = :s AND skipped = 0) AS answers""",
        {"s": session_id},
    )


# --- withdrawal -----------------------------------------------------------------------------

# Why staff withdrew someone on their behalf: how the person asked. Kept as a reason in the
# deletion log; never what they said or who they are.
STAFF_WITHDRAWAL_REASONS = {
    "in_person": "asked in person",
    "phone": "asked by phone",
    "writing": "asked in writing",
    "interpreter": "asked through an interpreter",
    "representative": "someone they authorised asked for them",
}


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did: 'withdrawn', 'already' (and when) or 'unknown', with how much went."""

    outcome: str
    at: str | None = None
    session_id: int | None = None
    answers: int = 0
    contacts: int = 0


def participant_by_receipt(db: sqlite_utils.Database, receipt: str) -> dict | None:
    """Return the participant a receipt code belongs to (with their session's code), or None."""
    return one(
        db,
        """SELECT p.*, s.code FROM participants p JOIN sessions s ON s.id = p.session_id
           WHERE p.receipt_hash = ?""",
        (receipt_hash(receipt),),
    )


def erase_participant(
    db: sqlite_utils.Database, found: dict, *, at: str, reason: str, by_user: int | None = None,
) -> tuple[int, int]:
    """Delete a participant's answers and contact details inside the caller's transaction; return the counts.

    Their consent record stays (it says they took part and when), with quoting and contact
    turned off; the deletion log says how much went and why, never what.
    """
    answers = db.execute("DELETE FROM responses WHERE participant_id = ?", (found["id"],)).rowcount
    contacts = db.execute("DELETE FROM contacts WHERE participant_id = ?", (found["id"],)).rowcount
    db.execute("UPDATE consents SET quote_ok = 0, contact_ok = 0 WHERE participant_id = ?", (found["id"],))
    db.execute("UPDATE participants SET withdrawn_at = ? WHERE id = ?", (at, found["id"]))
    log_deletion(
        db, session_id=found["session_id"], kind="withdrawal",
        detail=f"answers={answers} contact_details={contacts}", reason=reason, by_user=by_user,
    )
    return answers, contacts


def _withdraw(db: sqlite_utils.Database, where: str, key, *, reason: str, by_user: int | None,
              audit_action: str, audit_reason: str = "") -> Withdrawal:
    """Withdraw the participant matching `where`, log it, add it to the erasure ledger and settle the log."""
    with transaction(db):
        found = one(
            db,
            f"""SELECT p.id, p.session_id, p.withdrawn_at, p.receipt_hash, s.code
                FROM participants p JOIN sessions s ON s.id = p.session_id WHERE {where}""",
            (key,),
        )
        if found is None:
            return Withdrawal("unknown")
        if found["withdrawn_at"]:
            return Withdrawal("already", found["withdrawn_at"], found["session_id"])
        stamp = now()
        answers, contacts = erase_participant(db, found, at=stamp, reason=reason, by_user=by_user)
        erasure = Erasure(at=stamp, kind="withdrawal", session_code=found["code"], receipt_hash=found["receipt_hash"])
        erasures.record(db, erasure)
        record_audit(db, user_id=by_user, action=audit_action, target=found["code"],
                     detail=f"answers={answers} contact_details={contacts}" + (f" reason={audit_reason}" if audit_reason else ""))
    erasures.settle(db, [erasure])
    return Withdrawal("withdrawn", stamp, found["session_id"], answers, contacts)


def withdraw(db: sqlite_utils.Database, receipt: str) -> Withdrawal:
    """Delete a participant's answers and contact details and log that it happened, not what."""
    return _withdraw(db, "p.receipt_hash = ?", receipt_hash(receipt), by_user=None, audit_action="withdrawal",
                     reason="participant withdrew with their receipt code")


def withdraw_for(db: sqlite_utils.Database, participant_id: int, *, reason: str, by_user: int) -> Withdrawal:
    """Withdraw a participant on their behalf (staff, with one of STAFF_WITHDRAWAL_REASONS), logged with who and why."""
    if reason not in STAFF_WITHDRAWAL_REASONS:
        raise ValueError(f"Unknown withdrawal reason {reason!r}")
    return _withdraw(db, "p.id = ?", participant_id, by_user=by_user, audit_action="withdrawal_by_staff",
                     reason=f"withdrawn by staff on the person's behalf: {STAFF_WITHDRAWAL_REASONS[reason]}",
                     audit_reason=reason)


def log_deletion(
    db: sqlite_utils.Database, *, session_id: int | None, kind: str, detail: str, reason: str,
    by_user: int | None = None,
) -> None:
    """Record that data was deleted: what kind, when and why, never the content."""
    db.execute(
        "INSERT INTO deletion_log (session_id, kind, detail, reason, at, by_user) VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, kind, detail, reason, now(), by_user),
    )


def deletion_log(db: sqlite_utils.Database, session_id: int | None = None) -> list[dict]:
    """Return the deletion log, newest first, for one session or all, with the email of the staff member who deleted."""
    select = "SELECT d.*, u.email FROM deletion_log d LEFT JOIN users u ON u.id = d.by_user"
    if session_id is None:
        return rows(db, f"{select} ORDER BY d.id DESC")
    return rows(db, f"{select} WHERE d.session_id = ? ORDER BY d.id DESC", (session_id,))


# --- audit ----------------------------------------------------------------------------------


def record_audit(db: sqlite_utils.Database, *, user_id: int | None, action: str, target: str = "", detail: str = "") -> None:
    """Add a line to the audit log: who did what to what, and when."""
    with transaction(db):
        db.execute(
            "INSERT INTO audit_log (at, user_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (now(), user_id, action, target, detail),
        )


def audit_entries(db: sqlite_utils.Database, limit: int = 500) -> list[dict]:
    """Return the latest audit log lines with the acting user's email."""
    return rows(
        db,
        """SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
           ORDER BY a.id DESC LIMIT ?""",
        (limit,),
    )


# --- planners' settings that staff screens read too ----------------------------------------------


def synthesis_settings(db: sqlite_utils.Database, session_id: int) -> dict:
    """Return a session's synthesis settings as stored (threshold None when never saved), names split into a list."""
    found = one(db, "SELECT * FROM synthesis_settings WHERE session_id = ?", (session_id,))
    if found is None:
        found = {"session_id": session_id, "prompt_ids": "[]", "names": "", "threshold": None,
                 "published": 0, "published_at": None, "published_by": None, "updated_at": None}
    found["prompt_ids"] = json.loads(found["prompt_ids"])
    found["name_list"] = [line.strip() for line in found["names"].splitlines() if line.strip()]
    return found
