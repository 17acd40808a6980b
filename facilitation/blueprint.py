"""The staff side's blueprint ("facilitation", under /staff) and the small helpers every staff
page shares: the roles lists, loading a session the signed-in member may see, a session's title
and join link, and choice labels.

Every staff module adds its routes to `bp`; none imports another's views. Sign-in, roles and the
per-session access rule are the core's (`listening.accounts`, `listening.access`): they are
registered here on every staff request.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from listening import access, queries
from listening.accounts import can_edit, guard_session_access, load_user
from listening.db import get_db
from listening.forms import ActionForm

bp = Blueprint("facilitation", __name__, template_folder="templates")

EDITORS = ("facilitator",)
READERS = ("facilitator", "planner")


bp.before_request(load_user)
bp.before_request(guard_session_access)


@bp.app_context_processor
def staff_context() -> dict:
    """Give staff templates the user and what they may do."""
    return {
        "user": g.get("user"),
        "can_edit": can_edit(g.get("user")),
        "logout_token": lambda: ActionForm().csrf_token.current_token,
    }


@bp.app_template_filter("no_bidi")
def no_bidi(text):
    """Show a resident's words to staff without bidirectional override or isolate characters.

    Those characters (U+202A-U+202E, U+2066-U+2069) could make an answer read in another order
    than the one written; quotes shown to others lose them in redaction, raw text here.
    """
    from analysis.text import strip_bidi

    return strip_bidi(text)


# --- helpers every staff page shares ----------------------------------------------------------


def load_session(session_id: int) -> dict:
    """Return a session the signed-in staff member may see, or answer 404."""
    return access.visible_session(get_db(), g.get("user"), session_id)


def opening_problem(db, session_id: int) -> str | None:
    """Say why a session cannot open or start yet: "questions" (it has none), "texts" (one is missing in a language), or None."""
    if not queries.prompts_for_session(db, session_id):
        return "questions"
    return "texts" if queries.missing_texts(db, session_id) else None


def join_url(found: dict) -> str:
    """Return the public link residents use to join a session."""
    base = current_app.config["BASE_URL"].rstrip("/")
    path = url_for("listening.join", code=found["code"])
    return f"{base}{path}" if base else url_for("listening.join", code=found["code"], _external=True)


def link_is_local(url: str) -> bool:
    """Tell whether a join link points to the computer it was opened on (127.0.0.1, localhost, ::1): no phone can open it.

    `chorus demo` prints http://127.0.0.1:5000, so a new facilitator's QR code and flyer would carry that address.
    """
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed Host header
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name
        return False
    return address.is_loopback or address.is_unspecified


def local_link_warning() -> str:
    """Say why a join link on this computer's own address will not work on phones, and what to do."""
    # TRANSLATORS: staff overview and flyer, when the join link starts with http://127.0.0.1 or localhost. Keep CHORUS_BASE_URL and the example address as they are.
    return _("Phones cannot open this link: it points to this computer itself. Open Chorus at this computer's address "
             "on your network (for example http://192.168.1.20:5000), or set CHORUS_BASE_URL to its public address, "
             "before you print or show the QR code.")


def titled(found: dict, texts: dict | None = None) -> str:
    """Return a session's title in its main language."""
    texts = texts if texts is not None else queries.texts_for_session(get_db(), found["id"])
    return queries.localized(texts, "session", found["id"], "title", found["default_language"], found["default_language"])


def option_labels(found: dict, texts: dict, prompt: dict, language: str) -> dict:
    """Return a choice prompt's option labels in one language."""
    labels = {}
    for option in prompt["options"]:
        if option["prefer_not"]:
            with force_locale(language):
                labels[option["id"]] = _("Prefer not to say")
        else:
            labels[option["id"]] = queries.localized(texts, "option", option["id"], "label", language,
                                                      found["default_language"])
    return labels
