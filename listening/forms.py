"""WTForms forms for residents, all with a CSRF token tied to the visitor's cookie.

Answer forms are built per prompt by `answer_form`, so each kind of prompt validates its own
input and every message is the resident's language.
"""
from __future__ import annotations

import functools
import re
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    Form,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.csrf.session import SessionCSRF
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import AnyOf, InputRequired, Length, Optional, Regexp, ValidationError

from .i18n import current_language, local_number
from .queries import self_described_option

# The longest self-description kept ("Prefer to self-describe": in your own words).
MAX_DESCRIBED_LENGTH = 200


class TokenOnDemandField(CSRFTokenField):
    """The CSRF token field, making a new token only when a page shows it.

    WTForms signs a fresh token (an HMAC and a date) whenever a form is built, also when a posted
    form is only checked and the resident is redirected; that token was never used. Checking the
    posted token is unchanged (`SessionCSRF.validate_csrf_token`).
    """

    _token: str | None = None

    def __init__(self, *args, **kwargs) -> None:
        """Build the field under WTForms' own type name, which the error summaries leave out (a resident has no
        box for the token: the page's own "open for a long time" notice says what happened)."""
        super().__init__(*args, **kwargs)
        self.type = "CSRFTokenField"

    def process(self, *args, **kwargs) -> None:
        """Take the posted token, without signing a new one yet."""
        super(CSRFTokenField, self).process(*args, **kwargs)
        self._token = None

    @property
    def current_token(self) -> str:
        """Return the token a page shows, signed on first use (which also gives a new browser its CSRF secret)."""
        if self._token is None:
            self._token = self.csrf_impl.generate_csrf_token(self)
        return self._token

    @current_token.setter
    def current_token(self, value: str) -> None:
        """Keep a token set from outside."""
        self._token = value


class TokenOnDemandCSRF(SessionCSRF):
    """WTForms' session CSRF, with the token signed only when shown (see TokenOnDemandField)."""

    field_class = TokenOnDemandField

    def validate_csrf_token(self, form, field) -> None:
        """Check the posted token as SessionCSRF does; a browser with no CSRF secret yet gets one first (as building
        the form gave it before), so its token fails as forged."""
        if "csrf" not in self.session:
            field.current_token  # noqa: B018 - signing a token makes the secret, as SessionCSRF does
        super().validate_csrf_token(form, field)


class ChorusForm(Form):
    """A form with a session-bound CSRF token and messages in the visitor's language."""

    class Meta:
        csrf = True
        csrf_class = TokenOnDemandCSRF
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
    Words given with a self-described choice go to `described`, never to `text`: only with that
    choice, and only if they are more than spaces.
    """
    value = form.answer.data
    if prompt["kind"] == "open":
        return {"text": value}
    if prompt["kind"] == "scale":
        return {"number": int(value)}
    if prompt["kind"] == "multiple":
        return {"choices": [int(v) for v in value]}
    if prompt["kind"] in ("dots", "budget"):
        # One entry per dot or point, in the options' order: counting entries gives each option's total.
        return {"choices": [option_id for option_id, amount in sorted(value.items()) for _ in range(amount)]}
    if prompt["kind"] == "rank":
        return {"choices": list(value)}
    found = {"choices": [int(value)]}
    if getattr(form, "self_described", None) is not None:
        words = form.described.data or ""
        found["described"] = words if words.strip() and str(value) == str(form.self_described["id"]) else None
    return found


def new_nonce() -> str:
    """Return a one-time key that marks a rendered form, so its submission counts once."""
    return secrets.token_urlsafe(16)


def nonce_shape_ok(value: str) -> bool:
    """Tell whether a one-time key looks like one we made (10 to 64 letters, digits, - and _)."""
    return 10 <= len(value) <= 64 and all(ch.isalnum() or ch in "-_" for ch in value)


def _valid_nonce(form: Form, field) -> None:
    """Reject a form whose one-time key has been tampered with."""
    if not nonce_shape_ok(field.data or ""):
        raise ValidationError(_("This form is damaged. Please reload the page and try again."))


class ForgetForm(ChorusForm):
    """The "forget me" button on a shared device: nothing but its CSRF token."""


JOIN_CODE_MAX_LENGTH = 200


class JoinForm(ChorusForm):
    """Enter a session's join code."""

    class Meta:
        csrf = False  # a GET form that changes nothing, so it works from a printed link too

    code = StringField(
        _l("Session code"),
        # The box takes JOIN_CODE_MAX_LENGTH characters (a pasted join link fits): a longer address is refused in English
        # by gunicorn before Chorus sees it.
        validators=[InputRequired(message=_l("Please type the code you were given.")),
                    Length(max=JOIN_CODE_MAX_LENGTH, message=_l("Please type the code you were given."))],
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


class AllocationField(Field):
    """Dots or points spread over a prompt's options: one number box per option (`answer-<option id>`), no JavaScript.

    `data` is {option id: amount}; `shown(option id)` is what the box should show again (what was typed).
    """

    def __init__(self, *args, option_ids=(), total: int = 0, unit: str = "dots", **kwargs):
        super().__init__(*args, **kwargs)
        self.option_ids = [int(o) for o in option_ids]
        self.total = total
        self.unit = unit
        self.raw: dict[int, str] = {}

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        """Read every option's box from the form, or take the stored allocation."""
        self.process_errors = []
        if formdata is not None and any(f"{self.name}-{o}" in formdata for o in self.option_ids):
            self.raw = {o: (formdata.get(f"{self.name}-{o}") or "").strip() for o in self.option_ids}
            self.data = {}
        else:
            self.data = dict(data) if isinstance(data, dict) else {}
            self.raw = {o: str(self.data.get(o, "")) if self.data.get(o) else "" for o in self.option_ids}

    def shown(self, option_id: int) -> str:
        """Return what the box for an option shows."""
        return self.raw.get(int(option_id), "")

    def pre_validate(self, form) -> None:
        """Whole numbers of 0 or more, adding up to no more than the dots or points there are."""
        if not self.raw:
            return
        amounts = {}
        for option_id, text in self.raw.items():
            if text == "":
                amounts[option_id] = 0
            elif text.isdigit() and len(text) <= 4:
                amounts[option_id] = int(text)
            else:
                raise ValidationError(_("Please use whole numbers: 0 or more in each box."))
        used = sum(amounts.values())
        if used > self.total and self.unit == "dots":
            raise ValidationError(_("You placed %(used)s dots, but you have %(total)s. Please take some off.",
                                    used=local_number(used), total=local_number(self.total)))
        if used > self.total:
            raise ValidationError(_("Your points add up to %(used)s, more than the %(total)s you have. Please take some off.",
                                    used=local_number(used), total=local_number(self.total)))
        self.data = {o: n for o, n in amounts.items() if n}


class RankField(Field):
    """Options put in order with one select per place (`answer-1`, `answer-2`...), no JavaScript; `data` is the ids in order."""

    def __init__(self, *args, option_ids=(), places: int = 3, labels: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_ids = [int(o) for o in option_ids]
        self.places = places
        self.labels = labels or {}
        self.raw: list[str] = []

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        """Read each place's select from the form, or take the stored order."""
        self.process_errors = []
        if formdata is not None and any(f"{self.name}-{n}" in formdata for n in range(1, self.places + 1)):
            self.raw = [(formdata.get(f"{self.name}-{n}") or "").strip() for n in range(1, self.places + 1)]
            self.data = []
        else:
            self.data = [int(o) for o in data] if isinstance(data, list) else []
            self.raw = [str(o) for o in self.data] + [""] * (self.places - len(self.data))

    def shown(self, place: int) -> str:
        """Return the option id chosen for a place (1 = first), or ''."""
        return self.raw[place - 1] if 0 < place <= len(self.raw) else ""

    def pre_validate(self, form) -> None:
        """Only this prompt's options, each at most once, places filled from the first."""
        if not self.raw:
            return
        chosen = []
        for text in self.raw:
            if text and (not text.isdigit() or int(text) not in self.option_ids):
                raise ValidationError(_("Please choose from the options shown."))
            chosen.append(int(text) if text else None)
        while chosen and chosen[-1] is None:
            chosen.pop()
        if None in chosen:
            raise ValidationError(_("Please fill the places in order, starting with your first choice."))
        for option_id in chosen:
            if chosen.count(option_id) > 1:
                raise ValidationError(_("You chose “%(option)s” more than once. Each choice can have only one place.",
                                        option=self.labels.get(option_id, "")))
        self.data = chosen


def answer_form(prompt: dict, option_labels: dict[int, str], formdata=None, data: dict | None = None) -> ChorusForm:
    """Build the form for one prompt: its answer field validated for the prompt's kind."""
    kind = prompt["kind"]
    options_key: tuple = ()
    if kind in CHOICE_FORM_KINDS:
        options_key = tuple((o["id"], option_labels.get(o["id"], "")) for o in prompt["options"])
    own = self_described_option(prompt)
    form_class = _answer_form_class(
        kind, current_app.config["MAX_ANSWER_LENGTH"], options_key,
        (prompt.get("scale_min"), prompt.get("scale_max")) if kind == "scale" else None,
        prompt.get("points") if kind in ("dots", "budget", "rank") else None,
        own["id"] if own is not None else None, option_labels.get(own["id"], "") if own is not None else "")
    form = form_class(formdata=formdata, data=data or {})
    form.required = bool(prompt["required"])
    form.kind = kind
    form.self_described = own
    return form


# Kinds whose answer field lists the prompt's options.
CHOICE_FORM_KINDS = ("single", "about", "multiple", "dots", "budget", "rank")


@functools.lru_cache(maxsize=1024)
def _answer_form_class(kind: str, max_length: int, options_key: tuple, scale: tuple | None, points: int | None,
                       own_id: int | None, own_label: str) -> type:
    """Return the form class of one kind of answer, built once per distinct question (WTForms binds a new class slowly).

    Everything the class depends on is in the arguments: the answer length limit, the options
    with their labels in the page's language, the scale, the points, and the self-described choice.
    """

    class AnswerForm(ChorusForm):
        nonce = HiddenField(validators=[_valid_nonce])

    AnswerForm.answer = _answer_field(kind, max_length, options_key, scale, points)
    if own_id is not None:

        def validate_described(form: Form, field) -> None:
            """Keep one's own words short, and only with the choice they describe: words alone pick that choice."""
            words = field.data or ""
            if len(words) > MAX_DESCRIBED_LENGTH:
                raise ValidationError(
                    _("Your words are %(length)s characters long. Please shorten them to %(max)s or fewer; they are still in the box.",
                      length=local_number(len(words)), max=local_number(MAX_DESCRIBED_LENGTH)))
            if not words.strip():
                return
            chosen = form.answer.data
            if chosen in (None, "", "None"):
                form.answer.data = str(own_id)
            elif str(chosen) != str(own_id):
                raise ValidationError(
                    # TRANSLATORS: %(choice)s is the answer choice that comes with a box for one's own words, e.g. "Prefer to self-describe".
                    _("You wrote your own words, but chose another answer. To keep your words, choose “%(choice)s”; otherwise clear the box.",
                      choice=own_label))

        # TRANSLATORS: the label of a box under the choices; %(choice)s is that choice, e.g. "Prefer to self-describe".
        AnswerForm.described = StringField(_l("If you chose “%(choice)s”: in your own words (optional)", choice=own_label),
                                           validators=[validate_described])
    return AnswerForm


def _answer_field(kind: str, max_length: int, options_key: tuple, scale: tuple | None, points: int | None):
    """Return the unbound answer field for a kind of question."""
    if kind == "open":
        def within_limit(form: Form, field) -> None:
            """Keep open answers to the configured length, saying how long this one is."""
            length = len(field.data or "")
            if length > max_length:
                raise ValidationError(
                    _("Your answer is %(length)s characters long. Please shorten it to %(max)s or fewer. Your words are kept below.",
                      length=local_number(length), max=local_number(max_length))
                )

        return TextAreaField(validators=[within_limit])
    option_ids = [option_id for option_id, _label in options_key]
    if kind == "scale":
        return OneChoiceField(choices=options((n, str(n)) for n in range(scale[0], scale[1] + 1)))
    if kind in ("single", "about"):
        return OneChoiceField(choices=options(options_key))
    if kind in ("dots", "budget"):
        return AllocationField(option_ids=option_ids, total=points or 0, unit=kind)
    if kind == "rank":
        places = points or len(option_ids)
        return RankField(option_ids=option_ids, places=min(places, len(option_ids)), labels=dict(options_key))
    if kind == "multiple":
        # No Optional(): it would stop the check of every value when the first one is blank.
        return MultiCheckboxField(choices=options(options_key))
    raise ValueError(f"Unknown prompt kind {kind!r}")  # pragma: no cover - the schema allows no other kind


# The words of a missing or unknown vote, and the check every vote gets (a resident's own and staff entry's alike).
VOTE_MESSAGE = _l("Please choose Agree, Disagree or Pass.")
VOTE_VALUES = ("agree", "disagree", "pass")
VOTE_CHOICE = AnyOf(VOTE_VALUES, message=VOTE_MESSAGE)
# A statement's id as a vote form posts it (VoteForm's check, and checked_vote's).
STATEMENT_ID = re.compile(r"^[0-9]{1,12}$")


class VoteForm(ChorusForm):
    """One statement's Agree / Disagree / Pass buttons: the statement, the button pressed, a one-time key."""

    nonce = HiddenField(validators=[_valid_nonce])
    statement = HiddenField(validators=[InputRequired(), Regexp(STATEMENT_ID)])
    vote = HiddenField(validators=[InputRequired(message=VOTE_MESSAGE), VOTE_CHOICE])


class VoteField(RadioField):
    """One statement's Agree / Disagree / Pass in a form of many (staff entry); no choice is a skip, not an error."""

    def pre_validate(self, form) -> None:
        """Leave the check of the value to VOTE_CHOICE, the one a resident's vote gets."""

    def process_formdata(self, valuelist) -> None:
        """Read the button chosen; a blank is no vote on this statement."""
        values = [value for value in valuelist if value != ""]
        self.data = values[0] if values else ""


@functools.lru_cache(maxsize=256)
def _votes_form_class(statement_ids: tuple[int, ...]) -> type:
    """Return a form class with one VoteField (`vote-<statement id>`) per statement, built once per list of statements."""

    class VotesForm(ChorusForm):
        nonce = HiddenField(validators=[_valid_nonce])

        def chosen(self) -> dict[int, str]:
            """Return the statements given a vote, each with the button chosen (agree, disagree or pass)."""
            return {int(field.name.split("-", 1)[1]): field.data for field in self
                    if field.name.startswith("vote-") and field.data}

    for statement_id in statement_ids:
        setattr(VotesForm, f"vote-{statement_id}", VoteField(choices=options([("agree", ""), ("disagree", ""), ("pass", "")]),
                                                             validators=[Optional(), VOTE_CHOICE]))
    return VotesForm


def votes_form(statement_ids, formdata=None, data: dict | None = None) -> ChorusForm:
    """Build the form for one person's votes on many statements (staff entry): each statement agree, disagree, pass or skipped."""
    return _votes_form_class(tuple(int(i) for i in statement_ids))(formdata=formdata, data=data or {})


class StatementForm(ChorusForm):
    """A resident's own statement for a react question, which waits for the team's review."""

    nonce = HiddenField(validators=[_valid_nonce])
    # TRANSLATORS: the label of the box where a resident writes a statement others will agree or disagree with.
    body = TextAreaField(_l("Your statement"), validators=[
        InputRequired(message=_l("Please write your statement first.")),
        Length(max=280, message=_l("Please keep your statement to %(max)s characters or fewer.", max=280)),
    ])

    def validate_body(self, field) -> None:
        """A statement of nothing but spaces is empty."""
        if not (field.data or "").strip():
            raise ValidationError(_("Please write your statement first."))


class IdeaForm(StatementForm):
    """A resident's idea for an ideas question ("how might we ..."), which waits for the team's review."""

    # TRANSLATORS: the label of the box where a resident proposes an idea in answer to a "how might we" question.
    body = TextAreaField(_l("Your idea"), validators=[
        InputRequired(message=_l("Please write your idea first.")),
        Length(max=280, message=_l("Please keep your idea to %(max)s characters or fewer.", max=280)),
    ])

    def validate_body(self, field) -> None:
        """An idea of nothing but spaces is empty."""
        if not (field.data or "").strip():
            raise ValidationError(_("Please write your idea first."))


def answer_is_empty(form: ChorusForm) -> bool:
    """Tell whether the resident gave no answer at all."""
    data = form.answer.data
    if form.kind in ("dots", "budget", "rank"):
        return not data
    if form.kind == "open":
        return not (data or "").strip()
    if form.kind == "multiple":
        return not data
    return data in (None, "", "None")


# --- the answer and vote posts, checked without building a form -----------------------------------
#
# Building a WTForms form (binding its fields, looking up its translations) and validating it was
# about a sixth of a resident's answer and vote. Nearly every post is a good one, so these read a
# post exactly as the form would and say whether the form would accept it, without building one:
# the same CSRF check (SessionCSRF.validate_csrf_token: the secret in the cookie, the HMAC, the
# 12-hour limit), the same one-time key rule, the same limits on the answer. Anything they do not
# accept (or a kind of question they do not know) goes to the full form, which gives the resident its
# translated message exactly as before; so they never accept what the form would refuse.


class _Value:
    """What a form field gives the code that stores it: its data."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    @staticmethod
    def gettext(message: str) -> str:
        """A field's message lookup, for the CSRF check's refusals (never shown: a refused post goes to the full form)."""
        return message


_CSRF = TokenOnDemandCSRF()
_CSRF.form_meta = ChorusForm.Meta()  # the forms' own secret, cookie session and time limit


def csrf_token_valid(token: str | None) -> bool:
    """Check a posted CSRF token exactly as every ChorusForm does; a browser with no CSRF secret yet is not checked here."""
    if "csrf" not in session:
        return False  # the full form gives it a secret and refuses the token, as before
    try:
        _CSRF.validate_csrf_token(None, _Value(token))
    except ValidationError:
        return False
    return True


class CheckedPost:
    """A post that its form would accept, with the fields the code that stores it reads (nonce, answer, statement, vote)."""

    csrf_failed = False
    self_described = None

    def __init__(self, kind: str = "", **fields):
        self.kind = kind
        for name, value in fields.items():
            setattr(self, name, _Value(value))

    def validate(self) -> bool:
        """It was checked when it was read."""
        return True


# Kinds of question whose answer checked_answer reads; any other goes to the full form.
CHECKED_KINDS = ("open", "single", "about", "scale")


def checked_answer(prompt: dict, formdata, max_length: int) -> CheckedPost | None:
    """Read an answer post as answer_form's form would, if it would accept it; else None (build the form for its message)."""
    kind = prompt["kind"]
    if kind not in CHECKED_KINDS or (kind != "open" and self_described_option(prompt) is not None):
        return None
    nonce = formdata.get("nonce")
    if not nonce_shape_ok(nonce or ""):
        return None
    if kind == "open":
        answer = formdata.get("answer")  # TextAreaField: the first value, or None when there is none
        if len(answer or "") > max_length:
            return None
    else:
        raw = formdata.getlist("answer")
        given = [value for value in raw if value != ""]  # OneChoiceField: blanks are no choice
        answer = given[0] if given else None
        if raw:
            if kind == "scale":
                if prompt.get("scale_min") is None or prompt.get("scale_max") is None:
                    return None
                allowed = {str(n) for n in range(prompt["scale_min"], prompt["scale_max"] + 1)}
            else:
                allowed = {str(option["id"]) for option in prompt["options"]}
            if answer not in allowed:
                return None
    if not csrf_token_valid(formdata.get("csrf_token")):
        return None
    return CheckedPost(kind, nonce=nonce, answer=answer)


def checked_vote(formdata) -> CheckedPost | None:
    """Read a vote post as VoteForm would, if it would accept it; else None (build the form for its message)."""
    nonce, statement, vote = formdata.get("nonce"), formdata.get("statement"), formdata.get("vote")
    if not nonce_shape_ok(nonce or "") or not statement or not STATEMENT_ID.match(statement):
        return None
    if not vote or vote not in VOTE_VALUES or not csrf_token_valid(formdata.get("csrf_token")):
        return None
    return CheckedPost(nonce=nonce, statement=statement, vote=vote)
