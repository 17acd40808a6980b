"""Preview as a resident: the consent page and every question exactly as a phone shows them, in any
of the session's languages, storing nothing.

The resident templates are rendered with `preview` set: their forms go to the next preview page by
GET, carry no one-time key, and a banner says nothing is saved. No participant, consent, answer,
cookie entry or audit row is written (a test compares every table before and after).
"""
from __future__ import annotations

from flask import abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _

from listening import queries
from listening.consent import shown_paragraphs
from listening.db import get_db
from listening.forms import ConsentForm, answer_form

from listening.accounts import requires
from .blueprint import READERS, bp, load_session


@bp.route("/sessions/<int:session_id>/preview")
@requires(*READERS)
def preview(session_id: int):
    """Show step 0 (consent), a question (1..n) or the thank-you page as a resident would see it."""
    found = load_session(session_id)
    db = get_db()
    g.session_languages = found["languages"]
    try:
        step = int(request.args.get("step", "0"))
    except ValueError:
        abort(404)
    prompts = queries.prompts_for_session(db, session_id)
    if not 0 <= step <= len(prompts) + 1:
        abort(404)
    from listening.i18n import current_language
    from listening.views import session_texts

    language = current_language()
    text = session_texts(found)
    lang_arg = {"lang": language}
    common = {"s": found, "text": text, "preview": True, "notice": "",
              "preview_action": url_for("facilitation.preview", session_id=session_id),
              "preview_fields": {"step": step + 1, "lang": language},
              "preview_back": url_for("facilitation.session_overview", session_id=session_id),
              "preview_next": url_for("facilitation.preview", session_id=session_id, step=step + 1, **lang_arg),
              "preview_prev": url_for("facilitation.preview", session_id=session_id, step=step - 1, **lang_arg)
              if step > 0 else None}
    if step == 0:
        statement = queries.current_consent(db, session_id, language) \
            or queries.current_consent(db, session_id, found["default_language"])
        body = statement["body"] if statement else text("session", session_id, "consent")
        form = ConsentForm(formdata=None)
        return render_template("listening/consent.html", form=form, statement=shown_paragraphs(body, language), **common)
    if step > len(prompts):
        return render_template("listening/thanks.html", receipt="XXXX-XXXX-XXXX", prompt_count=len(prompts),
                               forget_form=None, **common)
    prompt = prompts[step - 1]
    labels = {o["id"]: text("option", o["id"], "label") for o in prompt["options"]}
    for option in prompt["options"]:
        if option["prefer_not"]:
            labels[option["id"]] = _("Prefer not to say")
    form = answer_form(prompt, labels, data={"answer": None})
    return render_template("listening/answer.html", prompt=prompt, number=step, total=len(prompts), form=form,
                           new_receipt="", max_length=current_app.config["MAX_ANSWER_LENGTH"], **common)
