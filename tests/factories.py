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
    from facilitation.accounts import user_by_email

    return user_by_email(db, email)["id"]


def share(db, session: dict, *emails: str) -> None:
    """Let the staff accounts with these emails see a session, as its owner or an admin would."""
    from facilitation.access import give_access
    from facilitation.accounts import user_by_email

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
    )


def count(db, table: str) -> int:
    """Count the rows of a table."""
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def every_table(db) -> dict[str, int]:
    """Count the rows of every table in the database (to prove a request stored nothing anywhere)."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: count(db, f"[{name}]") for name in names}
