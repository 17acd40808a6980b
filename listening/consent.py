"""The default plain-language consent statement, one per language, which facilitators edit.

It is written for reading aloud and for a grade-8 reading level or below, and covers what
CONTEXT.md asks of informed consent: what happens and how long, that taking part is voluntary,
the limits of privacy in a group, how words are used, how to take them back, and whom to ask.
The purpose of the session is shown above it from the session's own text.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from .i18n import isolate_numbers, text_direction


def default_consent(language: str, *, minutes: int, contact: str) -> str:
    """Return the default consent statement in `language`, with the session's details filled in."""
    with force_locale(language):
        paragraphs = [
            # TRANSLATORS: consent statement, paragraph 1. Plain words; it may be read aloud.
            ngettext("We want to hear from you. We will ask you a few questions. It takes about %(num)s minute. You can answer on your phone, on paper, or out loud.",
                     "We want to hear from you. We will ask you a few questions. It takes about %(num)s minutes. You can answer on your phone, on paper, or out loud.",
                     minutes),
            # TRANSLATORS: consent statement, paragraph 2: taking part is voluntary.
            _("It is your choice to take part. You can skip any question. You can stop at any time. Nothing bad will happen if you say no or stop."),
            # TRANSLATORS: consent statement, paragraph 3: privacy and its limit in a group.
            _("You do not have to give your name. If you are in a group, other people will hear what you say, and they may repeat it. Please share only what you are comfortable sharing."),
            # TRANSLATORS: consent statement, paragraph 4: how words are used.
            _("We will read all the answers together to find common ideas. We will share what we learn in a report, with the community too. We will only quote your words if you say yes below, and never with your name."),
            # TRANSLATORS: consent statement, paragraph 5: withdrawal with the receipt code.
            _("When you agree, you get a receipt code. Keep it. You can use it on this site to delete your answers at any time. A report that was already shared cannot be changed, but later reports will not include your words."),
        ]
        if contact.strip():
            contact = contact.strip()
            if text_direction(language) == "rtl":
                # A phone number such as "(336) 555-0142" inside right-to-left text would show as
                # "555-0142 (336)"; first-strong isolate marks keep it in its own direction.
                contact = f"\u2068{contact}\u2069"
            # TRANSLATORS: consent statement, last paragraph; %(contact)s is a name, phone or email.
            paragraphs.append(_("Questions? Contact %(contact)s.", contact=contact))
        else:
            paragraphs.append(_("Questions? Ask the person who runs this session."))
    return "\n\n".join(paragraphs)


def paragraphs(body: str) -> list[str]:
    """Split a statement into paragraphs at blank lines, for display."""
    return [part.strip() for part in body.replace("\r\n", "\n").split("\n\n") if part.strip()]


def shown_paragraphs(body: str, language: str) -> list[str]:
    """Split a statement into paragraphs for a page in `language`: in right-to-left text, phone numbers keep their order."""
    parts = paragraphs(body)
    return [isolate_numbers(part) for part in parts] if text_direction(language) == "rtl" else parts
