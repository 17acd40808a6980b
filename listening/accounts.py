"""Staff accounts: users and roles, password hashing, sign-in throttling, and the role check every staff page uses.

Roles: admin (manages users, and may do everything), facilitator (creates and runs sessions),
planner (reads and analyses; cannot change sessions).

Sign-ins are revocable: each account has a `session_version`, copied into the cookie at sign-in
and compared on every request (`load_user`). Signing out, changing the
password, an admin's password reset, a role change and turning the account off each add one, so
every cookie issued before stops working at once, on every device.

Failed sign-ins slow down instead of locking out (`reserve_sign_in`). Three counters, one row
each in `sign_in_throttle`: the account (its email, known or not, so nothing is revealed), the
address, and, for a browser where this account signed in before, that device instead of the
account, so a stranger guessing passwords cannot keep the real owner out. After a few free
failures each further try must wait twice as long as the last, up to a ceiling. A try is
counted before its password is checked, inside the database's write lock, so parallel tries
cannot overshoot; a success takes its provisional failure back.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import sqlite_utils
from flask import current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.security import check_password_hash, generate_password_hash

from . import access
from .db import get_db, one, rows, transaction
from .queries import now

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


def set_password(db: sqlite_utils.Database, user_id: int, password: str, *, must_change: bool = False) -> int:
    """Replace a user's password and end all their sign-ins; return their new session version.

    `must_change` (an admin's reset) sends them to choose their own at their next sign-in.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters")
    with transaction(db):
        db.execute(
            "UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? WHERE id = ?",
            (generate_password_hash(password, method="scrypt"), int(must_change), now(), user_id),
        )
        return end_sessions(db, user_id)


def end_sessions(db: sqlite_utils.Database, user_id: int) -> int:
    """End every sign-in of a user, on every device; return their new session version."""
    with transaction(db):
        db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", (user_id,))
        found = one(db, "SELECT session_version FROM users WHERE id = ?", (user_id,))
    return found["session_version"] if found else 0


def password_matches(user: dict, password: str) -> bool:
    """Tell whether a password is this user's."""
    return check_password_hash(user["password_hash"], password or "")


def user_by_email(db: sqlite_utils.Database, email: str) -> dict | None:
    """Return the account with this email (any case), or None."""
    return one(db, "SELECT * FROM users WHERE email = ?", (email.strip(),))


def user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """Return the account with this id, or None."""
    return one(db, "SELECT * FROM users WHERE id = ?", (user_id,))


def all_users(db: sqlite_utils.Database) -> list[dict]:
    """Return every account, by email."""
    return rows(db, "SELECT id, email, role, active, created_at, last_login_at, must_change_password "
                    "FROM users ORDER BY email")


def change_user(db: sqlite_utils.Database, user_id: int, *, role: str | None = None, active: bool | None = None) -> bool:
    """Change an account's role or turn it on or off; a real change ends all its sign-ins. Return whether it changed."""
    if role is not None and role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    with transaction(db):
        before = one(db, "SELECT role, active FROM users WHERE id = ?", (user_id,))
        if before is None:
            return False
        changed = (role is not None and role != before["role"]) or (active is not None and int(active) != before["active"])
        if role is not None:
            db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
        if active is not None:
            db.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
        if changed:
            end_sessions(db, user_id)
    return changed


def check_login(db: sqlite_utils.Database, email: str, password: str) -> dict | None:
    """Return the active account these credentials belong to, or None."""
    user = user_by_email(db, email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not password_matches(user, password) or not user["active"]:
        return None
    with transaction(db):
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (now(), user["id"]))
    return user


# Sign-in throttling. Failures beyond the free ones make the next try wait FIRST_DELAY seconds,
# doubling each time up to the ceiling; a counter is forgotten after FORGET_AFTER without failures.
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20  # an office of staff may share one address
FIRST_DELAY_SECONDS = 15
ACCOUNT_MAX_DELAY_SECONDS = 5 * 60
ADDRESS_MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class SignInTicket:
    """The outcome of asking to try a password: allowed (and counted), or how long to wait."""

    allowed: bool
    wait_seconds: int = 0
    keys: tuple[str, ...] = ()


def email_key(email: str) -> str:
    """Normalise an email for counting: trimmed, lower case, at most 254 characters."""
    return (email or "").strip().lower()[:254]


def throttle_rules(email: str, address: str, device: str | None) -> list[tuple[str, int, int]]:
    """Return the counters a sign-in try counts against: (key, free failures, longest wait)."""
    account = f"device:{device}:{email_key(email)}" if device else f"account:{email_key(email)}"
    return [(account, ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_SECONDS),
            (f"address:{(address or 'unknown')[:64]}", ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY_SECONDS)]


def required_wait(failures: int, last: datetime, free: int, ceiling: int, at: datetime) -> int:
    """Return how many more seconds a counter with `failures` (the last at `last`) must wait, 0 if none."""
    if failures < free:
        return 0
    delay = min(FIRST_DELAY_SECONDS * 2 ** min(failures - free, 20), ceiling)
    remaining = (last + timedelta(seconds=delay) - at).total_seconds()
    return max(0, int(remaining + 0.999))


def _counter(db: sqlite_utils.Database, key: str, at: datetime) -> tuple[int, datetime]:
    """Return a counter's failures and last failure time, forgetting an old one."""
    row = one(db, "SELECT failures, last_failure_at FROM sign_in_throttle WHERE key = ?", (key,))
    if row is None:
        return 0, at
    last = datetime.fromisoformat(row["last_failure_at"])
    if at - last > FORGET_AFTER:
        return 0, at
    return row["failures"], last


def reserve_sign_in(db: sqlite_utils.Database, email: str, address: str, *, device: str | None = None,
                    at: datetime | None = None) -> SignInTicket:
    """Count a sign-in try before its password is checked, or say how long to wait.

    Runs in one write transaction, so two tries at once are counted one after the other.
    """
    at = at or datetime.now(timezone.utc)
    rules = throttle_rules(email, address, device)
    with transaction(db):
        # Counters quiet for longer than FORGET_AFTER count as zero; drop them so the table stays small.
        db.execute("DELETE FROM sign_in_throttle WHERE last_failure_at < ?",
                   ((at - FORGET_AFTER).isoformat(timespec="microseconds"),))
        counters = {key: _counter(db, key, at) for key, _free, _ceiling in rules}
        wait = max(required_wait(*counters[key], free, ceiling, at) for key, free, ceiling in rules)
        if wait:
            return SignInTicket(False, wait)
        for key, _free, _ceiling in rules:
            db.execute(
                """INSERT INTO sign_in_throttle (key, failures, last_failure_at) VALUES (?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at""",
                (key, counters[key][0] + 1, at.isoformat(timespec="microseconds")),
            )
    return SignInTicket(True, 0, tuple(key for key, _free, _ceiling in rules))


def sign_in_succeeded(db: sqlite_utils.Database, ticket: SignInTicket) -> None:
    """Take back a successful try's provisional failure: clear the account's counter, lower the address's."""
    with transaction(db):
        for key in ticket.keys:
            if key.startswith("address:"):
                db.execute("UPDATE sign_in_throttle SET failures = max(failures - 1, 0) WHERE key = ?", (key,))
            else:
                db.execute("DELETE FROM sign_in_throttle WHERE key = ?", (key,))


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
            if user["must_change_password"] and request.endpoint != "facilitation.account":
                return redirect(url_for("facilitation.account"))
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


# --- the signed-in staff member, on every staff request (both staff UIs register these) -------


# What a staff sign-in keeps in the cookie; all of it goes when the sign-in ends.
STAFF_KEYS = ("uid", "sv", "since", "entry_last", "entry_receipt")


def load_user() -> None:
    """Put the signed-in staff member on `g.user`, if their sign-in is still good.

    A sign-in ends when the account is turned off, when its session version moved on (signed
    out elsewhere, password or role changed) or CHORUS_STAFF_SESSION_HOURS after it began.
    """
    user_id = session.get("uid")
    user = user_by_id(get_db(), user_id) if user_id else None
    if user_id and (user is None or not user["active"] or session.get("sv") != user["session_version"]
                    or not isinstance(session.get("since"), int)
                    or time.time() - session["since"] > current_app.config["STAFF_SESSION_HOURS"] * 3600):
        end_staff_cookie()
        user = None
    g.user = user


def end_staff_cookie() -> None:
    """Drop a staff sign-in (and what it kept) from this browser's cookie, leaving a resident's part."""
    for key in STAFF_KEYS:
        session.pop(key, None)


def start_staff_cookie(user: dict, version: int) -> None:
    """Sign a staff member in on this browser with a fresh cookie (no session fixation), keeping the language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session.update(uid=user["id"], sv=version, since=int(time.time()))


def guard_session_access() -> None:
    """Answer 404 for any route naming a session the signed-in staff member may not see.

    Strangers pass through to the sign-in redirect of `requires`; a session one may not see
    looks exactly like one that does not exist.
    """
    session_id = (request.view_args or {}).get("session_id")
    if session_id is not None and g.get("user") is not None and not access.can_see_session(get_db(), g.user, session_id):
        raise NotFound()
