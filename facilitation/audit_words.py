"""The admin logs in the reader's language: what each audit and deletion entry's stored code means.

The audit log and the deletion log keep what happened as short codes and `key=value` details, in English,
as they were recorded (a record never changes with the reader). Their pages say it in words here; the
stored code stays beside the words, so an entry can still be found in a backup or a database shell.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from listening.i18n import language_name
from listening.jobs import KIND_TITLES

# Every action Chorus records (a test checks that each code the code base writes has its words here).
ACTION_LABELS = {
    # Accounts and signing in.
    "login": _l("Signed in"),
    "login_failed": _l("A sign-in failed"),
    "login_throttled": _l("Sign-ins refused for a while (too many tries)"),
    "logout": _l("Signed out"),
    "password_changed": _l("Changed their password"),
    "password_change_failed": _l("A password change failed"),
    "password_reset": _l("Reset an account's password"),
    "user_added": _l("Added an account"),
    "user_changed": _l("Changed an account"),
    "access_given": _l("Let an account see a session"),
    "access_taken": _l("Stopped an account seeing a session"),
    # Sessions and their questions.
    "session_created": _l("Created a session"),
    "session_settings": _l("Changed a session's settings"),
    "session_texts": _l("Changed a session's texts"),
    "session_draft": _l("Paused a session (back to draft)"),
    "session_open": _l("Opened a session"),
    "session_closed": _l("Closed a session"),
    "retention_changed": _l("Changed how long data is kept"),
    "retention_purge": _l("Removed answer texts at the end of the keeping period"),
    "prompt_added": _l("Added a question"),
    "prompt_edited": _l("Changed a question"),
    "prompt_deleted": _l("Deleted a question"),
    "table_added": _l("Added a table"),
    "table_removed": _l("Removed a table"),
    # The live room.
    "live_start": _l("Started the live session"),
    "live_undo_close": _l("Opened the live session again"),
    "live_pause": _l("Paused the live session"),
    "live_resume": _l("Resumed the live session"),
    "live_close": _l("Closed the live session"),
    "live_show": _l("Showed a question"),
    "live_next": _l("Showed the next question"),
    "live_previous": _l("Showed the previous question"),
    "live_join_screen": _l("Showed the joining screen"),
    "live_open_answering": _l("Opened answering"),
    "live_close_answering": _l("Closed answering"),
    "live_timer": _l("Started a timer"),
    "live_timer_stop": _l("Stopped the timer"),
    "live_equity_on": _l("Started an equity pause"),
    "live_equity_off": _l("Ended an equity pause"),
    "live_themes_draft": _l("Drafted themes for the room"),
    "live_themes_approve": _l("Showed drafted themes to the room"),
    "live_themes_withdraw": _l("Took drafted themes off the screen"),
    "equity_note": _l("Wrote an equity note"),
    "answer_hide": _l("Hid an answer"),
    "answer_restore": _l("Showed a hidden answer again"),
    "wall_moderation_on": _l("Turned on approval before the projector"),
    "wall_moderation_off": _l("Turned off approval before the projector"),
    "wall_approve": _l("Approved an answer for the projector"),
    "wall_decline": _l("Kept an answer off the projector"),
    # Answers, statements and votes.
    "staff_entry": _l("Typed in an answer"),
    "staff_entry_idea": _l("Typed in an idea"),
    "staff_entry_votes": _l("Typed in votes"),
    "statement_added": _l("Added a statement"),
    "statement_approved": _l("Approved a statement"),
    "statement_declined": _l("Declined a statement"),
    "statement_translated": _l("Translated a statement"),
    "statement_merged": _l("Merged two statements"),
    "withdrawal": _l("A resident withdrew with their receipt code"),
    "withdrawal_by_staff": _l("Withdrew a resident on their behalf"),
    "import": _l("Imported answers"),
    "import_undone": _l("Undid an import"),
    "qdpx_import": _l("Imported codes from a QDA project"),
    # Synthesis and sharing.
    "themes_run": _l("Drafted themes with the engine"),
    "synthesis_settings": _l("Changed privacy settings"),
    "export": _l("Exported a report or data"),
    "results_published": _l("Published the residents' page"),
    "results_saved": _l("Saved the residents' page without publishing it"),
    # Background jobs.
    "job_queued": _l("Started a background job"),
    "job_restarted": _l("Started a background job again"),
    "job_resumed": _l("Resumed a background job after a restart"),
    "job_interrupted": _l("A background job was interrupted"),
    "job_cancelled": _l("Cancelled a background job"),
    "job_failed": _l("A background job failed"),
    "job_done": _l("A background job finished"),
    # Campaigns.
    "campaign_created": _l("Created a campaign"),
    "campaign_partner_added": _l("Added a partner to a campaign"),
    "campaign_round_added": _l("Added a round to a campaign"),
    "campaign_member_set": _l("Changed a campaign member"),
    "campaign_member_removed": _l("Removed a campaign member"),
    "campaign_session_added": _l("Added a session to a campaign"),
    "campaign_session_removed": _l("Removed a session from a campaign"),
    "campaign_question_added": _l("Added a shared question to a campaign"),
    "campaign_question_copied": _l("Copied a shared question into a session"),
    "campaign_reference": _l("Entered a campaign's reference population"),
    "campaign_published": _l("Published a campaign's page"),
    "campaign_unpublished": _l("Stopped publishing a campaign's page"),
    "campaign_texts": _l("Changed a campaign's texts"),
    "campaign_theme_renamed": _l("Renamed a campaign theme"),
    "campaign_themes_run": _l("Drafted themes across a campaign"),
    "commitment_saved": _l("Saved a commitment (“we did”)"),
    "campaign_export": _l("Exported a campaign report"),
    "campaign_export_download": _l("Downloaded a campaign report"),
}

# The names of the details' keys (`answers=3 contact_details=1` reads "Answers: 3 · Contact details: 1").
DETAIL_NAMES = {
    "active": _l("Active"),
    "already": _l("Already stored"),
    "answer_texts": _l("Answer texts"),
    "answers": _l("Answers"),
    "codes": _l("Codes"),
    "commitment": _l("Commitment"),
    "contact_details": _l("Contact details"),
    "days": _l("Days"),
    "draft": _l("Draft"),
    "drafts": _l("Drafts"),
    "dropped": _l("Dropped"),
    "error": _l("Error"),
    "file": _l("File"),
    "file_sha256": _l("File fingerprint"),
    "follow_up_of": _l("Follow-up of"),
    "format": _l("Format"),
    "import": _l("Import"),
    "into": _l("Into"),
    "job": _l("Job"),
    "kind": _l("Kind"),
    "language": _l("Language"),
    "legal_hold": _l("Legal hold"),
    "minutes": _l("Minutes"),
    "moved": _l("Moved"),
    "note": _l("Note"),
    "participant": _l("Person"),
    "partner": _l("Partner"),
    "people": _l("People"),
    "prompt": _l("Question"),
    "question": _l("Question"),
    "reason": _l("Reason"),
    "refused": _l("Refused"),
    "response": _l("Answer"),
    "restart_of": _l("Restart of job"),
    "role": _l("Role"),
    "round": _l("Round"),
    "session": _l("Session"),
    "set": _l("Answers included"),
    "source": _l("Source"),
    "sources": _l("Sources"),
    "statement": _l("Statement"),
    "statements": _l("Statements"),
    "status": _l("Status"),
    "stored": _l("Stored"),
    "table": _l("Table"),
    "themes": _l("Themes"),
    "threshold": _l("Smallest group shown"),
    "topic": _l("Topic"),
    "translated": _l("Translated"),
    "translations": _l("Translations"),
    "user": _l("Account"),
    "votes": _l("Votes"),
    "wait": _l("Wait"),
}

# Stored values that are words themselves.
VALUE_WORDS = {
    "all": _l("all"),
    "default": _l("default"),
    "backbone": _l("backbone"),
}

# The deletion log: what kind of data went (its `kind`), and its reasons as Chorus writes them.
DELETION_KINDS = {
    "withdrawal": _l("A person's answers and contact details (withdrawal)"),
    "import_undone": _l("An import's people and answers (import undone)"),
    "retention_purge": _l("Answer texts and contact details (keeping period ended)"),
}
_REASONS = (
    (re.compile(r"participant withdrew with their receipt code"),
     lambda m: _("The person withdrew with their receipt code.")),
    (re.compile(r"withdrawn by staff on the person's behalf: (?P<how>.+)"),
     lambda m: _("Withdrawn by staff on the person's behalf: %(how)s.", how=_staff_how(m["how"]))),
    (re.compile(r"a staff member undid an import"), lambda m: _("A staff member undid an import.")),
    (re.compile(r"retention period of (?P<days>\d+) days after closing ended"),
     lambda m: _("The keeping period of %(days)s days after the session closed ended.", days=m["days"])),
    (re.compile(r"(?P<what>withdrawal|retention purge|import undo) of (?P<at>[\d\-T: ]+) UTC re-applied after restoring a backup"),
     lambda m: _("Done again after a backup was restored (first done %(at)s UTC).", at=m["at"])),
)
# listening.queries.STAFF_WITHDRAWAL_REASONS, as stored.
_STAFF_HOW = {
    "asked in person": _l("asked in person"),
    "asked by phone": _l("asked by phone"),
    "asked in writing": _l("asked in writing"),
    "asked through an interpreter": _l("asked through an interpreter"),
    "someone they authorised asked for them": _l("someone they authorised asked for them"),
}
# The same reasons as `withdrawal_by_staff` audit entries store them (their keys).
_STAFF_HOW_KEYS = {"in_person": "asked in person", "phone": "asked by phone", "writing": "asked in writing",
                   "interpreter": "asked through an interpreter", "representative": "someone they authorised asked for them"}
# Details whose whole text is data (a name, an address, a label), never words to translate.
_DETAIL_IS_DATA = ("campaign_partner_added", "campaign_round_added", "campaign_session_added", "campaign_question_added",
                   "campaign_theme_renamed")


def action_label(action: str) -> str:
    """Return an audit entry's action in the reader's language (its stored code if Chorus has no words for it)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def _staff_how(how: str) -> str:
    """Return a staff withdrawal's "how it was asked" in the reader's language."""
    label = _STAFF_HOW.get(how.strip())
    return str(label) if label is not None else how


def _value(key: str, value: str) -> str:
    """Return one detail's value as a reader should see it."""
    if key == "language" and value:
        return language_name(value)
    if key == "format" and value:
        return value.upper()
    if key == "kind" and value in KIND_TITLES:
        return str(KIND_TITLES[value])
    if key == "reason" and value in _STAFF_HOW_KEYS:
        return _staff_how(_STAFF_HOW_KEYS[value])
    if key in ("active", "legal_hold", "translated", "drafts") and value in ("0", "1"):
        return _("yes") if value == "1" else _("no")
    if value in VALUE_WORDS:
        return str(VALUE_WORDS[value])
    return value or "—"


def detail_pairs(detail: str | None) -> tuple[str, list[tuple[str, str]]]:
    """Split a stored detail into its free text before the first `key=` and its (key, value) pairs.

    A value runs to the next ` key=` of a known key, so a reason typed with spaces (or with an `=` of its own)
    stays whole; an unknown key's `=` is part of the value before it."""
    text = detail or ""
    starts = [m for m in re.finditer(r"(?:^|\s)([a-z_0-9]+)=", text) if m.group(1) in DETAIL_NAMES]
    if not starts:
        return text.strip(), []
    lead = text[:starts[0].start()].strip()
    pairs = []
    for index, found in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        pairs.append((found.group(1), text[found.end():end].strip()))
    return lead, pairs


def describe_detail(action: str, detail: str | None) -> str:
    """Say an audit entry's details in the reader's language: "Answers: 3 · Contact details: 1"."""
    if not detail:
        return ""
    if action in _DETAIL_IS_DATA:
        return detail
    lead, pairs = detail_pairs(detail)
    shown = [lead] if lead else []
    for key, value in pairs:
        if key == "threshold":
            # m007 wrote "threshold=10 (raised from 5: …)" when it raised a lower one.
            raised = re.match(r"(\d+) \(raised from (\d+)", value)
            if raised:
                shown.append(_("Smallest group shown: %(count)s (raised from %(before)s)",
                               count=raised[1], before=raised[2]))
                continue
        # TRANSLATORS: one detail of an audit log entry, e.g. "Answers: 3".
        shown.append(_("%(name)s: %(value)s", name=DETAIL_NAMES[key], value=_value(key, value)))
    return " · ".join(shown)


def deletion_kind(kind: str) -> str:
    """Return what kind of data a deletion log entry says went, in the reader's language."""
    label = DELETION_KINDS.get(kind)
    return str(label) if label is not None else kind


def describe_reason(reason: str | None) -> str:
    """Return a deletion's reason in the reader's language (as stored when Chorus did not write it)."""
    for pattern, words in _REASONS:
        found = pattern.fullmatch((reason or "").strip())
        if found:
            return words(found)
    return reason or ""
