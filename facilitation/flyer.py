"""What the printed flyer says, in every offered language: when and where, what for, how to join,
which languages, and a one-line privacy promise.

The date, time and place are typed on the flyer page itself (a GET form that stores nothing), so
a facilitator can print one flyer per meeting of the same session.
"""
from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from listening import queries
from listening.i18n import language_name

MAX_PLACE = 200


def parse_when(value: str) -> datetime | None:
    """Read a date and time from the page's date-time box ("2026-12-05T10:00"), or None if it is not one."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def flyer_blocks(found: dict, texts: dict, url: str, *, when: datetime | None, place: str) -> list[dict]:
    """Return the flyer's text in each offered language, main language first."""
    base = url.split("/j/")[0] or url
    languages = ", ".join(language_name(code) for code in found["languages"])
    blocks = []
    for code in found["languages"]:
        with force_locale(code):
            blocks.append({
                "lang": code,
                "title": queries.localized(texts, "session", found["id"], "title", code, found["default_language"]),
                "purpose": queries.localized(texts, "session", found["id"], "purpose", code, found["default_language"]),
                "when": _("When: %(date)s, %(time)s", date=format_date(when.date(), "full", locale=code),
                          time=format_time(when.time(), "short", locale=code)) if when else "",
                "where": _("Where: %(place)s", place=place) if place else "",
                "scan": _("Scan the code with your phone camera to take part."),
                "or_type": _("Or go to %(url)s and type the code:", url=base),
                "minutes": ngettext("It takes about %(num)s minute. You can answer in your language.",
                                    "It takes about %(num)s minutes. You can answer in your language.", found["minutes"]),
                # TRANSLATORS: %(languages)s lists language names, each written in its own language.
                "languages": _("Languages: %(languages)s", languages=languages),
                # TRANSLATORS: the flyer's one-line privacy promise; keep it to one short line.
                "privacy": _("Your choice. No name needed. You can take your answers back at any time."),
            })
    return blocks
