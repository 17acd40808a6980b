"""The guard on every vote, a resident's own from their phone or one a notetaker types in: only a participant of this
session who has not withdrawn votes, only on this question's approved statements (or, for a resident, their own still
waiting), only Agree, Disagree or Pass, and a refused vote stores nothing. Ids are above 256, as in a database that has
run for a while (tests/factories.py, high_ids)."""
from __future__ import annotations

import pytest

from facilitation import live_queries as lq
from listening import queries
from listening import statements as st
from listening import tables as tb
from tests.factories import every_table, high_ids, make_participant, make_session, user_id


def react_session(db):
    """An open session with a react question of two approved statements and an open question."""
    found = make_session(db, status="draft", prompts=[{"kind": "react", "text": "What should the clinic do?"},
                                                      {"kind": "react", "text": "And the library?"}])
    react, other = queries.prompts_for_session(db, found["id"])
    ids = [st.add_statement(db, found["id"], react["id"], language="en", body=f"Statement {i}") for i in range(2)]
    elsewhere = st.add_statement(db, found["id"], other["id"], language="en", body="Open on Sundays")
    queries.set_status(db, found["id"], "open")
    found = queries.session_by_id(db, found["id"])
    found.update(react=react, other=other, statements=ids, elsewhere=elsewhere)
    return found


@pytest.fixture
def two(db, make_user):
    """Two open react sessions, a resident in each, and a facilitator, all with ids above 256."""
    high_ids(db)
    first, second = react_session(db), react_session(db)
    return {"first": first, "second": second, "mine": make_participant(db, first),
            "theirs": make_participant(db, second), "staff": user_id(db, make_user("facilitator"))}


def vote(db, found, person_id, statement_id, value=1, nonce="vote-guard-0001"):
    """A resident's vote from their phone, through the function every phone vote goes through."""
    return st.cast_vote(db, session_id=found["id"], participant_id=person_id, statement_id=statement_id, vote=value,
                        nonce=nonce, language="en")


def typed_in(db, found, staff, votes, *, participant_id=None, table_id=None, prompt=None, nonce="typed-0001"):
    """A notetaker's votes for one person, through the function the votes page calls (one transaction)."""
    return lq.enter_votes(db, found["id"], prompt_id=(prompt or found["react"])["id"], votes=votes, language="en",
                          source="paper", user_id=staff, nonce=nonce, table_id=table_id, participant_id=participant_id)


def test_a_resident_of_another_session_cannot_vote_here_whichever_session_is_older(db, two):
    """A phone vote naming another session's participant is refused both ways round, and nothing is written."""
    before = every_table(db)
    with pytest.raises(ValueError, match="cannot take part"):
        vote(db, two["first"], two["theirs"].id, two["first"]["statements"][0])
    with pytest.raises(ValueError, match="cannot take part"):
        vote(db, two["second"], two["mine"].id, two["second"]["statements"][0])
    assert every_table(db) == before


def test_staff_cannot_type_votes_in_for_a_person_of_another_session_or_one_who_withdrew(db, two):
    """"Same person" naming another session's participant (either way round), one who never existed, or a withdrawn one
    stores nothing."""
    before = every_table(db)
    for found, person in ((two["first"], two["theirs"]), (two["second"], two["mine"])):
        with pytest.raises(ValueError, match="cannot take part"):
            typed_in(db, found, two["staff"], {found["statements"][0]: 1}, participant_id=person.id)
    for made_up in (987654, 0):
        with pytest.raises(ValueError, match="cannot take part"):
            typed_in(db, two["first"], two["staff"], {two["first"]["statements"][0]: 1}, participant_id=made_up)
        with pytest.raises(ValueError, match="cannot take part"):
            vote(db, two["first"], made_up, two["first"]["statements"][0])
    queries.withdraw(db, two["mine"].receipt)
    before = every_table(db)
    with pytest.raises(ValueError, match="cannot take part"):
        typed_in(db, two["first"], two["staff"], {two["first"]["statements"][0]: 1}, participant_id=two["mine"].id)
    with pytest.raises(ValueError, match="cannot take part"):
        vote(db, two["first"], two["mine"].id, two["first"]["statements"][0])
    assert every_table(db) == before


def test_a_resident_votes_on_their_own_waiting_statement_but_nobody_else_does(db, two):
    """A resident's own statement, still waiting for the team, takes their vote (ids past 256); another resident's
    vote on it, or staff typing one in, is refused."""
    found, mine = two["first"], two["mine"]
    own = st.propose_statement(db, session_id=found["id"], prompt_id=found["react"]["id"], participant_id=mine.id,
                               language="en", body="Longer opening hours", nonce="own-0001").id
    assert vote(db, found, mine.id, own, nonce="own-vote-1").id is not None
    other = make_participant(db, found)
    before = every_table(db)
    with pytest.raises(ValueError, match="cannot be voted on"):
        vote(db, found, other.id, own, nonce="other-vote-1")
    with pytest.raises(ValueError, match="cannot be voted on"):
        typed_in(db, found, two["staff"], {own: 1}, participant_id=mine.id)
    assert every_table(db) == before


def test_staff_votes_go_only_to_this_questions_approved_statements(db, two):
    """A typed-in vote on another question's statement, another session's, or one waiting, stores no person and no vote."""
    found = two["first"]
    waiting = st.propose_statement(db, session_id=found["id"], prompt_id=found["react"]["id"],
                                   participant_id=two["mine"].id, language="en", body="Waiting", nonce="wait-0001").id
    before = every_table(db)
    for statement_id in (found["elsewhere"], two["second"]["statements"][0], waiting):
        with pytest.raises(ValueError, match="cannot be voted on"):
            typed_in(db, found, two["staff"], {found["statements"][0]: 1, statement_id: -1})
    # The other way round: on the later question, a statement of the earlier one.
    with pytest.raises(ValueError, match="cannot be voted on"):
        typed_in(db, found, two["staff"], {found["elsewhere"]: 1, found["statements"][0]: -1}, prompt=found["other"])
    assert every_table(db) == before


def test_staff_votes_need_a_vote_a_react_question_and_a_table_of_this_session(db, two):
    """No vote at all, a question of another session, a table of another session, or a value that is not Agree, Disagree
    or Pass: refused, and not even the person (their verbal consent) is stored."""
    found, second = two["first"], two["second"]
    theirs = tb.add_table(db, second["id"], name="Table 1", language="en")
    before = every_table(db)
    with pytest.raises(ValueError, match="at least one vote"):
        typed_in(db, found, two["staff"], {})
    with pytest.raises(ValueError, match="not a react or ideas question"):
        typed_in(db, found, two["staff"], {found["statements"][0]: 1}, prompt=second["react"])
    with pytest.raises(ValueError, match="not one of this session's"):
        typed_in(db, found, two["staff"], {found["statements"][0]: 1}, table_id=theirs)
    for value in (2, -2):
        with pytest.raises(ValueError, match="1, -1 or 0"):
            typed_in(db, found, two["staff"], {found["statements"][0]: value})
    assert every_table(db) == before
    ours = tb.add_table(db, found["id"], name="Table 1", language="en")
    entered = typed_in(db, found, two["staff"], {found["statements"][0]: 1, found["statements"][1]: 0}, table_id=ours)
    assert entered.response_id == 2
    stored = db.execute("SELECT statement_id, vote, table_id, entered_by, source FROM votes ORDER BY statement_id").fetchall()
    assert [tuple(r) for r in stored] == [(found["statements"][0], 1, ours, two["staff"], "paper"),
                                         (found["statements"][1], 0, ours, two["staff"], "paper")]


def test_a_person_typed_in_consented_aloud_to_taking_part_and_nothing_more(db, two):
    """The person staff type votes in for is recorded as agreeing aloud (staff_verbal, by whom, in which language), with
    no contact permission and no quote permission unless ticked; in a language the session has no statement for,
    nothing is stored."""
    found = two["first"]
    entered = typed_in(db, found, two["staff"], {found["statements"][0]: -1})
    consent = db.execute("SELECT method, recorded_by, language, contact_ok, quote_ok FROM consents WHERE participant_id = ?",
                         (entered.participant_id,)).fetchone()
    assert tuple(consent) == ("staff_verbal", two["staff"], "en", 0, 0)
    assert queries.participant_by_receipt(db, entered.receipt)["id"] == entered.participant_id
    before = every_table(db)
    with pytest.raises(ValueError, match="No consent statement"):
        lq.enter_votes(db, found["id"], prompt_id=found["react"]["id"], votes={found["statements"][0]: 1}, language="fr",
                       source="paper", user_id=two["staff"], nonce="typed-fr-01")
    assert every_table(db) == before
