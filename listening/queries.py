"""Sessions, their texts and prompts, participants, consent and answers: plain functions taking `db`.

Views call these and render; they never assemble SQL. Every write that must be all-or-nothing
runs inside `transaction(db)`.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator, Mapping, Sequence

import sqlite_utils

from . import erasures
from .db import one, rows, transaction
from .erasures import Erasure

# Easy to read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
RECEIPT_CODE_LENGTH = 12

PROMPT_KINDS = ("open", "single", "multiple", "scale", "about", "react", "dots", "rank", "budget", "ideas")
# Kinds answered with statements and agree / disagree / pass votes rather than one answer: "react"
# (short statements, seeded by staff) and "ideas" (residents propose ideas in answer to a "how might
# we" question, then react to each other's); both keep their words in `statements` (listening.statements).
STATEMENT_KINDS = ("react", "ideas")
# Prioritise questions keep their choices in order and with repeats: a dot or a point per entry
# (dots, budget), or the options ranked first to last (rank).
PRIORITY_KINDS = ("dots", "rank", "budget")
CHOICE_KINDS = ("single", "multiple", "about", *PRIORITY_KINDS)
DEFAULT_POINTS = {"dots": 5, "rank": 3, "budget": 100}
# Kinds whose last choice may come with a box for one's own words ("Prefer to self-describe").
SELF_DESCRIBE_KINDS = ("single", "about")
SESSION_FIELDS = ("title", "purpose", "consent")
# Session texts a language may leave empty: whom to contact falls back to the session's settings.
OPTIONAL_SESSION_FIELDS = ("contact",)
DEMOGRAPHICS = ("age", "race_ethnicity", "language", "neighbourhood", "gender", "other")
SOURCES = ("phone", "paper", "sticky", "phone_call", "interpreter", "import")


def now() -> str:
    """Return the current UTC time as an ISO 8601 string, the form every time is stored in."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def normalize_code(raw: str) -> str:
    """Turn what someone typed or read aloud into a canonical code: upper case, no spaces or dashes.

    Phones with an Arabic or Urdu keyboard type ٣ or ۳ for 3, and East Asian ones full-width
    letters: NFKC and each digit's decimal value make them the code's own characters.
    """
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text if ch.isalnum())


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


def self_described_option(prompt: dict) -> dict | None:
    """Return the choice of a prompt that comes with a box for one's own words (its last before "Prefer not to say"), or None."""
    if not prompt.get("self_describe") or prompt["kind"] not in SELF_DESCRIBE_KINDS:
        return None
    return next((o for o in reversed(prompt["options"]) if not o["prefer_not"]), None)


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
    self_describe: bool = False,
    points: int | None = None,
) -> int:
    """Add a prompt at the end of a session; `texts` and `options` are keyed by language.

    `self_describe` (single and "about you" questions only) gives the last choice a box for one's own words.
    `points` is, for a prioritise question, the dots to spread (dots), how many options to rank
    (rank; 0 or None ranks them all) or the points to share (budget).
    """
    if kind not in PROMPT_KINDS:
        raise ValueError(f"Unknown prompt kind {kind!r}")
    points = check_points(kind, points)
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
        if self_describe and kind in SELF_DESCRIBE_KINDS:
            db.execute("UPDATE prompts SET self_describe = 1 WHERE id = ?", (prompt_id,))
        if points is not None:
            # Only prioritise questions have points; other prompts stay writable on a schema from before m015.
            db.execute("UPDATE prompts SET points = ? WHERE id = ?", (points, prompt_id))
        for language, body in texts.items():
            set_text(db, session_id, "prompt", prompt_id, "text", language, body)
        for language, (low, high) in (scale_labels or {}).items():
            set_text(db, session_id, "prompt", prompt_id, "min_label", language, low)
            set_text(db, session_id, "prompt", prompt_id, "max_label", language, high)
        if kind in CHOICE_KINDS:
            set_options(db, session_id, prompt_id, options or {})
    return prompt_id


def check_points(kind: str, points: int | None) -> int | None:
    """Return a prioritise question's points setting (its default when None), or None for other kinds; raise if out of range."""
    if kind not in PRIORITY_KINDS:
        return None
    if points is None:
        return DEFAULT_POINTS[kind]
    limits = {"dots": (1, 20), "rank": (0, 20), "budget": (10, 1000)}[kind]
    if not limits[0] <= int(points) <= limits[1]:
        raise ValueError(f"points for {kind} must be between {limits[0]} and {limits[1]}")
    return int(points)


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
    """Change a prompt's settings (kind, required, demographic, scale_min, scale_max, self_describe).

    A prompt that stops being a choice question loses its options and their texts; one that is
    not a single or "about you" question has no self-described choice.
    """
    allowed = {"kind", "required", "demographic", "scale_min", "scale_max", "self_describe", "points"}
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
        if kind not in SELF_DESCRIBE_KINDS:
            db.execute("UPDATE prompts SET self_describe = 0 WHERE id = ?", (prompt_id,))
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


@dataclass(frozen=True)
class ImportedPerson:
    """One consented row of an imported file: who (by row key), their consent, contact details and answers.

    `answers` holds (prompt id, text, choice ids or None, number) tuples; `at` is when the file
    says they answered (UTC ISO 8601), or None for the time of the import.
    """

    key: str
    language: str
    source: str
    at: str | None
    quote_ok: bool
    contact_ok: bool
    contact: dict[str, str] | None
    answers: tuple[tuple[int, str | None, Sequence[int] | None, int | None], ...]


def record_imported(db: sqlite_utils.Database, session_id: int, people: Sequence[ImportedPerson], *, import_id: int,
                    recorded_by: int | None) -> tuple[int, int]:
    """Store imported people in the caller's transaction (or one of its own); return (people, answers).

    See :func:`record_imported_steps`, which does the work and says how far it has got.
    """
    for _step in record_imported_steps(db, session_id, people, import_id=import_id, recorded_by=recorded_by):
        pass
    return len(people), sum(len(person.answers) for person in people)


IMPORT_BATCH = 5000  # people written between two progress reports of an import


def record_imported_steps(db: sqlite_utils.Database, session_id: int, people: Sequence[ImportedPerson], *,
                          import_id: int, recorded_by: int | None, batch: int | None = None) -> Iterator[tuple[int, int]]:
    """Store imported people in the caller's transaction (or one of its own), yielding (people stored, of how many)
    after each batch: each a participant with a consent by import, contact details only if they agreed, and their answers.

    A quote permission from a file covered reports, never the room's screen (``quote_scope``
    'reports'): the file's consent did not name it. The same rules as :func:`record_consent` and
    :func:`save_response` (a receipt hash per person,
    consent to take part, contact details apart, one answer per question, the session's own
    questions only), written in batches because a file can hold 50,000 people and the write lock
    is held meanwhile. A key the session already holds raises (the caller leaves those out). The
    transaction stays open between steps: a caller that stops early (a browser that went away)
    closes the generator, which rolls everything back.
    """
    prompt_ids = {r["id"] for r in rows(db, "SELECT id FROM prompts WHERE session_id = ?", (session_id,))}
    stamp = now()
    total, batch = len(people), batch or IMPORT_BATCH
    with transaction(db):
        # Receipt hashes are random (31^12 codes); a clash with a stored one fails the whole import, which changes nothing.
        db.conn.executemany(
            "INSERT INTO participants (session_id, receipt_hash, language, source, entered_by, created_at, import_id, "
            "import_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, receipt_hash(new_code(RECEIPT_CODE_LENGTH)), person.language, person.source, recorded_by,
              person.at or stamp, import_id, person.key) for person in people])
        ids = {r["import_key"]: r["id"] for r in rows(
            db, "SELECT id, import_key FROM participants WHERE session_id = ? AND import_id = ?", (session_id, import_id))}
        for start in range(0, total, batch):
            consents, contacts, answers = [], [], []
            for person in people[start:start + batch]:
                at, participant_id = person.at or stamp, ids[person.key]
                consents.append((participant_id, session_id, person.language, int(person.quote_ok), int(person.contact_ok),
                                 at, recorded_by, "reports" if person.quote_ok else None, import_id))
                details = {k: (v or "").strip() for k, v in (person.contact or {}).items()}
                if person.contact_ok and any(details.values()):
                    contacts.append((participant_id, details.get("name", ""), details.get("phone", ""),
                                     details.get("email", ""), at))
                for prompt_id, text, choices, number in person.answers:
                    if prompt_id not in prompt_ids:
                        raise ValueError("That prompt does not belong to this session")
                    choice_json = json.dumps(sorted(set(choices))) if choices is not None else None
                    answers.append((session_id, participant_id, prompt_id, person.language, person.source, text,
                                    choice_json, number, recorded_by, at, at))
            db.conn.executemany(
                """INSERT INTO consents (participant_id, session_id, consent_version_id, version, language, method,
                       take_part, quote_ok, contact_ok, given_at, recorded_by, quote_scope, import_id)
                   VALUES (?, ?, NULL, NULL, ?, 'import', 1, ?, ?, ?, ?, ?, ?)""", consents)
            db.conn.executemany(
                "INSERT INTO contacts (participant_id, name, phone, email, created_at) VALUES (?, ?, ?, ?, ?)", contacts)
            db.conn.executemany(
                """INSERT INTO responses (session_id, participant_id, prompt_id, language, source, text, choices, number,
                       skipped, entered_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)""", answers)
            yield min(start + batch, total), total


def participant(db: sqlite_utils.Database, participant_id: int) -> dict | None:
    """Return a participant with their consent choices, or None."""
    return one(
        db,
        """SELECT p.*, c.quote_ok, c.contact_ok, c.version AS consent_version, c.method,
                  c.given_at, c.language AS consent_language
           FROM participants p LEFT JOIN consents c ON c.participant_id = p.id WHERE p.id = ?""",
        (participant_id,),
    )


def consent_repeat(db: sqlite_utils.Database, participant_id: int) -> dict:
    """Say what a repeated consent form may re-attach to: when its consent was first sent, whether the
    participant has sent anything since (answers, votes, statements) and whether they withdrew."""
    row = one(
        db,
        """SELECT (SELECT at FROM submissions WHERE participant_id = p.id AND kind = 'consent') AS consented_at,
                  EXISTS (SELECT 1 FROM submissions WHERE participant_id = p.id AND kind != 'consent') AS sent_more,
                  p.withdrawn_at
           FROM participants p WHERE p.id = ?""",
        (participant_id,),
    )
    return row or {"consented_at": None, "sent_more": 1, "withdrawn_at": None}


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """The outcome of saving an answer: whether this request changed anything."""

    response_id: int | None
    duplicate: bool


# Longest staff translation of an answer (an answer is at most CHORUS_MAX_ANSWER_LENGTH; a translation may run longer).
MAX_TRANSLATION = 4000


# What every theme run reads of an answer's staff translation (a row of `responses r`): a session's run, a
# split, a live draft and a campaign's pooled run select these and join this, so all analyse the same words.
TRANSLATION_COLUMNS = "tr.text AS translation, tr.language AS translation_language"
TRANSLATION_JOIN = "LEFT JOIN answer_translations tr ON tr.response_id = r.id"


def store_answer_translation(db: sqlite_utils.Database, response_id: int, text: str, *, language: str,
                             user_id: int | None) -> bool:
    """Keep (or replace) a staff translation of an answer into `language`, in the caller's transaction; empty removes it.

    Returns whether a translation is kept. It is a copy of the answer's words, so it goes with them
    (deleted with the answer, and by a trigger when the answer's words change).
    """
    text = text.strip()
    if text:
        db.execute(
            """INSERT INTO answer_translations (response_id, language, text, created_by, created_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (response_id) DO UPDATE SET language = excluded.language, text = excluded.text,
               created_by = excluded.created_by, created_at = excluded.created_at""",
            (response_id, language, text, user_id, now()),
        )
    else:
        db.execute("DELETE FROM answer_translations WHERE response_id = ?", (response_id,))
    return bool(text)


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
    described: str | None = None,
) -> Saved:
    """Store (or replace) a participant's answer to a prompt, exactly once per form.

    `described` holds the words given with a self-described choice; it is kept apart from `text`
    so nothing that reads answer text (themes, quotes, the room's screen, public pages) sees it.

    The nonce makes retries, replays and double taps harmless: the first commit wins and later
    copies change nothing. A new form for the same prompt (going back to change an answer)
    replaces the earlier answer instead of adding a second one.
    """
    with transaction(db):
        # The three checks in one statement (one read of the write transaction's snapshot, not three).
        found = db.execute(
            """SELECT EXISTS (SELECT 1 FROM submissions WHERE nonce = ?) AS seen,
                      p.id AS participant, p.session_id, p.withdrawn_at,
                      (SELECT kind FROM prompts WHERE id = ? AND session_id = ?) AS kind,
                      (SELECT text FROM responses WHERE participant_id = p.id AND prompt_id = ?) AS old_text
               FROM (SELECT 1) LEFT JOIN participants p ON p.id = ?""",
            (nonce, prompt_id, session_id, prompt_id, participant_id),
        ).fetchone()
        if found["seen"]:
            return Saved(None, duplicate=True)
        if found["participant"] is None or found["session_id"] != session_id or found["withdrawn_at"]:
            raise ValueError("This participant cannot answer in this session")
        if found["kind"] is None:
            raise ValueError("That prompt does not belong to this session")
        stamp = now()
        if found["old_text"] and not set(_words(found["old_text"])) <= set(_words(text or "")):
            # Words the resident replaced are taken back: out of every machine-made name drawn from them (or from their
            # staff translation, which a trigger deletes with them), as at a withdrawal. Rare: only a changed answer.
            unname_answers(db, session_id, rows(db, """SELECT r.id, r.text, t.text AS translation FROM responses r
                                                        LEFT JOIN answer_translations t ON t.response_id = r.id
                                                        WHERE r.participant_id = ? AND r.prompt_id = ?""",
                                                 (participant_id, prompt_id)))
        if choices is None:
            choice_json = None
        elif found["kind"] in PRIORITY_KINDS:
            choice_json = json.dumps([int(c) for c in choices])  # order and repeats are the answer
        else:
            choice_json = json.dumps(sorted(set(choices)))
        cursor = db.execute(
            """INSERT INTO responses (session_id, participant_id, prompt_id, language, source, text,
                   choices, number, skipped, entered_by, described, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (participant_id, prompt_id) DO UPDATE SET
                   language = excluded.language, text = excluded.text, choices = excluded.choices,
                   number = excluded.number, skipped = excluded.skipped, described = excluded.described,
                   updated_at = excluded.updated_at
               RETURNING id""",
            (session_id, participant_id, prompt_id, language, source, text, choice_json, number,
             int(skipped), entered_by, None if skipped else described, stamp, stamp),
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


_WORDS = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    """Return a text's words, case-folded (what a machine name drawn from it keeps of it)."""
    return _WORDS.findall(text.casefold())


def _drawn_from(label: str, texts: list[set[str]]) -> bool:
    """Tell whether a name could be words taken from one of these answers: two or more words, all found in it."""
    words = {w for w in _words(label) if not w.isdigit()}
    return len(words) >= 2 and any(words <= text for text in texts)


def _terms_label(terms_json: str | None) -> str:
    """Return a name made of a theme's key terms (as the engine names a theme nobody may name)."""
    terms = [str(t) for t in json.loads(terms_json or "[]")][:3]
    label = ", ".join(terms)
    return label[:1].upper() + label[1:] if label else "—"


def name_drawn_from(label: str, answers: Sequence[dict]) -> bool:
    """Tell whether a machine-made name could be words of one of these answers (dicts with text and any translation)."""
    return _drawn_from(label, [set(_words(words)) for r in answers for words in (r["text"], r.get("translation"))
                               if (words or "").strip()])


def terms_label(terms_json: str | None) -> str:
    """Return the name the engine gives a theme nobody may name: its key terms."""
    return _terms_label(terms_json)


def unname_themes(db: sqlite_utils.Database, session_id: int, participant_ids: Sequence[int]) -> int:
    """Before people's answers go (a withdrawal, an import undone), take their words out of every machine-made name and claim.

    A machine theme's name (and a sub-topic's, a live draft's on the room's screen) can be a clause
    of one answer, and a claim is worded from answers: a name that could have come from one of
    these people's answers becomes the theme's key terms, and a claim that counted one of them is
    dropped (the next run words it again). Names people wrote stay. Returns the themes changed.
    """
    people = json.dumps([int(p) for p in participant_ids])
    # Staff translations of their answers go with them, and a headline can be drawn from one.
    theirs = rows(db, """SELECT id, text FROM responses WHERE participant_id IN (SELECT value FROM json_each(?))
                         UNION ALL SELECT t.response_id, t.text FROM answer_translations t JOIN responses r ON r.id = t.response_id
                         WHERE r.participant_id IN (SELECT value FROM json_each(?))""", (people, people))
    return unname_answers(db, session_id, theirs)


def unname_answers(db: sqlite_utils.Database, session_id: int, answers: Sequence[dict]) -> int:
    """Take these answers' words (dicts with id and text, and any staff translation) out of every machine-made name and
    claim; return the themes changed.

    A background theme run or live draft read answers before someone withdrew; what it stores
    afterwards is cleaned with the words it read, translations included, since a name can be drawn
    from one (`unname_themes` does the same at withdrawal).
    """
    texts = [set(_words(words)) for r in answers for words in (r["text"], r.get("translation")) if (words or "").strip()]
    if not texts:
        return 0
    ids = {r["id"] for r in answers}
    changed = 0
    # Every theme, retired ones too (merged away, split up, left empty by a run): the History page still names them. A
    # theme shaped by a person (`manual`: merged into, split off by the engine) keeps the engine's name until renamed.
    for theme in rows(db, "SELECT * FROM themes WHERE session_id = ?", (session_id,)):
        updates: dict = {}
        if not theme["renamed"] and _drawn_from(theme["label"], texts):
            updates["label"] = updates["machine_label"] = _terms_label(theme["top_terms"])
        elif _drawn_from(theme["machine_label"] or "", texts):
            # A renamed theme's page still shows what the engine named it ("Engine's label: ...").
            updates["machine_label"] = _terms_label(theme["top_terms"])
        if "claims" in theme:
            claims = json.loads(theme["claims"] or "[]")
            kept = [c for c in claims if not ids & set(c.get("answer_ids", []))]
            if len(kept) != len(claims):
                updates["claims"] = json.dumps(kept, ensure_ascii=False)
        if "subthemes" in theme:
            subs = json.loads(theme["subthemes"] or "[]")
            renamed = [{**sub, "label": _terms_label(json.dumps(sub.get("terms", [])))} if _drawn_from(sub.get("label", ""), texts)
                       else sub for sub in subs]
            if renamed != subs:
                updates["subthemes"] = json.dumps(renamed, ensure_ascii=False)
        if updates:
            db.execute(f"UPDATE themes SET {', '.join(f'{k} = ?' for k in updates)} WHERE id = ?", (*updates.values(), theme["id"]))
            changed += 1
    # The planners' log keeps the name a theme was renamed from (shown on its History page): a machine name drawn from
    # these answers stays there after the theme itself was renamed, so it goes the same way.
    for edit in rows(db, """SELECT e.id, e.detail, t.top_terms FROM theme_edits e LEFT JOIN themes t ON t.id = e.theme_id
                            WHERE e.session_id = ? AND e.action = 'rename'""", (session_id,)):
        try:
            detail = json.loads(edit["detail"] or "")
        except ValueError:
            continue
        if isinstance(detail, dict) and _drawn_from(str(detail.get("from") or ""), texts):
            detail["from"] = _terms_label(edit["top_terms"])
            db.execute("UPDATE theme_edits SET detail = ? WHERE id = ?", (json.dumps(detail, ensure_ascii=False), edit["id"]))
    # A campaign's pooled themes are drafted from these answers (and their translations) too.
    pooled = [r["id"] for r in rows(db, """SELECT DISTINCT a.theme_id AS id FROM campaign_theme_answers a
                                            WHERE a.response_id IN (SELECT value FROM json_each(?))""",
                                     (json.dumps(sorted(int(i) for i in ids)),))]
    changed += _unname_pooled(db, pooled, texts)
    _unname_live(db, session_id, texts)
    _unname_follow_ups(db, session_id, texts)
    return changed


def _unname_follow_ups(db: sqlite_utils.Database, session_id: int, texts: list[set[str]]) -> None:
    """Word by its theme's key terms every follow-up design session's statement seeded from a machine name of one of
    this session's themes that could be words of one of these texts (phones, the room's screen and the follow-up's
    reports show it); a statement seeded from a name a planner wrote (the theme's name, once renamed) stays."""
    for seeded in rows(db, """SELECT s.id, s.body, t.label, t.renamed, t.manual, t.top_terms FROM statements s
                              JOIN themes t ON t.id = s.origin_id
                              WHERE s.origin = 'theme' AND s.participant_id IS NULL AND t.session_id = ?""", (session_id,)):
        planners = seeded["renamed"] and seeded["body"] == seeded["label"]
        if not planners and _drawn_from(seeded["body"], texts):
            db.execute("UPDATE statements SET body = ? WHERE id = ?", (_terms_label(seeded["top_terms"]), seeded["id"]))


def _unname_pooled(db: sqlite_utils.Database, theme_ids: Sequence[int], texts: list[set[str]]) -> int:
    """Name by their key terms the campaign's pooled themes (of these ids, not renamed by a planner) whose machine name
    could be words of one of these texts; return how many changed."""
    changed = 0
    for pooled in rows(db, """SELECT id, label, machine_label, top_terms, renamed FROM campaign_themes
                              WHERE id IN (SELECT value FROM json_each(?))""",
                       (json.dumps(sorted(int(i) for i in theme_ids)),)):
        if pooled["renamed"]:  # a planner's name stays; the engine's, kept beside it, goes
            if _drawn_from(pooled["machine_label"], texts):
                db.execute("UPDATE campaign_themes SET machine_label = ? WHERE id = ?", (_terms_label(pooled["top_terms"]), pooled["id"]))
            continue
        if _drawn_from(pooled["label"], texts) or _drawn_from(pooled["machine_label"], texts):
            named = _terms_label(pooled["top_terms"])
            db.execute("UPDATE campaign_themes SET label = ?, machine_label = ?, headline_from_translation = 0 WHERE id = ?",
                       (named, named, pooled["id"]))
            changed += 1
    return changed


def unname_pooled_themes(db: sqlite_utils.Database, theme_ids: Sequence[int], answers: Sequence[dict]) -> int:
    """Take these answers' words (id, text and any staff translation) out of these pooled themes' machine names: a
    campaign run that read them before their author withdrew or a facilitator hid them; return the themes changed."""
    texts = [set(_words(words)) for r in answers for words in (r["text"], r.get("translation")) if (words or "").strip()]
    return _unname_pooled(db, theme_ids, texts) if texts else 0


def _unname_live(db: sqlite_utils.Database, session_id: int, texts: list[set[str]]) -> None:
    """Replace every live draft theme name (the room's screen) that could be words of one of these texts."""
    for live in rows(db, "SELECT id, themes FROM live_themes WHERE session_id = ?", (session_id,)):
        drafts = json.loads(live["themes"])
        cleaned = [{**d, "label": _terms_label(json.dumps(d.get("terms", [])))} if _drawn_from(d.get("label", ""), texts) else d
                   for d in drafts]
        if cleaned != drafts:
            db.execute("UPDATE live_themes SET themes = ? WHERE id = ?", (json.dumps(cleaned, ensure_ascii=False), live["id"]))


def answers_with_translations(db: sqlite_utils.Database, response_ids: Sequence[int]) -> list[dict]:
    """Return these answers' words as `unname_answers` takes them: id, text and any staff translation."""
    wanted = json.dumps(sorted({int(i) for i in response_ids}))
    return rows(db, """SELECT r.id, r.text, t.text AS translation FROM responses r
                       LEFT JOIN answer_translations t ON t.response_id = r.id
                       WHERE r.id IN (SELECT value FROM json_each(?))""", (wanted,))


def replaced_since(db: sqlite_utils.Database, answers: Sequence[dict], prompt_ids: Sequence[int], since: str) -> list[dict]:
    """Return the answers as read (id, text, any staff translation) whose author has rewritten or skipped them since
    `since`, leaving out some of the words read: a theme run or live draft that read them names nothing with those
    words, as `save_response` takes them out of names stored before (cheap: a range on each question's answers by
    time, `responses_feed`)."""
    read = {a["id"]: a for a in answers}
    if not read or not prompt_ids:
        return []
    marks = ",".join("?" * len(prompt_ids))
    replaced = []
    for row in db.execute(f"SELECT id, text FROM responses WHERE prompt_id IN ({marks}) AND updated_at >= ?",
                          (*prompt_ids, since)):
        old = read.get(row[0])
        if old is not None and not set(_words(old["text"] or "")) <= set(_words(row[1] or "")):
            replaced.append(old)
    return replaced


def unname_live_drafts(db: sqlite_utils.Database, session_id: int, answers: Sequence[dict]) -> None:
    """Take these answers' words out of the room's live draft theme names only (an answer kept off the wall stays in
    the analysis and exports, but the room must not read it in a theme's name)."""
    texts = [set(_words(words)) for r in answers for words in (r["text"], r.get("translation")) if (words or "").strip()]
    if texts:
        _unname_live(db, session_id, texts)


def erase_participant(
    db: sqlite_utils.Database, found: dict, *, at: str, reason: str, by_user: int | None = None,
) -> tuple[int, int]:
    """Delete a participant's answers, votes, own statements and contact details inside the caller's transaction; return the counts.

    Their consent record stays (it says they took part and when), with quoting and contact
    turned off; the deletion log says how much went and why, never what.
    """
    unname_themes(db, found["session_id"], [found["id"]])
    answers = db.execute("DELETE FROM responses WHERE participant_id = ?", (found["id"],)).rowcount
    # Design sessions: their votes, and their own statements with every vote cast on them.
    votes = db.execute("DELETE FROM votes WHERE participant_id = ?", (found["id"],)).rowcount
    db.execute("DELETE FROM votes WHERE statement_id IN (SELECT id FROM statements WHERE participant_id = ?)", (found["id"],))
    statements = db.execute("DELETE FROM statements WHERE participant_id = ?", (found["id"],)).rowcount
    contacts = db.execute("DELETE FROM contacts WHERE participant_id = ?", (found["id"],)).rowcount
    db.execute("UPDATE consents SET quote_ok = 0, contact_ok = 0 WHERE participant_id = ?", (found["id"],))
    db.execute("UPDATE participants SET withdrawn_at = ? WHERE id = ?", (at, found["id"]))
    detail = f"answers={answers} contact_details={contacts}"
    if votes or statements:
        detail += f" votes={votes} statements={statements}"
    log_deletion(db, session_id=found["session_id"], kind="withdrawal", detail=detail, reason=reason, by_user=by_user)
    return answers, contacts


def erase_import(db: sqlite_utils.Database, found: dict, *, at: str, reason: str, by_user: int | None = None) -> dict:
    """Delete everything an import stored (its people with their consents, contacts, answers and
    placements) inside the caller's transaction, mark it undone and log how much went; return the counts.

    `found` is the imports row (id, session_id). The same deletion serves a staff member's undo and
    its replay on a restored backup (:func:`listening.backup.reapply`).
    """
    people_ids = [r["id"] for r in rows(db, "SELECT id FROM participants WHERE import_id = ?", (found["id"],))]
    answers = one(db, "SELECT count(*) AS n FROM responses r JOIN participants p ON p.id = r.participant_id "
                      "WHERE p.import_id = ?", (found["id"],))["n"]
    unname_themes(db, found["session_id"], people_ids)
    people = db.execute("DELETE FROM participants WHERE import_id = ?", (found["id"],)).rowcount
    db.execute("UPDATE imports SET undone_at = ?, undone_by = ? WHERE id = ?", (at, by_user, found["id"]))
    log_deletion(db, session_id=found["session_id"], kind="import_undone",
                 detail=f"import={found['id']} people={people} answers={answers}", reason=reason, by_user=by_user)
    return {"people": people, "answers": answers}


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
