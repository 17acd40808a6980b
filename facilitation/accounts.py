"""Staff accounts: users and roles, password hashing, and the role check every staff page uses.

Roles: admin (manages users, and may do everything), facilitator (creates and runs sessions),
planner (reads and analyses; cannot change sessions).
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Callable

import sqlite_utils
from flask import g, redirect, request, url_for
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from listening.db import one, rows, transaction
from listening.queries import now

ROLES = ("admin", "facilitator", "planner")
MIN_PASSWORD_LENGTH = 10
# A hash to check against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


def create_user(db: sqlite_utils.Database, email: str, password: str, role: str) -> int:
    """Create a staff account with a scrypt password hash and return its id."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters")
    email = email.strip()
    if "@" not in email:
        raise ValueError("That does not look like an email address")
    with transaction(db):
        return db.execute(
            "INSERT INTO users (email, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
            (email, generate_password_hash(password, method="scrypt"), role, now()),
        ).lastrowid


def set_password(db: sqlite_utils.Database, user_id: int, password: str) -> None:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters")
    with transaction(db):
        db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?",
            (generate_password_hash(password, method="scrypt"), user_id),
        )


def user_by_email(db: sqlite_utils.Database, email: str) -> dict | None:
    """Return the account with this email (any case), or None."""
    return one(db, "SELECT * FROM users WHERE email = ?", (email.strip(),))


def user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """Return the account with this id, or None."""
    return one(db, "SELECT * FROM users WHERE id = ?", (user_id,))


def all_users(db: sqlite_utils.Database) -> list[dict]:
    """Return every account, by email."""
    return rows(db, "SELECT id, email, role, active, created_at, last_login_at FROM users ORDER BY email")


def change_user(db: sqlite_utils.Database, user_id: int, *, role: str | None = None, active: bool | None = None) -> None:
    """Change an account's role or turn it on or off."""
    if role is not None and role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    with transaction(db):
        if role is not None:
            db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
        if active is not None:
            db.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))


def check_login(db: sqlite_utils.Database, email: str, password: str) -> dict | None:
    """Return the active account these credentials belong to, or None."""
    user = user_by_email(db, email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user["password_hash"], password or "") or not user["active"]:
        return None
    with transaction(db):
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (now(), user["id"]))
    return user


LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15


def login_locked(db: sqlite_utils.Database, email: str) -> bool:
    """Tell whether an email has had LOCKOUT_FAILURES failed sign-ins in the last LOCKOUT_MINUTES.

    Counted per email (known or not, so a lockout reveals nothing), since the last success.
    """
    email = (email or "").strip()[:254]
    since = (datetime.now(timezone.utc) - timedelta(minutes=LOCKOUT_MINUTES)).isoformat(timespec="microseconds")
    user = user_by_email(db, email)
    if user is not None and user["last_login_at"] and user["last_login_at"] > since:
        since = user["last_login_at"]
    found = one(
        db, "SELECT count(*) AS n FROM audit_log WHERE action = 'login_failed' AND lower(target) = lower(?) AND at > ?",
        (email, since),
    )
    return bool(found) and found["n"] >= LOCKOUT_FAILURES


def requires(*roles: str) -> Callable:
    """Let only signed-in staff with one of `roles` (or admins) reach a view."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"Unknown role {role!r}")

    def decorate(view: Callable) -> Callable:
        """Wrap a view with the sign-in and role check."""

        @functools.wraps(view)
        def guarded(*args, **kwargs):
            """Send strangers to sign in and refuse the wrong role."""
            user = g.get("user")
            if user is None:
                return redirect(url_for("facilitation.login", next=request.full_path.rstrip("?")))
            if user["role"] != "admin" and user["role"] not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        guarded.required_roles = frozenset(roles) | {"admin"}
        return guarded

    return decorate


def public(view: Callable) -> Callable:
    """Mark a staff view (sign in, sign out) as reachable without signing in."""
    view.required_roles = frozenset()
    return view


def can_edit(user: dict | None) -> bool:
    """Tell whether this user may change sessions."""
    return bool(user) and user["role"] in ("admin", "facilitator")
