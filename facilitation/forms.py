"""Staff forms: sign-in, session settings, prompts, texts in every language, and accounts.

Forms whose fields depend on a session's languages are built by functions, not classes.
"""
from __future__ import annotations

import functools
from zoneinfo import available_timezones

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from listening.forms import ChorusForm, MultiCheckboxField, options
from listening.i18n import language_name

from listening.accounts import MIN_PASSWORD_LENGTH
from .starters import STARTERS

MAX_TEXT = 5000


class LoginForm(ChorusForm):
    """Sign in with email and password."""

    email = StringField(_l("Email"), validators=[InputRequired(message=_l("Please enter your email.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(message=_l("Please enter your password.")), Length(max=1000)])


def _not_blank(message, *, unless_starter: bool = False):
    """Build a validator that refuses text made only of spaces and line breaks (a starter session may leave it blank)."""

    def check(form, field) -> None:
        """Refuse blank text with `message`."""
        if unless_starter and getattr(form, "starter", None) is not None and form.starter.data:
            return
        if not (field.data or "").strip():
            raise ValidationError(message)

    return check


def _timezone(form, field) -> None:
    """Accept only real IANA time zone names.

    Asked by name, not by loading it: ZoneInfo("America") (a folder of zones) or a name longer than a
    file name can be raises OSError, which was a 500 for a facilitator typing a region.
    """
    if (field.data or "") not in known_timezones():
        raise ValidationError(_("Please choose a time zone from the list, such as America/New_York."))


def _mode_or_starter(form, field) -> None:
    """Refuse a new session with neither a mode picked nor a starter to suggest one."""
    if not field.data and not (form.starter.data or ""):
        raise ValidationError(_("Please choose how the session runs."))


def session_form(app_languages: list[str], formdata=None, *, creating: bool, data: dict | None = None) -> ChorusForm:
    """Build the session settings form; on creation it also asks for the title and purpose."""
    language_choices = [(code, language_name(code)) for code in app_languages]

    class SessionForm(ChorusForm):
        default_language = SelectField(_l("Main language"), choices=options(language_choices))
        languages = MultiCheckboxField(_l("Also offer it in"), choices=options(language_choices))
        mode = RadioField(
            _l("How it runs"),
            choices=options([("live", _l("Live: I show one question at a time to the room")),
                             ("self_paced", _l("Self-paced: people answer on their own, like a survey"))]),
            validators=[InputRequired(message=_l("Please choose how the session runs."))],
        )
        timezone = StringField(_l("Time zone"), validators=[InputRequired(), _timezone])
        minutes = IntegerField(
            _l("About how many minutes it takes"),
            validators=[InputRequired(message=_l("Please give a number of minutes.")),
                        NumberRange(min=1, max=600, message=_l("Please give a number from 1 to 600."))],
        )
        contact = StringField(
            _l("Whom residents can contact with questions"),
            validators=[Optional(), Length(max=300, message=_l("Please use 300 characters or fewer."))],
        )
        wall_moderation = BooleanField(_l("Hold open answers for my approval before the projector shows them"))

        def validate_languages(self, field) -> None:
            """Keep only languages this app offers."""
            if any(code not in app_languages for code in field.data or []):
                raise ValidationError(_("Please choose languages from the list."))

        def chosen_languages(self) -> list[str]:
            """Return the session's languages with the main one first."""
            others = [code for code in (self.languages.data or []) if code != self.default_language.data]
            return [self.default_language.data] + others

    if creating:
        # A starter suggests how it runs (a survey self-paced, a focus group live); a mode the
        # facilitator picks wins over it. Without a starter a mode must be picked.
        SessionForm.mode = RadioField(
            _l("How it runs"),
            choices=options([("", _l("As the starter suggests (a survey runs self-paced, a focus group live)")),
                             ("live", _l("Live: I show one question at a time to the room")),
                             ("self_paced", _l("Self-paced: people answer on their own, like a survey"))]),
            validators=[_mode_or_starter],
        )
        SessionForm.starter = RadioField(
            _l("Start from"), default="", validators=[Optional()],
            choices=options([("", _l("A blank session: I write my own questions")),
                             *((key, starter.label) for key, starter in STARTERS.items())]))
        SessionForm.title = StringField(
            _l("Title"), validators=[_not_blank(_l("Please give the session a title."), unless_starter=True),
                                     Length(max=200, message=_l("Please use 200 characters or fewer."))])
        SessionForm.purpose = TextAreaField(
            _l("What it is for (shown to residents)"),
            validators=[_not_blank(_l("Please say what the session is for."), unless_starter=True),
                        Length(max=MAX_TEXT, message=_l("Please use %(max)s characters or fewer.", max=MAX_TEXT))])
    return SessionForm(formdata=formdata, data=data or {})


PROMPT_KIND_LABELS = {
    "open": _l("Open answer (people write or say anything)"),
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "scale": _l("Scale (for example 1 to 5)"),
    "about": _l("About you (a demographic question, always with “Prefer not to say”)"),
    # TRANSLATORS: a design-session question kind, as Pol.is: people vote on short statements one by one.
    "react": _l("React (people agree, disagree or pass on short statements, and may add their own)"),
    "dots": _l("Dot voting (people spread a number of dots over the choices)"),
    "rank": _l("Ranking (people put their top choices, or all of them, in order)"),
    "budget": _l("Points budget (people share 100 points among the choices)"),
    # TRANSLATORS: a design-session question kind. "How might we" is the design-thinking question form, for
    # example "How might we make the library feel welcoming to teenagers?"; translate it as your design community does.
    "ideas": _l("Ideas (write a “how might we …?” question; people propose ideas, the team reads each one, "
                "then people agree, disagree or pass on each other's; table notetakers can type ideas in)"),
}

DEMOGRAPHIC_LABELS = {
    "age": _l("Age range"),
    "race_ethnicity": _l("Race or ethnicity"),
    "language": _l("Language"),
    "neighbourhood": _l("Neighborhood or ZIP code"),
    "gender": _l("Gender"),
    "other": _l("Something else"),
}


def prompt_form(languages: list[str], formdata=None, *, data: dict | None = None, kind_locked: bool = False) -> ChorusForm:
    """Build the prompt form: its kind and settings, and its wording in each session language."""

    class PromptForm(ChorusForm):
        kind = RadioField(_l("Kind of question"), choices=options(PROMPT_KIND_LABELS.items()),
                          validators=[InputRequired(message=_l("Please choose a kind of question."))])
        required = BooleanField(_l("People must answer this question"))
        demographic = SelectField(_l("What it asks about (for “About you” questions)"),
                                  choices=options([("", "—"), *DEMOGRAPHIC_LABELS.items()]), validators=[Optional()])
        # TRANSLATORS: a setting of single-choice and "About you" questions, e.g. for a last choice "Prefer to self-describe".
        self_describe = BooleanField(_l("The last choice lets people describe themselves in their own words"))
        scale_min = IntegerField(_l("Scale starts at"), validators=[Optional(), NumberRange(min=0, max=10)], default=1)
        scale_max = IntegerField(_l("Scale ends at"), validators=[Optional(), NumberRange(min=1, max=11)], default=5)
        # TRANSLATORS: one setting for the three prioritise kinds; the hint under it says what it means for each.
        points = IntegerField(_l("Dots each person has, places to rank (0 = all), or points to share"),
                              validators=[Optional(), NumberRange(min=0, max=1000)])

        def validate_points(self, field) -> None:
            """Each prioritise kind has its own sensible range of dots, places or points."""
            kind = self.kind.data
            if kind in ("dots", "rank", "budget") and field.data is not None:
                low, high = {"dots": (1, 20), "rank": (0, 20), "budget": (10, 1000)}[kind]
                if not low <= field.data <= high:
                    raise ValidationError(_("For this kind of question, use a number from %(low)s to %(high)s.", low=low, high=high))

        def validate_scale_max(self, field) -> None:
            """A scale must run upward, with at most eleven points."""
            if self.kind.data == "scale":
                low, high = self.scale_min.data, field.data
                if low is None or high is None or not low < high or high - low > 10:
                    raise ValidationError(_("A scale runs from a smaller to a larger number, with at most 11 points."))

        def validate_demographic(self, field) -> None:
            """About-you questions say what they measure, so analysis can use them as segments."""
            if self.kind.data == "about" and not field.data:
                raise ValidationError(_("Please say what this question asks about."))

    for code in languages:
        name = language_name(code)
        setattr(PromptForm, f"text_{code}", TextAreaField(
            _l("Question in %(language)s", language=name),
            validators=[Optional(), Length(max=MAX_TEXT, message=_l("Please use %(max)s characters or fewer.", max=MAX_TEXT))]))
        setattr(PromptForm, f"options_{code}", TextAreaField(
            _l("Choices in %(language)s, one per line", language=name),
            validators=[Optional(), Length(max=MAX_TEXT, message=_l("Please use %(max)s characters or fewer.", max=MAX_TEXT))]))
        setattr(PromptForm, f"min_label_{code}", StringField(
            _l("Label for the lowest number, in %(language)s", language=name), validators=[Optional(), Length(max=200)]))
        setattr(PromptForm, f"max_label_{code}", StringField(
            _l("Label for the highest number, in %(language)s", language=name), validators=[Optional(), Length(max=200)]))

    form = PromptForm(formdata=formdata, data=data or {})
    form.languages = languages
    form.kind_locked = kind_locked
    return form


def option_lines(raw: str | None) -> list[str]:
    """Split a choices box into its non-empty lines."""
    return [line.strip() for line in (raw or "").replace("\r\n", "\n").split("\n") if line.strip()]


def texts_form(slot_keys: list[str], languages: list[str], formdata=None, data: dict | None = None) -> ChorusForm:
    """Build one text box per piece of session text per language."""

    class TextsForm(ChorusForm):
        pass

    for key in slot_keys:
        for code in languages:
            setattr(TextsForm, f"{key}--{code}", TextAreaField(
                validators=[Optional(), Length(max=MAX_TEXT, message=_l("Please use %(max)s characters or fewer.", max=MAX_TEXT))]))
    return TextsForm(formdata=formdata, data=data or {})


class UserForm(ChorusForm):
    """Add a staff account."""

    email = StringField(_l("Email"), validators=[InputRequired(message=_l("Please enter an email.")), Length(max=254)])
    role = SelectField(_l("Role"), choices=options([("facilitator", _l("Facilitator")), ("planner", _l("Planner")), ("admin", _l("Admin"))]))
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Please choose a password.")),
                    Length(min=MIN_PASSWORD_LENGTH, max=1000,
                           message=_l("Passwords need at least %(min)s characters.", min=MIN_PASSWORD_LENGTH))])


class UserChangeForm(ChorusForm):
    """Change an account's role, or turn it on or off."""

    role = SelectField(_l("Role"), choices=options([("facilitator", _l("Facilitator")), ("planner", _l("Planner")), ("admin", _l("Admin"))]))
    active = BooleanField(_l("Can sign in"))


class PasswordChangeForm(ChorusForm):
    """Change one's own password: the current one, then the new one twice."""

    current_password = PasswordField(_l("Current password"), validators=[
        InputRequired(message=_l("Please enter your current password.")), Length(max=1000)])
    new_password = PasswordField(_l("New password"), validators=[
        InputRequired(message=_l("Please choose a new password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=1000,
               message=_l("Passwords need at least %(min)s characters.", min=MIN_PASSWORD_LENGTH))])
    confirm_password = PasswordField(_l("New password again"), validators=[
        InputRequired(message=_l("Please type the new password again."))])

    def validate_confirm_password(self, field) -> None:
        """The two copies of the new password must match."""
        if field.data != self.new_password.data:
            raise ValidationError(_("The two new passwords are not the same."))

    def validate_new_password(self, field) -> None:
        """A new password must differ from the current one."""
        if field.data and field.data == self.current_password.data:
            raise ValidationError(_("Please choose a password different from the current one."))


class PasswordResetForm(ChorusForm):
    """An admin sets a temporary password that its owner must change at their next sign-in."""

    password = PasswordField(_l("Temporary password"), validators=[
        InputRequired(message=_l("Please choose a password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=1000,
               message=_l("Passwords need at least %(min)s characters.", min=MIN_PASSWORD_LENGTH))])


STAFF_WITHDRAWAL_REASON_LABELS = {
    "in_person": _l("They asked in person"),
    "phone": _l("They asked by phone"),
    "writing": _l("They asked in writing (letter, email or text message)"),
    "interpreter": _l("They asked through an interpreter"),
    "representative": _l("Someone they authorised asked for them"),
}


class StaffWithdrawForm(ChorusForm):
    """Withdraw a person on their behalf: by their receipt code, or as chosen from the answers."""

    participant = HiddenField()
    receipt = StringField(_l("Their receipt code"), validators=[
        Optional(), Length(max=40, message=_l("That is longer than a receipt code."))])
    reason = SelectField(_l("How they asked to withdraw"), choices=options(STAFF_WITHDRAWAL_REASON_LABELS.items()),
                         validators=[InputRequired(message=_l("Please say how they asked."))])
    confirm = BooleanField(_l("I have checked that this is the person who asked. Delete their answers and contact details."))

    def validate_confirm(self, field) -> None:
        """Deleting cannot be undone, so it needs a clear yes."""
        if not field.data:
            raise ValidationError(_("Please check the box to confirm the deletion."))


class AccessForm(ChorusForm):
    """Give a staff member access to a session, or take it away."""

    user_id = IntegerField(_l("Person"), validators=[InputRequired(message=_l("Please choose someone from the list."))])


class RetentionForm(ChorusForm):
    """Set how long a closed session keeps its raw answer text, and its legal hold."""

    retention_days = IntegerField(
        _l("Days to keep answer text after the session closes (empty: the default)"),
        validators=[Optional(), NumberRange(min=0, max=3650, message=_l("Please enter a number from 0 to 3650."))])
    legal_hold = BooleanField(_l("Legal hold: never purge this session's data"))


@functools.lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """Return every IANA time zone name this machine knows (read once: it walks the tz database)."""
    return frozenset(available_timezones())


def timezone_choices() -> list[str]:
    """Return every IANA time zone name, sorted, for the settings form's suggestions."""
    return sorted(zone for zone in known_timezones() if "/" in zone and not zone.startswith("Etc/"))


def statement_form(languages: list[str], formdata=None, data: dict | None = None) -> ChorusForm:
    """Build the form that seeds (or translates) a statement: its words in each session language, the first filled being the original."""

    class SeedForm(ChorusForm):
        written_in = SelectField(_l("Written in"), choices=options((code, language_name(code)) for code in languages),
                                 validators=[InputRequired()])

    for code in languages:
        setattr(SeedForm, f"text_{code}", TextAreaField(
            _l("Statement in %(language)s", language=language_name(code)),
            validators=[Optional(), Length(max=280, message=_l("Please keep a statement to %(max)s characters or fewer.", max=280))]))
    form = SeedForm(formdata=formdata, data=data or {"written_in": languages[0]})
    form.languages = languages
    return form


def table_form(languages: list[str], formdata=None) -> ChorusForm:
    """Build the form that adds a table (a small group of the room): its name, language and a short note."""

    class TableForm(ChorusForm):
        # TRANSLATORS: a "table" is a small group a design session splits the room into, e.g. "Table 2" or "Youth table".
        name = StringField(_l("Name of the table"), validators=[
            InputRequired(message=_l("Please give the table a name.")),
            Length(max=60, message=_l("Please use %(max)s characters or fewer.", max=60))])
        language = SelectField(_l("Language the table works in"),
                               choices=options((code, language_name(code)) for code in languages), validators=[InputRequired()])
        note = StringField(_l("Note (optional), for example “with a Spanish interpreter”"), validators=[
            Optional(), Length(max=120, message=_l("Please use %(max)s characters or fewer.", max=120))])

        def validate_name(self, field) -> None:
            """A name of nothing but spaces is empty."""
            if not (field.data or "").strip():
                raise ValidationError(_("Please give the table a name."))

    return TableForm(formdata=formdata, data={"language": languages[0]})
