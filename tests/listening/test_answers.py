"""Answering: one prompt per screen, idempotent saves, changes, skips and clear errors."""
import json

import pytest

from listening import queries
from tests.conftest import form_data, page, submit, text_of
from tests.factories import count, make_session


@pytest.fixture
def resident(client, db):
    """A resident who has agreed to take part in a five-prompt session."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    client.session = session
    return client


def q(session, number):
    """Return the URL of prompt `number`."""
    return f"/s/{session['code']}/q/{number}"


def test_prompt_page_shows_progress_and_a_labelled_input(resident):
    """Each prompt is on its own page with 'Question n of N' and a labelled answer box."""
    soup = page(resident.get(q(resident.session, 1)))
    assert soup.find(id="progress").get_text(strip=True) == "Question 1 of 5"
    box = soup.find("textarea", attrs={"name": "answer"})
    assert soup.find("label", attrs={"for": box["id"]}).get_text(strip=True) == "What helps you? [en]"


def test_answers_are_stored_exactly_as_sent(resident, db):
    """Emoji, right-to-left text and combining marks are stored unchanged."""
    text = "مرحبا 👩🏽‍🍼 e\u0301 ñ — «ok»\nsecond line"
    response = submit(resident, q(resident.session, 1), {"answer": text})
    assert response.status_code == 302
    assert db.execute("SELECT text FROM responses").fetchone()[0] == text


def test_one_mapping_turns_a_form_into_stored_values_for_residents_and_staff():
    """answer_values (the residents' pages and staff entry both use it) keeps an open answer byte for byte."""
    from types import SimpleNamespace

    from listening.forms import answer_values

    def form(data):
        """A validated form holding one answer."""
        return SimpleNamespace(answer=SimpleNamespace(data=data))

    assert answer_values({"kind": "open"}, form("  more buses \n")) == {"text": "  more buses \n"}
    assert answer_values({"kind": "scale"}, form("4")) == {"number": 4}
    assert answer_values({"kind": "multiple"}, form(["2", "3"])) == {"choices": [2, 3]}
    assert answer_values({"kind": "single"}, form("5")) == {"choices": [5]}


def test_replaying_the_same_form_creates_one_answer(resident, db):
    """A retry or double tap of the same form stores one answer."""
    data = form_data(resident.get(q(resident.session, 1)))
    data["answer"] = "Rides to the clinic"
    first = resident.post(q(resident.session, 1), data=data)
    second = resident.post(q(resident.session, 1), data=data)
    assert first.status_code == second.status_code == 302
    assert count(db, "responses") == 1


def test_a_replayed_old_form_does_not_undo_a_later_change(resident, db):
    """Replaying an earlier submission after changing the answer keeps the change."""
    old = form_data(resident.get(q(resident.session, 1)))
    old["answer"] = "first"
    resident.post(q(resident.session, 1), data=old)
    submit(resident, q(resident.session, 1), {"answer": "second"})
    resident.post(q(resident.session, 1), data=old)
    assert [r[0] for r in db.execute("SELECT text FROM responses")] == ["second"]


def test_going_back_shows_and_replaces_the_earlier_answer(resident, db):
    """Going back shows what was said, and a new answer replaces it rather than adding one."""
    submit(resident, q(resident.session, 1), {"answer": "first thought"})
    shown = page(resident.get(q(resident.session, 1))).find("textarea", attrs={"name": "answer"}).get_text()
    assert shown == "first thought"
    submit(resident, q(resident.session, 1), {"answer": "better thought"})
    assert [r[0] for r in db.execute("SELECT text FROM responses")] == ["better thought"]


def test_too_long_answer_is_refused_and_kept_on_screen(resident, db, app):
    """An answer over the limit gets a clear message, keeps every word typed, and stores nothing."""
    text = "palabra " * 300
    response = submit(resident, q(resident.session, 1) + "?lang=es", {"answer": text}, get_url=q(resident.session, 1) + "?lang=es")
    assert response.status_code == 400
    soup = page(response)
    assert soup.find("textarea", attrs={"name": "answer"}).get_text() == text
    assert "2400" in soup.find(id="answer-error").get_text().replace("\u00a0", "").replace(",", "").replace(".", "")
    assert soup.html["lang"] == "es"
    assert count(db, "responses") == 0


def test_single_choice_rejects_an_option_of_another_prompt(resident, db):
    """A choice that is not one of this prompt's options is refused and nothing is stored."""
    response = submit(resident, q(resident.session, 2), {"answer": "99999"})
    assert response.status_code == 400
    assert count(db, "responses") == 0


def test_choices_and_scale_are_stored(resident, db):
    """Single, multiple and scale answers are stored as option ids and numbers."""
    prompts = queries.prompts_for_session(db, resident.session["id"])
    single, multiple = prompts[1]["options"], prompts[2]["options"]
    submit(resident, q(resident.session, 2), {"answer": str(single[1]["id"])})
    submit(resident, q(resident.session, 3), {"answer": [str(multiple[0]["id"]), str(multiple[2]["id"])]})
    submit(resident, q(resident.session, 4), {"answer": "4"})
    stored = {r["prompt_id"]: r for r in db.execute("SELECT * FROM responses")}
    assert json.loads(stored[prompts[1]["id"]]["choices"]) == [single[1]["id"]]
    assert json.loads(stored[prompts[2]["id"]]["choices"]) == [multiple[0]["id"], multiple[2]["id"]]
    assert stored[prompts[3]["id"]]["number"] == 4


def test_scale_outside_its_range_is_refused(resident, db):
    """A scale value beyond its ends is refused."""
    assert submit(resident, q(resident.session, 4), {"answer": "9"}).status_code == 400
    assert count(db, "responses") == 0


def test_about_you_questions_always_offer_prefer_not_to_say(resident):
    """An 'about you' prompt lists 'Prefer not to say' last, in the resident's language."""
    labels = [label.get_text(strip=True) for label in page(resident.get(q(resident.session, 5))).select(".choice label")]
    assert labels[-1] == "Prefer not to say"


def test_skipping_an_optional_prompt_moves_on(resident, db):
    """Skip stores a skipped marker and goes to the next prompt."""
    response = submit(resident, q(resident.session, 1), {"action": "skip"})
    assert response.headers["Location"].endswith(q(resident.session, 2))
    assert db.execute("SELECT skipped FROM responses").fetchone()[0] == 1


def test_required_prompt_cannot_be_skipped(client, db):
    """A required prompt explains that it needs an answer and stores nothing."""
    session = make_session(db, prompts=[{"kind": "open", "text": "Must answer", "required": True}])
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    response = submit(client, q(session, 1), {"action": "skip"})
    assert response.status_code == 400
    assert page(response).find(role="alert") is not None
    assert count(db, "responses") == 0


def test_last_answer_leads_to_thanks_with_the_receipt(resident, db):
    """After the last prompt the thank-you page repeats the receipt code and how to withdraw."""
    for number in range(1, 6):
        submit(resident, q(resident.session, number), {"action": "skip"})
    response = resident.get(f"/s/{resident.session['code']}/thanks")
    code = page(response).select_one(".receipt .code").get_text(strip=True)
    assert len(code.replace("-", "")) == 12
    assert page(response).find("a", href="/withdraw") is not None


def test_answer_without_consent_goes_to_consent(client, db):
    """Opening a prompt without having consented leads to the consent page and stores nothing."""
    session = make_session(db)
    response = client.post(q(session, 1), data={"answer": "hi"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/consent")
    assert count(db, "responses") == 0


def test_answer_to_a_prompt_of_another_session_is_refused(db):
    """The query layer refuses an answer whose prompt belongs to another session."""
    from tests.factories import make_participant

    mine, other = make_session(db), make_session(db)
    person = make_participant(db, mine)
    foreign = queries.prompts_for_session(db, other["id"])[0]
    with pytest.raises(ValueError):
        queries.save_response(db, session_id=mine["id"], participant_id=person.id, prompt_id=foreign["id"],
                              nonce="n" * 16, language="en", text="x")
    assert count(db, "responses") == 0


def test_participant_of_one_session_cannot_answer_in_another(client, db):
    """A cookie from one session gives no way into another session's prompts."""
    first, second = make_session(db), make_session(db)
    submit(client, f"/s/{first['code']}/consent", {"action": "agree", "take_part": "y"})
    response = client.post(q(second, 1), data={"answer": "x"})
    assert response.headers["Location"].endswith(f"/s/{second['code']}/consent")
    assert count(db, "responses") == 0


def test_prompt_number_out_of_range_is_not_found(resident):
    """Asking for prompt 99 of five is a plain 404 page."""
    response = resident.get(q(resident.session, 99))
    assert response.status_code == 404
    assert "could not find" in text_of(response)


def test_live_session_refuses_an_answer_to_a_closed_prompt(client, db):
    """In a live session a prompt that is not open for answers stores nothing and says why."""
    session = make_session(db, mode="live")
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    assert client.get(q(session, 1)).headers["Location"].endswith("/live")
    response = client.post(q(session, 1), data={"answer": "late"})
    assert response.status_code == 409
    assert count(db, "responses") == 0


def test_returning_resident_continues_where_they_left_off(resident):
    """Coming back to the session goes to the first unanswered prompt, not the start."""
    submit(resident, q(resident.session, 1), {"answer": "first"})
    submit(resident, q(resident.session, 2), {"action": "skip"})
    response = resident.get(f"/s/{resident.session['code']}/consent")
    assert response.headers["Location"].endswith(q(resident.session, 3))


def test_receipt_code_is_shown_once_right_after_agreeing(resident):
    """The first screen after consent shows the receipt code, so stopping early still leaves it; later screens do not."""
    first = page(resident.get(q(resident.session, 1))).select_one(".receipt-note .code")
    thanks_code = None
    assert first is not None and len(first.get_text(strip=True).replace("-", "")) == 12
    assert page(resident.get(q(resident.session, 2))).select_one(".receipt-note") is None
    for number in range(1, 6):
        submit(resident, q(resident.session, number), {"action": "skip"})
    thanks_code = page(resident.get(f"/s/{resident.session['code']}/thanks")).select_one(".receipt .code").get_text(strip=True)
    assert thanks_code == first.get_text(strip=True)
