"""A session never runs with text missing in one of its languages: not when opened from the overview,
not when started from the live console, and not after an edit to a session that is already open."""
from __future__ import annotations

import pytest

from listening import queries
from tests.conftest import form_data, page, submit, text_of
from tests.factories import make_session, user_id


@pytest.fixture
def owner(db, make_user):
    """The facilitator who owns the sessions below, signed in."""
    return user_id(db, make_user("facilitator"))


def alert(client, url: str) -> str:
    """Return the text of the error message a page shows."""
    shown = page(client.get(url))
    return " ".join(a.get_text(" ", strip=True) for a in shown.select("[role=alert]"))


def console_start(client, session):
    """Press Start on the live console."""
    return submit(client, f"/staff/sessions/{session['id']}/live", {"action": "start"}, form_index=0)


def test_the_console_cannot_start_a_session_with_a_language_missing(as_facilitator, db, owner):
    """Start with the Spanish title missing leaves the session in draft, says why, and logs no start."""
    session = make_session(db, mode="live", status="draft", created_by=owner)
    queries.set_text(db, session["id"], "session", session["id"], "title", "es", "")
    response = console_start(as_facilitator, session)
    assert response.status_code == 303
    assert queries.session_by_id(db, session["id"])["status"] == "draft"
    assert "some text is missing" in alert(as_facilitator, response.headers["Location"])
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'live_start'").fetchone()[0] == 0
    assert as_facilitator.get(f"/j/{session['code']}").status_code in (403, 404)  # not joinable


def test_the_console_cannot_start_a_session_with_a_question_missing_a_language(as_facilitator, db, owner):
    """A question worded only in English keeps a bilingual session from starting."""
    session = make_session(db, mode="live", status="draft", created_by=owner)
    prompt = queries.prompts_for_session(db, session["id"])[0]
    queries.set_text(db, session["id"], "prompt", prompt["id"], "text", "es", "")
    console_start(as_facilitator, session)
    assert queries.session_by_id(db, session["id"])["status"] == "draft"


def test_the_console_cannot_start_a_session_without_questions(as_facilitator, db, owner):
    """Start with no questions is refused with a message."""
    session = make_session(db, mode="live", status="draft", prompts=[], created_by=owner)
    response = console_start(as_facilitator, session)
    assert queries.session_by_id(db, session["id"])["status"] == "draft"
    assert "at least one question" in alert(as_facilitator, response.headers["Location"])


def test_the_console_starts_a_complete_session(as_facilitator, db, owner):
    """With every text in every language, Start opens the session (the refusals above are not blanket)."""
    session = make_session(db, mode="live", status="draft", created_by=owner)
    console_start(as_facilitator, session)
    assert queries.session_by_id(db, session["id"])["status"] == "open"


def test_the_overview_cannot_open_a_session_with_a_language_missing(as_facilitator, db, owner):
    """Open on the overview is refused the same way while a Spanish text is missing."""
    session = make_session(db, status="draft", created_by=owner)
    queries.set_text(db, session["id"], "session", session["id"], "purpose", "es", "")
    url = f"/staff/sessions/{session['id']}"
    submit(as_facilitator, f"{url}/status", {"status": "open"}, get_url=url, form_index=0)
    assert queries.session_by_id(db, session["id"])["status"] == "draft"


def test_adding_a_language_to_an_open_session_sends_it_back_to_draft(as_facilitator, db, owner):
    """Offering French in an open session without French texts puts it back in draft with a message."""
    session = make_session(db, created_by=owner)
    url = f"/staff/sessions/{session['id']}/settings"
    response = submit(as_facilitator, url, {"default_language": "en", "languages": ["es", "fr"], "mode": "self_paced",
                                            "timezone": "America/New_York", "minutes": "15", "contact": ""})
    assert response.status_code == 302
    assert queries.session_by_id(db, session["id"])["status"] == "draft"
    assert "went back to draft" in alert(as_facilitator, response.headers["Location"])
    assert as_facilitator.get(f"/j/{session['code']}").status_code in (403, 404)  # not joinable


def test_blanking_a_text_of_an_open_session_sends_it_back_to_draft(as_facilitator, db, owner):
    """Emptying the Spanish title on the texts page of an open session puts it back in draft."""
    session = make_session(db, created_by=owner)
    url = f"/staff/sessions/{session['id']}/texts"
    fields = {name: value for name, value in form_data(as_facilitator.get(url)).items()}
    shown = page(as_facilitator.get(url))
    for box in shown.select("textarea, input[type=text]"):
        fields[box["name"]] = box.get_text() if box.name == "textarea" else box.get("value", "")
    title_es = next(name for name in fields if name.endswith("--es") and "title" in name)
    fields[title_es] = ""
    as_facilitator.post(url, data=fields)
    assert queries.session_by_id(db, session["id"])["status"] == "draft"


def test_blanking_a_questions_wording_in_an_open_session_sends_it_back_to_draft(as_facilitator, db, owner):
    """Emptying a question's Spanish wording in an open session puts it back in draft."""
    session = make_session(db, created_by=owner)
    prompt = queries.prompts_for_session(db, session["id"])[0]
    url = f"/staff/sessions/{session['id']}/prompts/{prompt['id']}"
    response = submit(as_facilitator, url, {"kind": "open", "text_en": "What helps you? [en]", "text_es": ""})
    assert response.status_code == 302
    assert queries.session_by_id(db, session["id"])["status"] == "draft"


def test_an_edit_that_keeps_every_language_keeps_it_open_and_records_the_new_consent(as_facilitator, db, owner):
    """Rewording the English consent of an open session keeps it open and makes a new consent version."""
    session = make_session(db, created_by=owner)
    queries.snapshot_consent(db, session["id"])
    url = f"/staff/sessions/{session['id']}/texts"
    shown = page(as_facilitator.get(url))
    fields = form_data(as_facilitator.get(url))
    for box in shown.select("textarea, input[type=text]"):
        fields[box["name"]] = box.get_text() if box.name == "textarea" else box.get("value", "")
    consent_en = next(name for name in fields if name.endswith("--en") and "consent" in name)
    fields[consent_en] = "Taking part is your choice. You may stop at any time."
    as_facilitator.post(url, data=fields)
    assert queries.session_by_id(db, session["id"])["status"] == "open"
    assert queries.current_consent(db, session["id"], "en")["body"] == fields[consent_en]
    assert queries.current_consent(db, session["id"], "en")["version"] == 2
    assert "went back to draft" not in text_of(as_facilitator.get(f"/staff/sessions/{session['id']}"))


def test_the_overview_opens_a_complete_session(as_facilitator, db, owner):
    """With every text in every language, Open on the overview opens it and logs it."""
    session = make_session(db, status="draft", created_by=owner)
    url = f"/staff/sessions/{session['id']}"
    response = submit(as_facilitator, f"{url}/status", {"status": "open"}, get_url=url, form_index=0)
    assert response.status_code == 303
    assert queries.session_by_id(db, session["id"])["status"] == "open"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'session_open'").fetchone()[0] == 1


def test_the_overview_says_which_thing_stops_a_session_opening(as_facilitator, db, owner):
    """Open on the overview names the real reason: no questions is "add a question", a missing Spanish text is "some
    text is missing", and neither message stands in for the other."""
    empty = make_session(db, status="draft", prompts=[], created_by=owner)
    untranslated = make_session(db, status="draft", created_by=owner)
    queries.set_text(db, untranslated["id"], "session", untranslated["id"], "purpose", "es", "")
    said = {}
    for name, session in (("empty", empty), ("untranslated", untranslated)):
        url = f"/staff/sessions/{session['id']}"
        response = submit(as_facilitator, f"{url}/status", {"status": "open"}, get_url=url, form_index=0)
        assert response.status_code == 303  # back to the overview, which shows why (a 304 would show a blank page)
        said[name] = alert(as_facilitator, response.headers["Location"])
        assert queries.session_by_id(db, session["id"])["status"] == "draft"
    assert "at least one question" in said["empty"] and "some text is missing" not in said["empty"]
    assert "some text is missing" in said["untranslated"] and "at least one question" not in said["untranslated"]


def test_only_opening_needs_every_text_a_session_missing_one_can_still_be_closed_or_kept_in_draft(as_facilitator, db, owner):
    """Closing, or pausing back to draft, is never refused for a missing text or question: only opening checks them."""
    for prompts in ([], None):
        session = make_session(db, status="draft", created_by=owner, **({"prompts": prompts} if prompts == [] else {}))
        queries.set_text(db, session["id"], "session", session["id"], "purpose", "es", "")
        url = f"/staff/sessions/{session['id']}"
        for wanted in ("draft", "closed"):
            response = submit(as_facilitator, f"{url}/status", {"status": wanted}, get_url=url, form_index=0)
            assert response.status_code == 303
            assert queries.session_by_id(db, session["id"])["status"] == wanted
            assert "some text is missing" not in alert(as_facilitator, response.headers["Location"])
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'session_closed'").fetchone()[0] == 2


def test_editing_a_closed_or_draft_session_never_changes_its_status_nor_records_a_consent_version(as_facilitator, db, owner):
    """Only an open session goes back to draft when a text goes missing: a closed one stays closed (it is not
    turned into a draft that could be opened again), and a draft records no consent version before it opens."""
    for status in ("closed", "draft"):
        session = make_session(db, status=status, created_by=owner)
        before = db.execute("SELECT count(*) FROM consent_versions WHERE session_id = ?", (session["id"],)).fetchone()[0]
        prompt = queries.prompts_for_session(db, session["id"])[0]
        url = f"/staff/sessions/{session['id']}/prompts/{prompt['id']}"
        submit(as_facilitator, url, {"kind": "open", "text_en": "What helps you? [en]", "text_es": ""})
        assert queries.session_by_id(db, session["id"])["status"] == status
        assert db.execute("SELECT count(*) FROM consent_versions WHERE session_id = ?",
                          (session["id"],)).fetchone()[0] == before
        assert "went back to draft" not in text_of(as_facilitator.get(f"/staff/sessions/{session['id']}"))
