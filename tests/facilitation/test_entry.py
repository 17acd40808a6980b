"""Staff entry: answers from paper, sticky notes, calls and interpreters, with verbal consent, logged."""
import json
from urllib.parse import parse_qs, urlparse

import pytest

from facilitation import live_queries
from listening import queries
from tests.conftest import form_data, page, sign_in, submit, text_of
from tests.factories import count, make_session, share, user_id


@pytest.fixture
def session(db, make_user):
    """An open bilingual live session, owned by the facilitator and shared with the planner."""
    found = make_session(db, mode="live", created_by=user_id(db, make_user("facilitator")))
    share(db, found, make_user("planner"))
    return found


def entry_url(session, **args):
    """Return the staff entry page's address with sticky settings."""
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/staff/sessions/{session['id']}/entry" + (f"?{query}" if query else "")


def enter(client, session, fields, **args):
    """Load the entry page with settings and save one answer."""
    return submit(client, f"/staff/sessions/{session['id']}/entry", fields, get_url=entry_url(session, **args))


def test_a_paper_answer_is_stored_with_source_language_and_who_typed_it(as_facilitator, db, session):
    """The answer, its participant and a verbal consent by staff are stored together, and it is logged."""
    response = enter(as_facilitator, session, {"answer": "Necesito transporte", "consent_read": "y", "quote_ok": "y"},
                     prompt=1, source="paper", language="es")
    assert response.status_code == 303
    staff_id = db.execute("SELECT id FROM users WHERE email = 'facilitator@example.org'").fetchone()[0]
    answer = dict(db.execute("SELECT text, language, source, entered_by FROM responses").fetchone())
    assert answer == {"text": "Necesito transporte", "language": "es", "source": "paper", "entered_by": staff_id}
    person = dict(db.execute("SELECT source, entered_by, language FROM participants").fetchone())
    assert person == {"source": "paper", "entered_by": staff_id, "language": "es"}
    consent = dict(db.execute("SELECT method, recorded_by, version, language, quote_ok FROM consents").fetchone())
    current = queries.current_consent(db, session["id"], "es")
    assert consent == {"method": "staff_verbal", "recorded_by": staff_id, "version": current["version"],
                       "language": "es", "quote_ok": 1}
    audit = db.execute("SELECT action, detail FROM audit_log WHERE action = 'staff_entry'").fetchall()
    assert len(audit) == 1 and "source=paper" in audit[0]["detail"]


def test_the_settings_stay_chosen_and_the_answer_box_has_the_focus(as_facilitator, session):
    """After a save the page comes back with the same question, source and language, ready to type."""
    response = enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y"},
                     prompt=1, source="interpreter", language="es")
    assert parse_qs(urlparse(response.headers["Location"]).query) == {
        "prompt": ["1"], "source": ["interpreter"], "language": ["es"]}
    shown = as_facilitator.get(response.headers["Location"])
    soup = page(shown)
    assert soup.find("select", id="source").find("option", selected=True)["value"] == "interpreter"
    assert soup.find("select", id="language").find("option", selected=True)["value"] == "es"
    assert soup.find("textarea", id="answer").has_attr("autofocus")
    assert "Saved. Type the next answer." in [n.get_text(strip=True) for n in soup.select(".notice")]


def test_without_confirmed_consent_nothing_is_stored(as_facilitator, db, session):
    """An entry whose consent is not confirmed is refused with a message and stores nothing."""
    response = enter(as_facilitator, session, {"answer": "Rides"}, prompt=1, source="paper", language="en")
    assert response.status_code == 400
    assert "consent statement was read" in text_of(response)
    assert (count(db, "responses"), count(db, "participants"), count(db, "consents")) == (0, 0, 0)


def test_a_repeated_form_stores_the_answer_once(as_facilitator, db, session):
    """Pressing Save twice (the same form) stores one answer and one participant."""
    shown = as_facilitator.get(entry_url(session, prompt=1, source="sticky", language="en"))
    data = {**form_data(shown), "answer": "Doulas", "consent_read": "y"}
    for _ in range(2):
        assert as_facilitator.post(f"/staff/sessions/{session['id']}/entry", data=data).status_code == 303
    assert (count(db, "responses"), count(db, "participants")) == (1, 1)


def test_several_answers_from_one_card_stay_one_person(as_facilitator, db, session):
    """With "Same person", a second answer joins the previous card instead of adding a participant."""
    enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y"}, prompt=1, source="paper", language="en")
    prompt2 = queries.prompts_for_session(db, session["id"])[1]
    enter(as_facilitator, session, {"answer": str(prompt2["options"][1]["id"]), "consent_read": "y", "same_person": "y"},
          prompt=2, source="paper", language="en")
    assert (count(db, "responses"), count(db, "participants")) == (2, 1)
    again = enter(as_facilitator, session, {"answer": "More", "consent_read": "y", "same_person": "y"},
                  prompt=1, source="paper", language="en")
    assert again.status_code == 400 and count(db, "responses") == 2


def test_entered_answers_join_the_same_analysis_and_break_down_by_source(as_facilitator, db, session):
    """Typed-in answers are in the visible answers with phone ones, each with its source."""
    enter(as_facilitator, session, {"answer": "From a call", "consent_read": "y"}, prompt=1, source="phone_call", language="en")
    rows = live_queries.visible_responses(db, session["id"])
    assert [(r["text"], r["source"]) for r in rows] == [("From a call", "phone_call")]
    assert text_of(as_facilitator.get(f"/staff/sessions/{session['id']}/answers")).count("From a call") == 1


def test_a_planner_cannot_type_in_answers(client, db, make_user, session):
    """Staff entry is for facilitators: a planner is refused and nothing is stored."""
    sign_in(client, make_user("planner"))
    assert client.get(entry_url(session)).status_code == 403
    assert client.post(f"/staff/sessions/{session['id']}/entry", data={"answer": "x"}).status_code == 403
    assert count(db, "responses") == 0


def test_the_entry_page_opens_clean(as_facilitator, session):
    """Opening the entry page is a plain 200 with a fresh one-time key and no error shown."""
    response = as_facilitator.get(entry_url(session, prompt=1, source="paper", language="en"))
    assert response.status_code == 200
    soup = page(response)
    assert soup.select("[aria-invalid=true], [role=alert]") == []
    assert len(soup.find("input", attrs={"name": "nonce"})["value"]) >= 16
    assert soup.select("input[type=checkbox][checked]") == []  # consent read aloud is never ticked for staff
    choices = page(as_facilitator.get(entry_url(session, prompt=2, source="paper", language="en")))
    assert [label.get_text(strip=True) for label in choices.select("label[for^=answer]")][:3] == \
        ["Car [en]", "Bus [en]", "Walk [en]"]


def test_a_stale_entry_form_says_so_and_stores_nothing(as_facilitator, db, session):
    """A form whose CSRF token is forged gets 400 and the 'open for a long time' notice; an empty answer does not."""
    stale = enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y", "csrf_token": "forged##token"},
                  prompt=1, source="paper", language="en")
    assert stale.status_code == 400 and "open for a long time" in text_of(stale)
    empty = enter(as_facilitator, session, {"answer": "", "consent_read": "y"}, prompt=1, source="paper", language="en")
    assert empty.status_code == 400 and "open for a long time" not in text_of(empty)
    assert count(db, "responses") == 0


def test_a_broken_one_time_key_is_replaced_so_the_next_save_works(as_facilitator, db, session):
    """A form sent with a malformed one-time key comes back with a new, valid one, and saving it then works."""
    url = f"/staff/sessions/{session['id']}/entry"
    fields = {**form_data(as_facilitator.get(entry_url(session, prompt=1, source="paper", language="en"))),
              "answer": "Rides", "consent_read": "y", "prompt": "1", "source": "paper", "language": "en", "nonce": "bad"}
    refused = as_facilitator.post(url, data=fields)
    assert refused.status_code == 400 and count(db, "responses") == 0
    fresh = page(refused).find("input", attrs={"name": "nonce"})["value"]
    assert fresh != "bad" and len(fresh) >= 16
    assert as_facilitator.post(url, data={**fields, "nonce": fresh}).status_code == 303


def test_only_a_participant_of_this_session_who_has_not_withdrawn_continues_a_card(db, session):
    """still_taking_part: the last card's person must belong to this session, older or newer, and not have withdrawn."""
    from facilitation.entry import still_taking_part
    from tests.factories import high_ids, make_participant

    high_ids(db, 5000)  # ids above 256, where `is` is not `==`
    older, theirs, newer = make_session(db), make_session(db), make_session(db)
    mine = make_participant(db, theirs)
    assert still_taking_part(db, theirs["id"], mine.id)
    assert not still_taking_part(db, older["id"], mine.id) and not still_taking_part(db, newer["id"], mine.id)
    assert not still_taking_part(db, theirs["id"], 987654)
    queries.withdraw(db, mine.receipt)
    assert not still_taking_part(db, theirs["id"], mine.id)


def test_same_person_is_offered_only_once_there_is_a_card_to_continue(as_facilitator, session):
    """Before the first entry there is no 'Same person' box; after one there is, unticked."""
    url = entry_url(session, prompt=1, source="paper", language="en")
    assert page(as_facilitator.get(url)).find("input", attrs={"name": "same_person"}) is None
    enter(as_facilitator, session, {"answer": "Rides", "consent_read": "y"}, prompt=1, source="paper", language="en")
    box = page(as_facilitator.get(url)).find("input", attrs={"name": "same_person"})
    assert box is not None and not box.has_attr("checked")  # a new card unless staff tick it


def test_a_staff_entry_keeps_the_quote_words_the_facilitator_ticked(as_facilitator, db, session):
    """The quote box on the entry page names the room's screen; ticking it records that scope with the
    box's words, so a paper answer may go on the wall like a phone's."""
    label = page(as_facilitator.get(entry_url(session, prompt=1))).find("label", attrs={"for": "quote_ok"})
    enter(as_facilitator, session, {"answer": "Rides to the clinic", "consent_read": "y", "quote_ok": "y"},
          prompt=1, source="paper", language="es")
    row = db.execute("SELECT quote_scope, choice_labels FROM consents").fetchone()
    assert "room's screen" in label.get_text()
    assert row["quote_scope"] == "screen_and_reports"
    assert json.loads(row["choice_labels"]) == {"quote": label.get_text(" ", strip=True)}


def test_an_interpreter_s_translation_is_typed_in_with_a_spanish_answer_and_kept_with_it(as_facilitator, db, session):
    """For an open answer in another language the entry page offers a translation into the main language; it is
    stored with the answer (once, however often the form is sent), is not offered for answers already in the main
    language, and one too long is refused with a message and stores nothing."""
    shown = page(as_facilitator.get(entry_url(session, prompt=1, source="interpreter", language="es")))
    box = shown.select_one("textarea#translation")
    assert box is not None and box["lang"] == "en"
    assert "English" in shown.select_one("label[for=translation]").get_text()
    assert page(as_facilitator.get(entry_url(session, prompt=1, language="en"))).select_one("#translation") is None

    too_long = enter(as_facilitator, session, {"answer": "No hay intérprete", "consent_read": "y",
                                               "translation": "x" * (queries.MAX_TRANSLATION + 1)},
                     prompt=1, source="interpreter", language="es")
    assert too_long.status_code == 400 and "4000 characters or fewer" in text_of(too_long)
    assert count(db, "responses") == 0 and count(db, "answer_translations") == 0

    fields = {"answer": "No hay intérprete en la clínica", "consent_read": "y", "quote_ok": "y",
              "translation": "  There is no interpreter at the clinic  "}
    shown = as_facilitator.get(entry_url(session, prompt=1, source="interpreter", language="es"))
    data = {**form_data(shown), **fields}
    for _ in range(2):  # a double tap: the same one-time key
        assert as_facilitator.post(f"/staff/sessions/{session['id']}/entry", data=data).status_code == 303
    stored = db.execute("""SELECT r.text, t.language, t.text AS translation FROM answer_translations t
                           JOIN responses r ON r.id = t.response_id""").fetchall()
    assert [tuple(r) for r in stored] == [("No hay intérprete en la clínica", "en", "There is no interpreter at the clinic")]
    detail = db.execute("SELECT detail FROM audit_log WHERE action = 'staff_entry'").fetchone()[0]
    assert detail.endswith("translated=1")
