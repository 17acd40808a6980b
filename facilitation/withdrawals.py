"""An admin withdraws a person on their behalf: someone who calls, writes or comes in and asks.

The person is found by their receipt code (read out or written down), or chosen from a session's
answers ("Withdraw this person"), for people who never had or have lost their code. The admin
sees that person's answers to check it is the right one, says how the person asked, and
confirms. The withdrawal is the same as a resident's own (answers and contact details deleted,
added to the erasure ledger); the deletion log and the audit log say who did it and how the
person asked, never what they said.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from listening import queries
from listening.accounts import requires
from listening.db import get_db
from listening.i18n import local_time

from .blueprint import bp, titled
from .forms import STAFF_WITHDRAWAL_REASON_LABELS, StaffWithdrawForm


def chosen_person(raw: str | None) -> dict | None:
    """Return the participant named by a `participant` form value (with their session), or None."""
    if not raw or not str(raw).isdigit() or len(str(raw)) > 12:
        return None
    person = queries.participant(get_db(), int(raw))
    if person is None:
        return None
    person["session"] = queries.session_by_id(get_db(), person["session_id"])
    return person


def answers_shown(person: dict) -> list[dict]:
    """Return a person's answers as (question number, what they answered) for the admin to recognise them."""
    db = get_db()
    found = person["session"]
    texts = queries.texts_for_session(db, found["id"])
    answers = queries.answers_of(db, person["id"])
    shown = []
    for prompt in queries.prompts_for_session(db, found["id"]):
        answer = answers.get(prompt["id"])
        if answer is None:
            continue
        if answer["skipped"]:
            value = _("Skipped")
        elif prompt["kind"] == "open":
            value = answer["text"] if answer["text"] is not None else _("(text purged after the retention period)")
        elif prompt["kind"] == "scale":
            value = str(answer["number"])
        else:
            labels = {o["id"]: (_("Prefer not to say") if o["prefer_not"] else
                                queries.localized(texts, "option", o["id"], "label", found["default_language"],
                                                  found["default_language"])) for o in prompt["options"]}
            value = ", ".join(labels.get(choice, "?") for choice in answer["choices"])
            if answer.get("described"):
                value = f"{value}: {answer['described']}"
        shown.append({"number": prompt["number"], "language": answer["language"],
                      "question": queries.localized(texts, "prompt", prompt["id"], "text", found["default_language"],
                                                    found["default_language"]),
                      "value": value})
    return shown


@bp.route("/withdraw", methods=["GET", "POST"])
@requires("admin")
def staff_withdraw():
    """Withdraw a person on their behalf, by receipt code or as chosen from the answers, with how they asked."""
    db = get_db()
    posted = request.method == "POST"
    person = chosen_person((request.form if posted else request.args).get("participant"))
    form = StaffWithdrawForm(request.form if posted else None, data={"participant": person["id"] if person else ""})
    status = 200
    if posted:
        status = 400
        if form.validate():
            target = person
            if target is None:
                if not (form.receipt.data or "").strip():
                    form.receipt.errors.append(_("Please type their receipt code."))
                else:
                    target = queries.participant_by_receipt(db, form.receipt.data)
                    if target is None:
                        form.receipt.errors.append(_("We could not find that receipt code. Please check it and try again."))
                        status = 404
            if target is not None:
                outcome = queries.withdraw_for(db, target["id"], reason=form.reason.data, by_user=g.user["id"])
                if outcome.outcome == "withdrawn":
                    done = ngettext("Withdrawn: %(num)s answer was deleted.", "Withdrawn: %(num)s answers were deleted.",
                                    outcome.answers)
                    if outcome.contacts:
                        done += " " + _("Their contact details were deleted too.")
                    flash(done, "ok")
                    return redirect(url_for("facilitation.staff_withdraw"), 303)
                session = queries.session_by_id(db, outcome.session_id)
                message = _("This person's answers were already deleted on %(date)s.",
                            date=local_time(outcome.at, session["timezone"] if session else "UTC"))
                (form.receipt.errors if person is None else form.confirm.errors).append(message)
                status = 409
    return render_template(
        "facilitation/withdraw.html", form=form, person=person,
        answers=answers_shown(person) if person and not person["withdrawn_at"] else [],
        title=titled(person["session"]) if person else "", reasons=STAFF_WITHDRAWAL_REASON_LABELS,
    ), status
