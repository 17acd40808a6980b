"""WTForms forms for residents, all with a CSRF token tied to the visitor's cookie.

Answer forms are built per prompt by `answer_form`, so each kind of prompt validates its own
input and every message is the resident's language.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.csrf.session import SessionCSRF
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from .i18n import current_language


class ChorusForm(Form):
    """A form with a session-bound CSRF token and messages in the visitor's language."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF
        # Residents may keep a page open through a long session before answering.
        csrf_time_limit = timedelta(hours=12)

        @property
        def csrf_secret(self) -> bytes:
            """Sign tokens with the app's secret key."""
            return current_app.config["SECRET_KEY"].encode()

        @property
        def csrf_context(self):
            """Bind tokens to the visitor's cookie session."""
            return session

        @property
        def locales(self) -> list[str]:
            """Use WTForms' own catalogs, where it has one, for its built-in messages."""
            return [current_language(), "en"]

    @property
    def csrf_failed(self) -> bool:
        """Tell whether the form failed only because its token was missing, stale or forged."""
        return bool(getattr(self, "csrf_token", None) and self.csrf_token.errors)


class ActionForm(ChorusForm):
    """A form with nothing but its CSRF token, for buttons that change something (used by both staff UIs)."""


def answer_values(prompt: dict, form) -> dict:
    """Turn a validated answer form into save_response's keyword arguments (residents' and staff entry alike).

    An open answer is kept byte for byte, spaces included: nothing a person said is changed.
    """
    value = form.answer.data
    if prompt["kind"] == "open":
        return {"text": value}
    if prompt["kind"] == "scale":
        return {"number": int(value)}
    if prompt["kind"] == "multiple":
        return {"choices": [int(v) for v in value]}
    return {"choices": [int(value)]}


def new_nonce() -> str:
    """Return a one-time key that marks a rendered form, so its submission counts once."""
    return secrets.token_urlsafe(16)


def _valid_nonce(form: Form, field) -> None:
    """Reject a form whose one-time key has been tampered with."""
    value = field.data or ""
    if not (10 <= len(value) <= 64) or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise ValidationError(_("This form is damaged. Please reload the page and try again."))


class ForgetForm(ChorusForm):
    """The "forget me" button on a shared device: nothing but its CSRF token."""


class JoinForm(ChorusForm):
    """Enter a session's join code."""

    class Meta:
        csrf = False  # a GET form that changes nothing, so it works from a printed link too

    code = StringField(
        _l("Session code"),
        validators=[InputRequired(message=_l("Please type the code you were given."))],
    )


# What a yes to ConsentForm.quote_ok covers: its words name the room's screen and reports.
QUOTE_SCOPE = "screen_and_reports"


class ConsentForm(ChorusForm):
    """Read the consent statement, then agree (or not) and choose how words may be used."""

    nonce = HiddenField(validators=[_valid_nonce])
    version = HiddenField()
    take_part = BooleanField(_l("Yes, I agree to take part."))
    # TRANSLATORS: "the room's screen" is the projector the group looks at during a live session.
    # These words name the room's screen, so a yes here is recorded with QUOTE_SCOPE (below); if they
    # ever stop naming it, QUOTE_SCOPE must become "reports" or the wall would show words it may not.
    quote_ok = BooleanField(_l("You may show my words on the room's screen and quote them in reports, without my name."))
    contact_ok = BooleanField(_l("You may contact me later about this work."))

    def choice_labels(self) -> dict[str, str]:
        """Return the choices' words as this resident sees them (in the page's language), to keep with the consent."""
        return {"take_part": str(self.take_part.label.text), "quote": str(self.quote_ok.label.text),
                "contact": str(self.contact_ok.label.text)}
    contact_name = StringField(
        _l("Your name (optional)"),
        validators=[Optional(), Length(max=200, message=_l("Please use 200 characters or fewer."))],
    )
    contact_phone = StringField(
        _l("Phone number (optional)"),
        validators=[Optional(), Length(max=50, message=_l("Please use 50 characters or fewer."))],
    )
    contact_email = StringField(
        _l("Email (optional)"),
        validators=[
            Optional(),
            Length(max=254, message=_l("Please use 254 characters or fewer.")),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Please check this email address.")),
        ],
    )

    def validate_take_part(self, field) -> None:
        """Continuing needs the 'take part' box; declining uses its own button."""
        if not field.data:
            raise ValidationError(
                _("To continue, check the box “Yes, I agree to take part”. If you do not want to take part, press “No, thank you”.")
            )

    def validate_contact_phone(self, field) -> None:
        """Ask for a way to reach them if they said they may be contacted."""
        if self.contact_ok.data and not (field.data or "").strip() and not (self.contact_email.data or "").strip():
            raise ValidationError(_("To be contacted, please give a phone number or an email address."))


class WithdrawForm(ChorusForm):
    """Enter a receipt code to take back one's answers."""

    receipt = StringField(
        _l("Your receipt code"),
        validators=[
            InputRequired(message=_l("Please type your receipt code.")),
            Length(max=40, message=_l("That is longer than a receipt code.")),
        ],
    )
    confirm = BooleanField(_l("Yes, delete all my answers."))

    def validate_confirm(self, field) -> None:
        """Deleting cannot be undone, so it needs a clear yes."""
        if not field.data:
            raise ValidationError(_("Please check the box to confirm that your answers should be deleted."))


def options(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes (rendered by the template)."""

    def pre_validate(self, form) -> None:
        """Accept only this prompt's own options, with a message in the resident's language."""
        allowed = {choice.value for choice in self.choices}
        if any(value not in allowed for value in self.data or []):
            raise ValidationError(_("Please choose from the options shown."))


class OneChoiceField(RadioField):
    """One choice from a list (rendered by the template); no answer at all is allowed."""

    def pre_validate(self, form) -> None:
        """Accept no answer, or one of this prompt's own options; anything else gets a clear message."""
        if not self.raw_data:
            return
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_("Please choose from the options shown."))

    def process_formdata(self, valuelist) -> None:
        """Ignore blank values, so a stray empty box is 'no choice', not a crash."""
        super().process_formdata([value for value in valuelist if value != ""])


def answer_form(prompt: dict, option_labels: dict[int, str], formdata=None, data: dict | None = None) -> ChorusForm:
    """Build the form for one prompt: its answer field validated for the prompt's kind."""
    max_length = current_app.config["MAX_ANSWER_LENGTH"]
    required = bool(prompt["required"])
    kind = prompt["kind"]

    class AnswerForm(ChorusForm):
        nonce = HiddenField(validators=[_valid_nonce])

    if kind == "open":
        def within_limit(form: Form, field) -> None:
            """Keep open answers to the configured length, saying how long this one is."""
            length = len(field.data or "")
            if length > max_length:
                raise ValidationError(
                    _("Your answer is %(length)s characters long. Please shorten it to %(max)s or fewer. Your words are kept below.",
                      length=length, max=max_length)
                )

        validators = [within_limit]
        field = TextAreaField(validators=validators)
    elif kind in ("single", "about", "scale"):
        if kind == "scale":
            choices = options((n, str(n)) for n in range(prompt["scale_min"], prompt["scale_max"] + 1))
        else:
            choices = options((o["id"], option_labels.get(o["id"], "")) for o in prompt["options"])
        field = OneChoiceField(choices=choices)
    elif kind == "multiple":
        # No Optional(): it would stop the check of every value when the first one is blank.
        field = MultiCheckboxField(
            choices=options((o["id"], option_labels.get(o["id"], "")) for o in prompt["options"]),
        )
    else:  # pragma: no cover - the schema allows no other kind
        raise ValueError(f"Unknown prompt kind {kind!r}")
    AnswerForm.answer = field
    form = AnswerForm(formdata=formdata, data=data or {})
    form.required = required
    form.kind = kind
    return form


def answer_is_empty(form: ChorusForm) -> bool:
    """Tell whether the resident gave no answer at all."""
    data = form.answer.data
    if form.kind == "open":
        return not (data or "").strip()
    if form.kind == "multiple":
        return not data
    return data in (None, "", "None")
