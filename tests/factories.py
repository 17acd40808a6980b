"""Builders for test data: sessions with prompts in several languages, and residents who consent."""
from __future__ import annotations

import secrets

from listening import queries
from listening.consent import paragraphs  # noqa: F401  (re-exported for tests that read statements)

TEXTS = {
    "title": {"en": "What helps families", "es": "Qué ayuda a las familias"},
    "purpose": {"en": "To learn what helps.", "es": "Para saber qué ayuda."},
    "consent": {"en": "Taking part is your choice.", "es": "Participar es su decisión."},
}


def make_session(db, *, languages=("en", "es"), mode="self_paced", status="open", prompts=None, **overrides) -> dict:
    """Create a session with one prompt of each kind (or the given `prompts`) and open it."""
    texts = {field: {code: f"{by_lang.get(code, by_lang['en'])}" for code in languages}
             for field, by_lang in TEXTS.items()}
    found = queries.create_session(
        db, languages=list(languages), mode=mode, timezone_name=overrides.pop("timezone", "America/New_York"),
        created_by=overrides.pop("created_by", None), texts=texts, **overrides,
    )
    for spec in prompts if prompts is not None else default_prompts():
        queries.add_prompt(
            db, found["id"], kind=spec["kind"], required=spec.get("required", False),
            demographic=spec.get("demographic"),
            texts={code: f"{spec['text']} [{code}]" for code in languages},
            options={code: [f"{o} [{code}]" for o in spec.get("options", [])] for code in languages},
            scale_labels={code: (f"Low [{code}]", f"High [{code}]") for code in languages},
        )
    if status != "draft":
        queries.set_status(db, found["id"], status)
    return queries.session_by_id(db, found["id"])


def user_id(db, email: str) -> int:
    """Return the id of the staff account with this email."""
    from listening.accounts import user_by_email

    return user_by_email(db, email)["id"]


def share(db, session: dict, *emails: str) -> None:
    """Let the staff accounts with these emails see a session, as its owner or an admin would."""
    from listening.access import give_access
    from listening.accounts import user_by_email

    for email in emails:
        assert give_access(db, session["id"], user_by_email(db, email)["id"], given_by=None), email


def default_prompts() -> list[dict]:
    """One prompt of each kind, the open one first."""
    return [
        {"kind": "open", "text": "What helps you?"},
        {"kind": "single", "text": "How do you travel?", "options": ["Car", "Bus", "Walk"]},
        {"kind": "multiple", "text": "What would help?", "options": ["Rides", "Food", "Doulas"]},
        {"kind": "scale", "text": "How well were you heard?"},
        {"kind": "about", "text": "How old are you?", "demographic": "age", "options": ["Under 30", "30 or older"]},
    ]


def make_participant(db, session: dict, *, language: str = "en", quote_ok: bool = False, contact=None) -> queries.NewParticipant:
    """Record a resident's consent directly, as if they had agreed on their phone."""
    statement = queries.current_consent(db, session["id"], language)
    return queries.record_consent(
        db, session["id"], consent_version_id=statement["id"], language=language,
        nonce=secrets.token_urlsafe(12), quote_ok=quote_ok, contact_ok=bool(contact), contact=contact,
        quote_scope="screen_and_reports",
    )


def count(db, table: str) -> int:
    """Count the rows of a table."""
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def every_table(db) -> dict[str, int]:
    """Count the rows of every table in the database (to prove a request stored nothing anywhere)."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: count(db, f"[{name}]") for name in names}


def high_ids(db, start: int = 1000) -> None:
    """Make the next ids of users, sessions, prompts, participants and answers start above `start`.

    A database that has run for a while has ids above 256, which CPython does not cache, so a
    comparison written with `is` instead of `==` (a mutant bench/mutants.py makes) fails here as it
    would in production. The placeholders are a closed session nobody may see and an account that
    cannot sign in.
    """
    stamp = queries.now()
    db.execute("INSERT INTO users (id, email, password_hash, role, active, created_at) VALUES (?, ?, 'x', 'planner', 0, ?)",
               (start, f"placeholder-{start}@example.invalid", stamp))
    db.execute("INSERT INTO sessions (id, code, mode, status, languages, timezone, created_at, updated_at) "
               "VALUES (?, ?, 'self_paced', 'closed', '[\"en\"]', 'UTC', ?, ?)", (start, f"P{start:05d}"[-6:], stamp, stamp))
    db.execute("INSERT INTO prompts (id, session_id, position, kind, created_at) VALUES (?, ?, 1, 'open', ?)",
               (start, start, stamp))
    db.execute("INSERT INTO participants (id, session_id, receipt_hash, language, created_at) VALUES (?, ?, ?, 'en', ?)",
               (start, start, f"placeholder-{start}", stamp))
    db.execute("INSERT INTO responses (id, session_id, participant_id, prompt_id, language, source, skipped, created_at, "
               "updated_at) VALUES (?, ?, ?, ?, 'en', 'phone', 1, ?, ?)", (start, start, start, start, stamp, stamp))
    db.conn.commit()
