"""Opinion groups' shares come only from counts the disclosure control publishes: a group large enough to show is
not described by a statement only one or two of its members voted on."""
import json

from analysis.review import queries as synthesis
from listening import queries
from listening import statements as st
from tests.conftest import page, text_of
from tests.design.test_design_reports import export
from tests.factories import make_participant, make_session, user_id


def camps_and_a_lone_vote(db, owner: int, camp: int = 12):
    """Two camps of `camp` people vote opposite ways on two statements; on a third only the first person of camp A
    voted (agreed) while all of camp B disagreed. Returns the session and the statements' ids."""
    found = make_session(db, status="draft", created_by=owner, prompts=[{"kind": "react", "text": "What should change?"}])
    [react] = queries.prompts_for_session(db, found["id"])
    ids = [st.add_statement(db, found["id"], react["id"], language="en", body=body)
           for body in ("Wider pavements", "Fewer parking spaces", "Rename the square")]
    queries.set_status(db, found["id"], "open")
    for n in range(2 * camp):
        person = make_participant(db, found)
        first = n < camp
        votes = {ids[0]: 1 if first else -1, ids[1]: -1 if first else 1}
        if n == 0:
            votes[ids[2]] = 1
        elif not first:
            votes[ids[2]] = -1
        for sid, vote in votes.items():
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid, vote=vote,
                         nonce=f"v-{n:03d}-{sid}", language="en")
    return found, ids


def lone_statement_line(soup):
    """Return the texts of the page's lines that describe the statement one person of group A voted on."""
    return [li.get_text(" ", strip=True) for li in soup.find_all("li") if "Rename the square" in li.get_text()]


def test_the_opinions_page_gives_no_share_drawn_from_one_vote(as_planner, db, make_user):
    """One member of a group of 12 agreed with a statement (the engine calls it representative of the group): the
    page neither lists it as what sets the group apart nor prints a share or a side for it; the big statements stay."""
    found, ids = camps_and_a_lone_vote(db, user_id(db, make_user("planner")))
    [view] = synthesis.opinion_views(db, found["id"], "en")
    assert any(r.statement == ids[2] and r.count == 1 for g in view.groups.groups for r in g.representative)
    soup = page(as_planner.get(f"/staff/review/{found['id']}/opinions"))
    groups = soup.find_all("table")[0]
    assert "Wider pavements" in groups.get_text() and "Rename the square" not in groups.get_text()
    for line in lone_statement_line(soup):
        assert "%" not in line and "group A" not in line


def test_reports_give_no_share_drawn_from_one_vote(db, make_user):
    """The report's groups table does not describe group A by a statement one of its members voted on."""
    found, ids = camps_and_a_lone_vote(db, user_id(db, make_user("planner")))
    text = export(db, found, "md")
    assert "Wider pavements" in text
    lines = [line for line in text.splitlines() if "Rename the square" in line]
    assert all("%" not in line and "group A" not in line for line in lines), lines


def test_a_residents_consensus_statement_goes_on_the_screen_through_the_sessions_redaction(as_planner, db, make_user):
    """A resident's statement the room agreed on shows on the projector as their ideas and the reports show it: a phone
    number they typed is removed, as on every other screen and report that quotes them."""
    from tests.design.test_opinions_pages import two_camps, written_by_a_resident

    found, ids = two_camps(db, user_id(db, make_user("planner")))
    db.execute("UPDATE statements SET body = 'Call the clinic line 919-555-0143 after hours' WHERE id = ?", (ids[6],))
    db.conn.commit()
    written_by_a_resident(db, found, ids[6], quote_ok=True, quote_scope="screen_and_reports")
    react = queries.prompts_for_session(db, found["id"])[1]
    db.execute("UPDATE sessions SET mode = 'live', current_prompt_id = ?, answering_open = 1 WHERE id = ?", (react["id"], found["id"]))
    db.conn.commit()
    [consensus] = page(as_planner.get(f"/staff/sessions/{found['id']}/projector/panel")).select("ul.consensus li")
    assert "Call the clinic line" in consensus.get_text() and "555-0143" not in consensus.get_text()


def test_an_ideas_one_dissenting_vote_is_not_printed_in_reports(db, make_user):
    """Twelve people voted on an idea, eleven agreeing and one disagreeing: the report prints neither the 1 nor the 11
    that would give it away (the room's total is known), as a choice question's counts are protected."""
    found = make_session(db, status="draft", created_by=user_id(db, make_user("planner")),
                         prompts=[{"kind": "ideas", "text": "Your ideas"}])
    [ideas] = queries.prompts_for_session(db, found["id"])
    idea = st.add_statement(db, found["id"], ideas["id"], language="en", body="A Sunday ride line")
    other = st.add_statement(db, found["id"], ideas["id"], language="en", body="Longer clinic hours")
    queries.set_status(db, found["id"], "open")
    for n in range(12):
        person = make_participant(db, found)
        st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=idea, vote=-1 if n == 0 else 1,
                     nonce=f"i-{n}", language="en")
        st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=other, vote=1 if n < 6 else -1,
                     nonce=f"o-{n}", language="en")
    rows = {line.split("|")[1].strip(): [c.strip().replace("\\*", "*") for c in line.split("|")[3:6]]
            for line in export(db, found, "md").splitlines() if "From phones" in line}
    ride = next(cells for words, cells in rows.items() if "ride line" in words)
    assert "1" not in ride and "11" not in ride
    assert next(cells for words, cells in rows.items() if "clinic hours" in words) == ["*", "*", "0"]
