"""The guard in save_response: an answer is stored only for a participant of this session who has not
withdrawn, to a prompt of this session. Staff entry's "same person as the last entry" relies on it."""
from __future__ import annotations

import pytest

from listening import queries
from tests.conftest import submit
from tests.factories import count, high_ids, make_participant, make_session, user_id


def tables(db) -> dict[str, int]:
    """Count the rows of the tables an answer writes to."""
    return {table: count(db, table) for table in ("responses", "submissions", "participants")}


def save(db, session, person_id, prompt, nonce="guard-nonce-0001", **values):
    """Save an open answer through the one function every answer goes through."""
    return queries.save_response(db, session_id=session["id"], participant_id=person_id, prompt_id=prompt["id"],
                                 nonce=nonce, language="en", text=values.get("text", "words"))


@pytest.fixture
def two(db):
    """Two open sessions, a resident in each, and the first prompt of each, with ids above 256."""
    high_ids(db)
    first, second = make_session(db), make_session(db)
    return {"first": first, "second": second,
            "mine": make_participant(db, first), "theirs": make_participant(db, second),
            "p1": queries.prompts_for_session(db, first["id"])[0],
            "p2": queries.prompts_for_session(db, second["id"])[0]}


def test_a_participant_of_another_session_cannot_answer_here(db, two):
    """Another session's participant id is refused, whichever session is older, and nothing is written."""
    before = tables(db)
    with pytest.raises(ValueError, match="cannot answer in this session"):
        save(db, two["first"], two["theirs"].id, two["p1"])
    with pytest.raises(ValueError, match="cannot answer in this session"):
        save(db, two["second"], two["mine"].id, two["p2"])
    assert tables(db) == before


def test_a_withdrawn_participant_cannot_answer(db, two):
    """After withdrawing, the same participant id stores nothing more."""
    queries.withdraw(db, two["mine"].receipt)
    before = tables(db)
    with pytest.raises(ValueError, match="cannot answer in this session"):
        save(db, two["first"], two["mine"].id, two["p1"])
    assert tables(db) == before


def test_an_unknown_participant_cannot_answer(db, two):
    """A made-up participant id is refused."""
    before = tables(db)
    with pytest.raises(ValueError):
        save(db, two["first"], 987654, two["p1"])
    assert tables(db) == before


def test_a_prompt_of_another_session_is_refused(db, two):
    """A participant cannot answer another session's question through their own session."""
    before = tables(db)
    with pytest.raises(ValueError, match="does not belong"):
        save(db, two["first"], two["mine"].id, two["p2"])
    assert tables(db) == before


def test_the_guard_lets_the_right_participant_answer(db, two):
    """The participant of this session who has not withdrawn is stored once (the guard is not a blanket refusal)."""
    assert two["first"]["id"] > 256 and two["mine"].id > 256  # `is` cannot stand in for `==` here
    before = count(db, "responses")
    saved = save(db, two["first"], two["mine"].id, two["p1"])
    assert saved.response_id is not None and not saved.duplicate
    assert count(db, "responses") == before + 1
    stored = db.execute("SELECT text, skipped, source, entered_by FROM responses WHERE id = ?", (saved.response_id,)).fetchone()
    assert tuple(stored) == ("words", 0, "phone", None)  # not skipped unless said so


def test_a_replayed_answer_says_it_is_a_duplicate_and_changes_nothing(db, two):
    """The same one-time key a second time reports a duplicate, stores nothing, and keeps the first text."""
    first = save(db, two["first"], two["mine"].id, two["p1"], nonce="replayed-nonce-01", text="first")
    again = save(db, two["first"], two["mine"].id, two["p1"], nonce="replayed-nonce-01", text="second")
    assert (again.response_id, again.duplicate) == (None, True)
    assert db.execute("SELECT text FROM responses WHERE id = ?", (first.response_id,)).fetchone()[0] == "first"


def test_answers_read_back_as_stored_and_without_people_who_withdrew(db, two):
    """responses_for_session and answers_of decode choices; a withdrawn resident's answers are left out."""
    travel = queries.prompts_for_session(db, two["first"]["id"])[1]
    option = travel["options"][1]["id"]
    queries.save_response(db, session_id=two["first"]["id"], participant_id=two["mine"].id, prompt_id=travel["id"],
                          nonce="read-back-0001", language="en", choices=[option])
    leaving = make_participant(db, two["first"])
    queries.save_response(db, session_id=two["first"]["id"], participant_id=leaving.id, prompt_id=travel["id"],
                          nonce="read-back-0002", language="en", choices=[option])
    queries.withdraw(db, leaving.receipt)
    rows = queries.responses_for_session(db, two["first"]["id"])
    assert [(r["participant_id"], r["choices"]) for r in rows] == [(two["mine"].id, [option])]
    assert queries.answers_of(db, two["mine"].id)[travel["id"]]["choices"] == [option]


def test_a_refused_answer_does_not_use_up_its_one_time_key(db, two):
    """A refused answer leaves no submission behind, so the right participant can still use that key."""
    with pytest.raises(ValueError):
        save(db, two["first"], two["theirs"].id, two["p1"], nonce="shared-nonce-0001")
    assert not save(db, two["first"], two["mine"].id, two["p1"], nonce="shared-nonce-0001").duplicate


def test_staff_entry_for_the_same_person_after_they_withdrew_is_refused_clearly(db, make_user, as_facilitator):
    """'Same person as the last entry' after that person withdrew gets a clear 400 and stores nothing."""
    session = make_session(db, created_by=user_id(db, make_user("facilitator")))
    url = f"/staff/sessions/{session['id']}/entry"
    args = {"prompt": 1, "source": "paper", "language": "en"}
    first = submit(as_facilitator, url, {"answer": "Rides", "consent_read": "y", **args},
                   get_url=f"{url}?prompt=1&source=paper&language=en")
    assert first.status_code == 303
    person = db.execute("SELECT id FROM participants").fetchone()[0]
    db.execute("UPDATE participants SET withdrawn_at = ? WHERE id = ?", (queries.now(), person))
    db.execute("DELETE FROM responses WHERE participant_id = ?", (person,))
    db.conn.commit()
    before = tables(db)
    again = submit(as_facilitator, url, {"answer": "Food", "consent_read": "y", "same_person": "y", **args},
                   get_url=f"{url}?prompt=1&source=paper&language=en")
    assert again.status_code == 400
    assert "has withdrawn" in again.get_data(as_text=True)
    assert tables(db) == before
