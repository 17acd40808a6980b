"""Staff accounts for admins: the user list, role and on/off changes, password resets, and the
audit and deletion logs.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from listening import accounts, lists, queries
from listening.accounts import requires
from listening.db import get_db
from listening.paging import cursor

from . import audit_words
from .blueprint import bp
from .forms import (
    PasswordResetForm,
    UserChangeForm,
    UserForm,
)

# --- staff accounts ---------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@requires("admin")
def users():
    """List staff accounts and add one."""
    db = get_db()
    form = UserForm(request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            if accounts.user_by_email(db, form.email.data):
                form.email.errors.append(_("There is already an account with that email."))
            else:
                try:
                    user_id = accounts.create_user(db, form.email.data, form.password.data, form.role.data)
                except ValueError:
                    form.email.errors.append(_("Please check this email address."))
                else:
                    queries.record_audit(db, user_id=g.user["id"], action="user_added",
                                         target=form.email.data.strip(), detail=f"role={form.role.data}")
                    flash(_("Account added."), "ok")
                    return redirect(url_for("facilitation.users"))
        status = 400
    return render_template(
        "facilitation/users.html", form=form, users=accounts.all_users(db),
        change_forms={u["id"]: UserChangeForm(data={"role": u["role"], "active": bool(u["active"])})
                      for u in accounts.all_users(db)},
        reset_form=PasswordResetForm(),
    ), status


@bp.route("/users/<int:user_id>", methods=["POST"])
@requires("admin")
def change_user(user_id: int):
    """Change an account's role or whether it can sign in (never your own, so an admin always remains).

    A change signs the account out everywhere, so a new role applies at once.
    """
    db = get_db()
    target = accounts.user_by_id(db, user_id)
    if target is None:
        raise NotFound()
    form = UserChangeForm(request.form)
    if not form.validate():
        flash(_("That could not be done. Please try again."), "error")
    elif target["id"] == g.user["id"]:
        flash(_("You cannot change your own role or access."), "error")
    else:
        accounts.change_user(db, user_id, role=form.role.data, active=form.active.data)
        queries.record_audit(db, user_id=g.user["id"], action="user_changed", target=target["email"],
                             detail=f"role={form.role.data} active={int(form.active.data)}")
        flash(_("Account updated."), "ok")
    return redirect(url_for("facilitation.users")), 303


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires("admin")
def reset_password(user_id: int):
    """Give an account a temporary password: it is signed out everywhere and must choose its own at sign-in."""
    db = get_db()
    target = accounts.user_by_id(db, user_id)
    if target is None:
        raise NotFound()
    form = PasswordResetForm(request.form)
    if target["id"] == g.user["id"]:
        flash(_("To change your own password, use “Your account”."), "error")
    elif not form.validate():
        flash(form.password.errors[0] if form.password.errors else _("That could not be done. Please try again."), "error")
    else:
        accounts.set_password(db, user_id, form.password.data, must_change=True)
        queries.record_audit(db, user_id=g.user["id"], action="password_reset", target=target["email"])
        flash(_("Password reset for %(email)s. They were signed out everywhere and must choose a new password "
                "when they next sign in. Give them the temporary password in person or by phone, not by email.",
                email=target["email"]), "ok")
    return redirect(url_for("facilitation.users")), 303


@bp.route("/audit")
@requires("admin")
def audit():
    """Show the audit log a page at a time, newest first, optionally of one kind of action."""
    db = get_db()
    actions = lists.audit_actions(db)
    action = request.args.get("action", "")
    error = ""
    if action and action not in actions:
        action, error = "", _("There is no such kind of entry in the audit log, so every entry is shown.")
    listing = lists.audit_page(db, action=action, before=cursor(request.args.get("before")),
                               after=cursor(request.args.get("after")))
    choices = sorted(((code, audit_words.action_label(code)) for code in actions), key=lambda pair: pair[1].casefold())
    return render_template("facilitation/audit.html", entries=listing.rows, listing=listing, choices=choices,
                           action=action, error=error, filter_args={"action": action} if action else {},
                           action_label=audit_words.action_label, describe_detail=audit_words.describe_detail)


@bp.route("/deletions")
@requires("admin")
def deletions():
    """Show the deletion log: what kind of data was deleted, when and why (never the content)."""
    return render_template("facilitation/deletions.html", entries=queries.deletion_log(get_db()),
                           deletion_kind=audit_words.deletion_kind, describe_detail=audit_words.describe_detail,
                           describe_reason=audit_words.describe_reason)
