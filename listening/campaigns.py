"""Campaigns: many sessions under one purpose, with rounds, partner organisations, their staff and a
shared question bank.

Owns the campaign model's queries (functions taking `db` first) that both staff sides use: the
campaign and its texts, rounds, partners, members (partner staff, or the backbone when a member
has no partner), which session belongs to which round and partner, and the question bank with
the links that say which session prompt (and choice) asks which bank question (and choice), so
answers pool across sessions and languages. Who may *see* what is decided in `listening.access`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

import sqlite_utils

from . import queries
from .db import one, rows, transaction

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
BANK_KINDS = ("open", "about")
COMMITMENT_STATUSES = ("planned", "in_progress", "done", "dropped")
COMMITMENT_FIELDS = ("heard", "will", "did")


def _campaign_row(row: dict | None) -> dict | None:
    """Decode a campaign row's language list and name its default language."""
    if row is None:
        return None
    row["languages"] = json.loads(row["languages"])
    row["default_language"] = row["languages"][0]
    return row


def create_campaign(db: sqlite_utils.Database, *, slug: str, languages: Sequence[str], texts: dict[str, dict[str, str]],
                    created_by: int | None, starts_on: str | None = None, ends_on: str | None = None) -> int:
    """Create a campaign with its first round; `texts` maps 'name'/'purpose' -> language -> body."""
    if not SLUG.match(slug) or not languages:
        raise ValueError("A campaign needs a short address (letters, digits, dashes) and a language")
    stamp = queries.now()
    with transaction(db):
        campaign_id = db.execute(
            """INSERT INTO campaigns (slug, languages, starts_on, ends_on, created_by, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (slug, json.dumps(list(languages)), starts_on, ends_on, created_by, stamp, stamp)).lastrowid
        set_campaign_texts(db, campaign_id, texts)
        add_round(db, campaign_id, "Round 1")
    return campaign_id


def set_campaign_texts(db: sqlite_utils.Database, campaign_id: int, texts: dict[str, dict[str, str]]) -> None:
    """Store a campaign's name and purpose in each language (an empty body removes that wording)."""
    with transaction(db):
        for field, by_language in texts.items():
            for language, body in by_language.items():
                if body.strip():
                    db.execute("""INSERT INTO campaign_texts (campaign_id, field, language, body) VALUES (?, ?, ?, ?)
                                  ON CONFLICT DO UPDATE SET body = excluded.body""",
                               (campaign_id, field, language, body.strip()))
                else:
                    db.execute("DELETE FROM campaign_texts WHERE campaign_id = ? AND field = ? AND language = ?",
                               (campaign_id, field, language))
        db.execute("UPDATE campaigns SET updated_at = ? WHERE id = ?", (queries.now(), campaign_id))


def campaign_by_id(db: sqlite_utils.Database, campaign_id: int) -> dict | None:
    """Return a campaign with its texts ({(field, language): body}), or None."""
    found = _campaign_row(one(db, "SELECT * FROM campaigns WHERE id = ?", (campaign_id,)))
    if found is not None:
        found["texts"] = {(r["field"], r["language"]): r["body"] for r in rows(
            db, "SELECT field, language, body FROM campaign_texts WHERE campaign_id = ?", (campaign_id,))}
    return found


def campaign_by_slug(db: sqlite_utils.Database, slug: str) -> dict | None:
    """Return the campaign with this public address, or None."""
    found = one(db, "SELECT id FROM campaigns WHERE slug = ?", (slug,))
    return campaign_by_id(db, found["id"]) if found else None


def campaign_text(found: dict, field: str, language: str) -> str:
    """Return a campaign's name or purpose in a language, else in its default language."""
    return found["texts"].get((field, language)) or found["texts"].get((field, found["default_language"]), "")


def campaigns_among(db: sqlite_utils.Database, ids_sql: tuple[str, dict]) -> list[dict]:
    """Return the campaigns whose ids the SQL selects, newest first, with their number of sessions."""
    sql, params = ids_sql
    found = rows(db, f"""SELECT c.*, (SELECT count(*) FROM campaign_sessions s WHERE s.campaign_id = c.id) AS sessions
                         FROM campaigns c WHERE c.id IN ({sql}) ORDER BY c.id DESC""", params)
    out = []
    for row in found:
        out.append(campaign_by_id(db, row["id"]) | {"sessions": row["sessions"]})
    return out


def set_published(db: sqlite_utils.Database, campaign_id: int, published: bool) -> None:
    """Show or hide the campaign's public page."""
    with transaction(db):
        db.execute("UPDATE campaigns SET published = ?, updated_at = ? WHERE id = ?",
                   (int(published), queries.now(), campaign_id))


# --- rounds and partners ---------------------------------------------------------------------


def add_round(db: sqlite_utils.Database, campaign_id: int, name: str, *, starts_on: str | None = None,
              ends_on: str | None = None) -> int:
    """Add a round after the campaign's last one."""
    with transaction(db):
        position = one(db, "SELECT coalesce(max(position), 0) + 1 AS p FROM campaign_rounds WHERE campaign_id = ?",
                       (campaign_id,))["p"]
        return db.execute("INSERT INTO campaign_rounds (campaign_id, position, name, starts_on, ends_on) VALUES (?, ?, ?, ?, ?)",
                          (campaign_id, position, name.strip(), starts_on, ends_on)).lastrowid


def rounds_of(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return a campaign's rounds in order."""
    return rows(db, "SELECT * FROM campaign_rounds WHERE campaign_id = ? ORDER BY position", (campaign_id,))


def add_partner(db: sqlite_utils.Database, campaign_id: int, name: str) -> int | None:
    """Add a partner organisation to a campaign; None if it already has one of that name."""
    with transaction(db):
        cursor = db.execute("INSERT OR IGNORE INTO campaign_partners (campaign_id, name) VALUES (?, ?)",
                            (campaign_id, name.strip()))
        return cursor.lastrowid if cursor.rowcount == 1 else None


def partners_of(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return a campaign's partner organisations by name."""
    return rows(db, "SELECT * FROM campaign_partners WHERE campaign_id = ? ORDER BY name COLLATE NOCASE", (campaign_id,))


def set_member(db: sqlite_utils.Database, campaign_id: int, user_id: int, partner_id: int | None, *,
               given_by: int | None) -> bool:
    """Make a facilitator or planner a member of a campaign: of a partner, or of the backbone (no partner).

    False if the account cannot be a member or the partner is not this campaign's.
    """
    with transaction(db):
        person = one(db, "SELECT role, active FROM users WHERE id = ?", (user_id,))
        if person is None or not person["active"] or person["role"] not in ("facilitator", "planner"):
            return False
        if partner_id is not None and one(db, "SELECT 1 FROM campaign_partners WHERE id = ? AND campaign_id = ?",
                                          (partner_id, campaign_id)) is None:
            return False
        db.execute("""INSERT INTO campaign_members (campaign_id, user_id, partner_id, given_by, given_at)
                      VALUES (?, ?, ?, ?, ?) ON CONFLICT (campaign_id, user_id) DO UPDATE SET
                      partner_id = excluded.partner_id, given_by = excluded.given_by, given_at = excluded.given_at""",
                   (campaign_id, user_id, partner_id, given_by, queries.now()))
        return True


def remove_member(db: sqlite_utils.Database, campaign_id: int, user_id: int) -> bool:
    """End someone's membership of a campaign; False if they were not a member."""
    with transaction(db):
        return db.execute("DELETE FROM campaign_members WHERE campaign_id = ? AND user_id = ?",
                          (campaign_id, user_id)).rowcount == 1


def members_of(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return a campaign's members with their email, role and partner (None: the backbone)."""
    return rows(db, """SELECT m.user_id, u.email, u.role, m.partner_id, p.name AS partner FROM campaign_members m
                       JOIN users u ON u.id = m.user_id LEFT JOIN campaign_partners p ON p.id = m.partner_id
                       WHERE m.campaign_id = ? ORDER BY p.name IS NOT NULL, p.name, u.email""", (campaign_id,))


def membership(db: sqlite_utils.Database, campaign_id: int, user_id: int) -> dict | None:
    """Return someone's membership row of a campaign (partner_id None: the backbone), or None."""
    return one(db, "SELECT * FROM campaign_members WHERE campaign_id = ? AND user_id = ?", (campaign_id, user_id))


# --- sessions --------------------------------------------------------------------------------


def add_session(db: sqlite_utils.Database, campaign_id: int, session_id: int, *, round_id: int, partner_id: int,
                added_by: int | None) -> bool:
    """Put a session in a campaign's round, hosted by one of its partners (moving it if it was elsewhere)."""
    with transaction(db):
        fits = one(db, """SELECT 1 FROM campaign_rounds r JOIN campaign_partners p ON p.campaign_id = r.campaign_id
                          WHERE r.id = ? AND p.id = ? AND r.campaign_id = ?""", (round_id, partner_id, campaign_id))
        if fits is None or queries.session_by_id(db, session_id) is None:
            return False
        db.execute("""INSERT INTO campaign_sessions (session_id, campaign_id, round_id, partner_id, added_by, added_at)
                      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET campaign_id = excluded.campaign_id,
                      round_id = excluded.round_id, partner_id = excluded.partner_id""",
                   (session_id, campaign_id, round_id, partner_id, added_by, queries.now()))
        return True


def remove_session(db: sqlite_utils.Database, campaign_id: int, session_id: int) -> bool:
    """Take a session out of a campaign (the session itself stays)."""
    with transaction(db):
        return db.execute("DELETE FROM campaign_sessions WHERE campaign_id = ? AND session_id = ?",
                          (campaign_id, session_id)).rowcount == 1


def campaign_sessions(db: sqlite_utils.Database, campaign_id: int, among: tuple[str, dict]) -> list[dict]:
    """Return a campaign's sessions that the SQL `among` selects, with round, partner, title and counts."""
    sql, params = among
    found = rows(db, f"""SELECT s.id, s.code, s.status, s.languages, s.timezone, cs.round_id, cs.partner_id,
                            r.name AS round, r.position AS round_position, p.name AS partner,
                            (SELECT count(*) FROM participants x WHERE x.session_id = s.id AND x.withdrawn_at IS NULL) AS people,
                            (SELECT body FROM texts t WHERE t.owner = 'session' AND t.owner_id = s.id AND t.field = 'title'
                             AND t.language = json_extract(s.languages, '$[0]')) AS title
                         FROM campaign_sessions cs JOIN sessions s ON s.id = cs.session_id
                         JOIN campaign_rounds r ON r.id = cs.round_id JOIN campaign_partners p ON p.id = cs.partner_id
                         WHERE cs.campaign_id = :campaign AND s.id IN ({sql})
                         ORDER BY r.position, p.name, s.id""", {**params, "campaign": campaign_id})
    for row in found:
        row["languages"] = json.loads(row["languages"])
    return found


def session_place(db: sqlite_utils.Database, session_id: int) -> dict | None:
    """Return the campaign, round and partner a session belongs to, or None."""
    return one(db, "SELECT * FROM campaign_sessions WHERE session_id = ?", (session_id,))


# --- the question bank -----------------------------------------------------------------------


def add_question(db: sqlite_utils.Database, campaign_id: int, *, kind: str, texts: dict[str, str],
                 options: dict[str, list[str]] | None = None, demographic: str | None = None) -> int:
    """Add a bank question with its wording per language and, for "about you", its choices (line n = choice n)."""
    if kind not in BANK_KINDS:
        raise ValueError(f"Unknown bank question kind {kind!r}")
    with transaction(db):
        position = one(db, "SELECT coalesce(max(position), 0) + 1 AS p FROM campaign_questions WHERE campaign_id = ?",
                       (campaign_id,))["p"]
        question_id = db.execute(
            "INSERT INTO campaign_questions (campaign_id, position, kind, demographic, created_at) VALUES (?, ?, ?, ?, ?)",
            (campaign_id, position, kind, demographic if kind == "about" else None, queries.now())).lastrowid
        for language, body in texts.items():
            db.execute("INSERT INTO campaign_question_texts (question_id, option_id, language, body) VALUES (?, 0, ?, ?)",
                       (question_id, language, body.strip()))
        if kind == "about":
            lines = {language: [x.strip() for x in choices if x.strip()] for language, choices in (options or {}).items()}
            count = max((len(v) for v in lines.values()), default=0)
            for n in range(count):
                option_id = db.execute("INSERT INTO campaign_options (question_id, position) VALUES (?, ?)",
                                       (question_id, n + 1)).lastrowid
                for language, choices in lines.items():
                    if n < len(choices):
                        db.execute("INSERT INTO campaign_question_texts (question_id, option_id, language, body) "
                                   "VALUES (?, ?, ?, ?)", (question_id, option_id, language, choices[n]))
    return question_id


def bank_of(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return a campaign's bank questions in order, each with its wording, choices and reference source."""
    questions = rows(db, """SELECT q.*, coalesce(s.source, '') AS reference_source FROM campaign_questions q
                            LEFT JOIN campaign_reference_sources s ON s.question_id = q.id
                            WHERE q.campaign_id = ? ORDER BY q.position""", (campaign_id,))
    texts = rows(db, """SELECT t.* FROM campaign_question_texts t JOIN campaign_questions q ON q.id = t.question_id
                        WHERE q.campaign_id = ?""", (campaign_id,))
    options = rows(db, """SELECT o.* FROM campaign_options o JOIN campaign_questions q ON q.id = o.question_id
                          WHERE q.campaign_id = ? ORDER BY o.position""", (campaign_id,))
    for question in questions:
        question["texts"] = {t["language"]: t["body"] for t in texts
                             if t["question_id"] == question["id"] and t["option_id"] == 0}
        question["options"] = [o | {"texts": {t["language"]: t["body"] for t in texts if t["option_id"] == o["id"]}}
                               for o in options if o["question_id"] == question["id"]]
    return questions


def bank_question(db: sqlite_utils.Database, campaign_id: int, question_id: int) -> dict | None:
    """Return one bank question of this campaign, or None."""
    return next((q for q in bank_of(db, campaign_id) if q["id"] == question_id), None)


def wording(texts: dict[str, str], language: str, fallback: str) -> str:
    """Return a bank text in a language, else in the fallback language, else any."""
    return wording_in(texts, language, fallback)[1]


def wording_in(texts: dict[str, str], language: str, fallback: str) -> tuple[str, str]:
    """Return (the language used, the text) for a text wanted in a language, else the fallback language, else any.

    A page marks the text with that language when it is not the page's own, so a screen reader reads it right.
    """
    for code in (language, fallback, *texts):
        if texts.get(code):
            return code, texts[code]
    return language, ""


def save_reference(db: sqlite_utils.Database, question_id: int, percents: dict[int, float | None], *,
                   source: str, priority: set[int]) -> None:
    """Store the reference population's share of each choice of an "about you" bank question, and the priority groups."""
    with transaction(db):
        for option_id, percent in percents.items():
            db.execute("UPDATE campaign_options SET reference_percent = ?, priority = ? WHERE id = ? AND question_id = ?",
                       (percent, int(option_id in priority), option_id, question_id))
        db.execute("""INSERT INTO campaign_reference_sources (question_id, source) VALUES (?, ?)
                      ON CONFLICT DO UPDATE SET source = excluded.source""", (question_id, source.strip()))


def copy_into_session(db: sqlite_utils.Database, question: dict, session: dict) -> int:
    """Add a bank question to a session's end, worded in each of its languages, linked to the bank so answers pool.

    The session's languages the bank has no wording for get the campaign's default wording, for
    the facilitator to translate on the session's "Texts in every language" page.
    """
    languages = session["languages"]
    fallback = next(iter(question["texts"]))
    with transaction(db):
        prompt_id = queries.add_prompt(
            db, session["id"], kind=question["kind"], demographic=question["demographic"],
            texts={code: wording(question["texts"], code, fallback) for code in languages},
            options={code: [wording(o["texts"], code, fallback) for o in question["options"]] for code in languages}
            if question["kind"] == "about" else None)
        db.execute("INSERT INTO campaign_prompt_links (prompt_id, question_id) VALUES (?, ?)", (prompt_id, question["id"]))
        made = rows(db, "SELECT id FROM options WHERE prompt_id = ? ORDER BY position, id", (prompt_id,))
        for option, bank_option in zip(made, question["options"]):
            db.execute("INSERT INTO campaign_option_links (option_id, bank_option_id) VALUES (?, ?)",
                       (option["id"], bank_option["id"]))
    return prompt_id


def linked_prompts(db: sqlite_utils.Database, question_id: int, session_ids: Sequence[int]) -> list[dict]:
    """Return the prompts asking a bank question in these sessions: {prompt_id, session_id}."""
    if not session_ids:
        return []
    marks = ",".join("?" * len(session_ids))
    return rows(db, f"""SELECT l.prompt_id, p.session_id FROM campaign_prompt_links l JOIN prompts p ON p.id = l.prompt_id
                        WHERE l.question_id = ? AND p.session_id IN ({marks})""", (question_id, *session_ids))


def option_links(db: sqlite_utils.Database, prompt_ids: Sequence[int]) -> dict[int, dict[int, int | None]]:
    """Return, for each prompt, its choices mapped to bank choices ({prompt: {option: bank option or None}})."""
    if not prompt_ids:
        return {}
    marks = ",".join("?" * len(prompt_ids))
    out: dict[int, dict[int, int | None]] = {p: {} for p in prompt_ids}
    for row in rows(db, f"""SELECT o.prompt_id, o.id, o.prefer_not, l.bank_option_id FROM options o
                            LEFT JOIN campaign_option_links l ON l.option_id = o.id
                            WHERE o.prompt_id IN ({marks})""", tuple(prompt_ids)):
        out[row["prompt_id"]][row["id"]] = -1 if row["prefer_not"] else row["bank_option_id"]
    return out
