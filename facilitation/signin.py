"""Staff sign-in pages: signing in (with throttling and known devices), signing out, and
changing one's own password. The accounts, roles and throttling rules are the core's
(`listening.accounts`); this module only shows the pages.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlparse

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeTimedSerializer

from listening import accounts, queries
from listening.accounts import public, requires, start_staff_cookie
from listening.db import get_db
from listening.forms import ActionForm

from .blueprint import bp
from .forms import (
    LoginForm,
    PasswordChangeForm,
)

# --- signing in ------------------------------------------------------------------------------


KNOWN_DEVICE_COOKIE = "chorus_device"
KNOWN_DEVICE_DAYS = 90


def safe_next(target: str | None) -> str:
    """Return the staff page to go to after signing in: a plain same-site /staff/ path, or the dashboard.

    Anything else (another site, a scheme, a backslash, a control character such as a line
    break, which would break the Location header) falls back to the dashboard.
    """
    fallback = url_for("facilitation.dashboard")
    if not target or len(target) > 2000 or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return fallback
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/staff/") or target.startswith("//"):
        return fallback
    if parsed.path in (url_for("facilitation.login"), url_for("facilitation.logout")):
        return fallback
    return target


def device_serializer() -> URLSafeTimedSerializer:
    """Sign the known-device cookie with the app's secret key."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="chorus-known-device")


def known_device() -> tuple[str, list[int]]:
    """Return this browser's device id and the accounts that signed in on it, from its signed cookie."""
    raw = request.cookies.get(KNOWN_DEVICE_COOKIE, "")
    try:
        data = device_serializer().loads(raw, max_age=KNOWN_DEVICE_DAYS * 86400) if raw else {}
    except BadSignature:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return secrets.token_urlsafe(12), []
    users = [u for u in data.get("u", []) if isinstance(u, int)]
    return data["d"][:32], users


def remember_device(response, device: str, users: list[int], user_id: int):
    """Mark this browser as one where `user_id` signs in, so strangers' failed tries do not slow them down here."""
    users = [u for u in users if u != user_id][-9:] + [user_id]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE, device_serializer().dumps({"d": device, "u": users}),
        max_age=KNOWN_DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path=url_for("facilitation.login"),
    )
    return response


def wait_message(seconds: int) -> str:
    """Say how long to wait before the next sign-in try, in seconds or (rounded up) minutes."""
    if seconds < 90:
        return ngettext("Too many failed sign-ins. Please wait %(num)s second and try again.",
                        "Too many failed sign-ins. Please wait %(num)s seconds and try again.", seconds)
    minutes = -(-seconds // 60)
    return ngettext("Too many failed sign-ins. Please wait %(num)s minute and try again.",
                    "Too many failed sign-ins. Please wait %(num)s minutes and try again.", minutes)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign a staff member in; a fresh cookie session prevents session fixation.

    Each try is counted (per account, or per known device, and per address) before the
    password is checked; too many failures make the next try wait (see `accounts`).
    """
    form = LoginForm(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        db = get_db()
        email = (form.email.data or "").strip()[:254]
        device, device_users = known_device()
        known = accounts.user_by_email(db, email)
        ticket = accounts.reserve_sign_in(
            db, email, request.remote_addr or "unknown",
            device=device if known is not None and known["id"] in device_users else None)
        if not ticket.allowed:
            queries.record_audit(db, user_id=None, action="login_throttled", target=email,
                                 detail=f"wait={ticket.wait_seconds}s")
            form.password.errors.append(wait_message(ticket.wait_seconds))
            return render_template("facilitation/login.html", form=form), 429, {"Retry-After": str(ticket.wait_seconds)}
        user = accounts.check_login(db, email, form.password.data)
        if user is not None:
            accounts.sign_in_succeeded(db, ticket)
            start_staff_cookie(user, user["session_version"])
            queries.record_audit(db, user_id=user["id"], action="login")
            target = url_for("facilitation.account") if user["must_change_password"] else safe_next(request.args.get("next"))
            return remember_device(redirect(target), device, device_users, user["id"])
        queries.record_audit(db, user_id=None, action="login_failed", target=email)
        form.password.errors.append(_("That email and password do not match an account."))
        return render_template("facilitation/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    notice = _("This page was open for a long time. Please sign in again.") if form.csrf_failed else ""
    return render_template("facilitation/login.html", form=form, notice=notice), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out here and everywhere else (every cookie of this account stops working), keeping the language."""
    form = ActionForm(request.form)
    if form.validate() and g.user is not None:
        db = get_db()
        accounts.end_sessions(db, g.user["id"])
        queries.record_audit(db, user_id=g.user["id"], action="logout")
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
    return redirect(url_for("facilitation.login"))


@bp.route("/account", methods=["GET", "POST"])
@requires("facilitator", "planner")
def account():
    """Change one's own password; every other sign-in of the account ends, this one carries on."""
    db = get_db()
    form = PasswordChangeForm(request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            ticket = accounts.reserve_sign_in(db, g.user["email"], request.remote_addr or "unknown")
            if not ticket.allowed:
                form.current_password.errors.append(wait_message(ticket.wait_seconds))
                status = 429
            elif not accounts.password_matches(g.user, form.current_password.data):
                queries.record_audit(db, user_id=g.user["id"], action="password_change_failed", target=g.user["email"])
                form.current_password.errors.append(_("That is not your current password."))
            else:
                accounts.sign_in_succeeded(db, ticket)
                version = accounts.set_password(db, g.user["id"], form.new_password.data)
                session["sv"] = version
                queries.record_audit(db, user_id=g.user["id"], action="password_changed", target=g.user["email"])
                flash(_("Your password was changed. Anyone signed in to your account elsewhere was signed out."), "ok")
                return redirect(url_for("facilitation.dashboard"), 303)
    notice = ""
    if g.user["must_change_password"] and request.method == "GET":
        notice = _("An administrator reset your password. Please choose a new one to go on.")
    return render_template("facilitation/account.html", form=form, notice=notice,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status
