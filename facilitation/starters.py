"""Sessions to start from: a listening session, a short community survey and a focus-group guide.

Each starter gives a title, a purpose and ordered questions in every language it knows. The short
survey and the focus-group guide are worded through the translation catalogs, so they come in
every language Chorus offers; the healthy-babies listening session is the demo's own wording
(English, Spanish, Arabic and Urdu), and any other language is left for the facilitator to fill
in (the session's overview and translation grid show what is missing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from listening import demo

from .standard_questions import standard_question


@dataclass(frozen=True)
class Starter:
    """A session to start from: its name for staff, its mode, and how to word it in a language."""

    key: str
    label: object
    mode: str
    minutes: int
    build: Callable[[list[str]], dict]


def _worded(languages: list[str], word: Callable[[], dict]) -> dict:
    """Run a wording function once per language and collect title, purpose and each prompt's texts and options."""
    by_language = {}
    for code in languages:
        with force_locale(code):
            by_language[code] = word()
    first = by_language[languages[0]]
    prompts = []
    for index, spec in enumerate(first["prompts"]):
        prompt = {key: value for key, value in spec.items() if key not in ("text", "options", "low", "high")}
        prompt["texts"] = {code: by_language[code]["prompts"][index]["text"] for code in languages}
        if "options" in spec:
            prompt["options"] = {code: by_language[code]["prompts"][index]["options"] for code in languages}
        if "low" in spec:
            prompt["scale_labels"] = {code: (by_language[code]["prompts"][index]["low"],
                                             by_language[code]["prompts"][index]["high"]) for code in languages}
        prompts.append(prompt)
    return {"title": {code: by_language[code]["title"] for code in languages},
            "purpose": {code: by_language[code]["purpose"] for code in languages}, "prompts": prompts}


def _survey() -> dict:
    """Word the short community survey in the current locale."""
    return {
        # TRANSLATORS: the title of a starter session (a short community survey).
        "title": _("Our neighborhood, our health: a short survey"),
        "purpose": _("We want to know what would make life better for families here. "
                     "Your answers help local groups decide what to work on first."),
        "prompts": [
            {"kind": "open", "text": _("What is one thing that would make life better for families in your neighborhood?")},
            {"kind": "single", "text": _("How easy is it for you to see a doctor or nurse when you need one?"),
             "options": [_("Very easy"), _("Somewhat easy"), _("Somewhat hard"), _("Very hard")]},
            {"kind": "scale", "scale_min": 1, "scale_max": 5,
             "text": _("How much do you trust that local groups will act on what people say?"),
             "low": _("Not at all"), "high": _("Completely")},
        ],
    }


def _focus_group() -> dict:
    """Word the focus-group guide in the current locale."""
    return {
        # TRANSLATORS: the title of a starter session (a guide for a small group conversation).
        "title": _("Focus group: what helps, and what gets in the way"),
        "purpose": _("A small group conversation about care and support in our community. "
                     "What you share helps us decide what to change."),
        "prompts": [
            {"kind": "open", "text": _("Tell us about a time you got the care or support you needed. What made it work?")},
            {"kind": "open", "text": _("What gets in the way of getting care or support?")},
            {"kind": "open", "text": _("If you could change one thing, what would it be?")},
            {"kind": "multiple", "text": _("Which of these should we work on first?"),
             "options": [_("Rides and transportation"), _("Cost"), _("Interpreters and papers in my language"),
                         _("How staff treat people"), _("Childcare"), _("Something else")]},
        ],
    }


def _with_about(built: dict, languages: list[str], topic: str) -> dict:
    """Add a standard "about you" question at the end of a built starter."""
    about = standard_question(topic, languages)
    built["prompts"].append({"kind": "about", "demographic": topic, **about})
    return built


def _healthy_babies(languages: list[str]) -> dict:
    """The demo's listening session, in the languages it is written in (others left to fill in)."""
    known = [code for code in languages if code in demo.TITLE]

    def pick(by_language: dict) -> dict:
        """Keep the wording for the session's languages that the demo has."""
        return {code: by_language[code] for code in known}

    prompts = []
    for spec in demo.PROMPTS:
        prompt = {"kind": spec["kind"], "texts": pick(spec["texts"])}
        for key in ("demographic", "scale_min", "scale_max"):
            if key in spec:
                prompt[key] = spec[key]
        if "options" in spec:
            prompt["options"] = pick(spec["options"])
        if "scale_labels" in spec:
            prompt["scale_labels"] = pick(spec["scale_labels"])
        prompts.append(prompt)
    return {"title": pick(demo.TITLE), "purpose": pick(demo.PURPOSE), "prompts": prompts}


STARTERS = {
    "survey": Starter("survey", _l("A short community survey (4 questions, people answer at their own pace)"),
                      "self_paced", 5, lambda languages: _with_about(_worded(languages, _survey), languages, "age")),
    "focus_group": Starter("focus_group", _l("A focus-group guide (4 questions, run live with a projector)"),
                           "live", 60, lambda languages: _worded(languages, _focus_group)),
    "healthy_babies": Starter("healthy_babies", _l("The healthy-babies listening session (8 questions, English, Spanish, Arabic, Urdu)"),
                              "live", 10, _healthy_babies),
}


def session_texts_from(built: dict | None, languages: list[str], *, title: str, purpose: str) -> dict:
    """Return a new session's title and purpose by language: what the facilitator typed (main language),
    else the starter's wording in every language it has."""
    main = languages[0]
    texts = {}
    for field, typed in (("title", title), ("purpose", purpose)):
        typed = (typed or "").strip()
        texts[field] = {main: typed} if typed or built is None else dict(built[field])
    return texts


def add_starter_prompts(db, session_id: int, built: dict) -> int:
    """Add a starter's questions to a new session, in order; return how many were added."""
    from listening import queries

    for spec in built["prompts"]:
        queries.add_prompt(
            db, session_id, kind=spec["kind"], demographic=spec.get("demographic"),
            texts=spec["texts"], options=spec.get("options"),
            scale_min=spec.get("scale_min"), scale_max=spec.get("scale_max"), scale_labels=spec.get("scale_labels"),
            self_describe=spec.get("self_describe", False),
        )
    return len(built["prompts"])
