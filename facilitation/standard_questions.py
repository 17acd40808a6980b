"""Standard "about you" questions, worded in every language Chorus has a catalog for.

A facilitator who picks "About you" and one of these topics gets the question and its choices
filled in for each of the session's languages; they can still change any word. The choices
follow common US practice: age bands, the race and ethnicity categories of the census (with
Middle Eastern or North African, as in the 2024 federal standard) plus "More than one" and
"Prefer to self-describe", and the languages of the session's own community. "Prefer not to
say" is added to every "about you" question by the app itself. ZIP codes and neighborhoods are
local, so only the question is filled in and the facilitator lists their own places.
"""
from __future__ import annotations

from babel import Locale
from flask_babel import force_locale
from flask_babel import gettext as _

STANDARD_TOPICS = ("age", "race_ethnicity", "language", "neighbourhood")
# Topics whose last choice ("Prefer to self-describe") comes with a box for one's own words.
SELF_DESCRIBE_TOPICS = ("race_ethnicity",)
# The languages offered as answers to "Which language do you speak most at home?", before "Another language".
HOME_LANGUAGES = ("en", "es", "ar", "vi", "fr", "ur")


def _language_names(language: str) -> list[str]:
    """Name the home languages in `language` (CLDR names), first letter capitalized."""
    names = Locale.parse(language).languages
    return [(names.get(code) or code)[:1].upper() + (names.get(code) or code)[1:] for code in HOME_LANGUAGES]


def _wording(topic: str, language: str) -> tuple[str, list[str]]:
    """Return one standard question and its choices in the current locale."""
    if topic == "age":
        # TRANSLATORS: a standard "about you" question and its age bands.
        return _("How old are you?"), [_("Under 18"), _("18 to 24"), _("25 to 34"), _("35 to 44"), _("45 to 54"),
                                       _("55 to 64"), _("65 or older")]
    if topic == "race_ethnicity":
        # TRANSLATORS: the US census race and ethnicity categories; use the wording official forms use in your language.
        return _("How do you describe your race or ethnicity?"), [
            _("American Indian or Alaska Native"), _("Asian"), _("Black or African American"),
            _("Hispanic or Latino"), _("Middle Eastern or North African"),
            _("Native Hawaiian or Pacific Islander"), _("White"), _("More than one of these"),
            _("Prefer to self-describe")]
    if topic == "language":
        return _("Which language do you speak most at home?"), [*_language_names(language), _("Another language")]
    if topic == "neighbourhood":
        return _("What is your ZIP code or neighborhood?"), []
    raise ValueError(f"No standard question about {topic!r}")


def standard_question(topic: str, languages: list[str]) -> dict:
    """Return a standard "about you" question as {"texts": {lang: text}, "options": {lang: [choices]}, "self_describe": bool}."""
    texts, options = {}, {}
    for code in languages:
        with force_locale(code):
            texts[code], options[code] = _wording(topic, code)
    return {"texts": texts, "options": options, "self_describe": topic in SELF_DESCRIBE_TOPICS}


def standard_prompt_data(topic: str, languages: list[str]) -> dict:
    """Return question-form data for a standard "about you" topic (empty for any other topic)."""
    if topic not in STANDARD_TOPICS:
        return {}
    found = standard_question(topic, languages)
    data = {"kind": "about", "demographic": topic, "self_describe": found["self_describe"]}
    for code in languages:
        data[f"text_{code}"] = found["texts"][code]
        data[f"options_{code}"] = "\n".join(found["options"][code])
    return data


def fill_standard_prompt(form, languages: list[str]) -> None:
    """Fill a posted "about you" question's empty wording and choices from its standard topic, language by language.

    Choices filled in for a topic that ends in "Prefer to self-describe" also turn on its box for one's own words.
    """
    topic = form.demographic.data or ""
    if topic not in STANDARD_TOPICS:
        return
    found = standard_question(topic, languages)
    for code in languages:
        if not (form[f"text_{code}"].data or "").strip():
            form[f"text_{code}"].data = found["texts"][code]
        if not (form[f"options_{code}"].data or "").strip() and found["options"][code]:
            form[f"options_{code}"].data = "\n".join(found["options"][code])
            if found["self_describe"]:
                form.self_describe.data = True
