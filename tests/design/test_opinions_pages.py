"""Opinion groups in the planners' pages: groups, consensus, divisive statements, priority groups under disclosure control."""
import pytest

from listening import queries
from listening import statements as st
from tests.conftest import page, text_of
from tests.factories import make_participant, make_session, user_id


def two_camps(db, owner: int, *, camp=12, priority_in_first=11):
    """Create a react session where two camps of `camp` people vote opposite ways on six statements and all agree on a seventh.

    The first `priority_in_first` people of the first camp said (about themselves) they belong to the priority group.
    """
    found = make_session(db, status="draft", created_by=owner, prompts=[
        {"kind": "about", "text": "Who are you?", "demographic": "race_ethnicity", "options": ["Black", "Other"]},
        {"kind": "react", "text": "What should change?"},
    ])
    about, react = queries.prompts_for_session(db, found["id"])
    ids = [st.add_statement(db, found["id"], react["id"], language="en", body=f"Idea {i}",
                            translations={"es": f"Idea es {i}"}) for i in range(7)]
    queries.set_status(db, found["id"], "open")
    db.execute("INSERT INTO priority_groups (session_id, prompt_id, option_id) VALUES (?, ?, ?)",
               (found["id"], about["id"], about["options"][0]["id"]))
    db.conn.commit()
    for person_index in range(2 * camp):
        person = make_participant(db, found)
        first = person_index < camp
        option = about["options"][0 if person_index < priority_in_first else 1]["id"]
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=about["id"],
                              nonce=f"about-{person_index:03d}", language="en", choices=[option])
        for j, sid in enumerate(ids):
            vote = 1 if j == 6 else (1 if (j < 3) == first else -1)
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid, vote=vote,
                         nonce=f"v-{person_index:03d}-{j}", language="en")
    return found, ids


def test_opinions_page_shows_two_groups_and_the_statement_everyone_agreed_on(as_planner, db, make_user):
    """Two camps voting opposite ways give two groups of 12; the statement all agreed on is consensus."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    response = as_planner.get(f"/staff/review/{found['id']}/opinions")
    assert response.status_code == 200
    soup = page(response)
    sizes = [row.find("td").get_text(strip=True) for row in soup.find_all("table")[0].find("tbody").find_all("tr")]
    assert sizes == ["12", "12"]
    headings = [h.get_text(strip=True) for h in soup.find_all("h3")]
    consensus = soup.find("h3", string="Consensus: what every group agreed on").find_next("ul")
    assert "Idea 6" in consensus.get_text()
    assert "Priority group: Black [en], compared with everyone" in headings


def test_a_priority_group_below_the_threshold_shows_nothing(as_planner, db, make_user):
    """With fewer than 10 of the priority group voting, the page says so and shows none of their figures."""
    found, ids = two_camps(db, user_id(db, make_user("planner")), priority_in_first=6)
    response = as_planner.get(f"/staff/review/{found['id']}/opinions")
    assert "Fewer than 10 people of this group voted, so nothing about them is shown." in text_of(response)


def test_projector_shows_groups_and_consensus_never_individuals(as_planner, db, make_user):
    """On the room's screen a react question shows its statement count, group sizes and the consensus statement, no one's vote."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    react = queries.prompts_for_session(db, found["id"])[1]
    db.execute("UPDATE sessions SET mode = 'live', current_prompt_id = ?, answering_open = 1 WHERE id = ?", (react["id"], found["id"]))
    db.conn.commit()
    soup = page(as_planner.get(f"/staff/sessions/{found['id']}/projector/panel"))
    assert [c.get_text(strip=True) for c in soup.select("ol.groups .count")] == ["12", "12"]
    # Each language's count is its own words: "7 statements 7 [es]...", never run together.
    count = soup.find(class_="react-count")
    assert "7 statements" in count.get_text() and count.select_one(".main").next_sibling == " "
    consensus = soup.select("ul.consensus li")
    assert len(consensus) == 1 and "Idea 6" in consensus[0].get_text()
    assert "Idea es 6" in consensus[0].get_text()


def written_by_a_resident(db, found, statement_id, *, quote_ok, quote_scope):
    """Make a statement a resident's own (approved), whose consent gave `quote_ok` with `quote_scope`."""
    author = make_participant(db, found, quote_ok=quote_ok)
    db.execute("UPDATE consents SET quote_ok = ?, quote_scope = ? WHERE participant_id = ?", (int(quote_ok), quote_scope, author.id))
    db.execute("UPDATE statements SET participant_id = ?, origin = 'resident' WHERE id = ?", (author.id, statement_id))
    db.conn.commit()


@pytest.mark.parametrize("quote_ok, quote_scope, shown", [
    (False, None, False), (True, "reports", False), (True, None, False), (True, "screen_and_reports", True),
])
def test_a_residents_statement_goes_on_the_screen_only_if_its_author_allowed_their_words_there(
        as_planner, db, make_user, quote_ok, quote_scope, shown):
    """A consensus statement a resident wrote shows its words on the projector only under a quote permission that named
    the room's screen; otherwise the screen says, in every language, that its author did not allow it."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    written_by_a_resident(db, found, ids[6], quote_ok=quote_ok, quote_scope=quote_scope)
    react = queries.prompts_for_session(db, found["id"])[1]
    db.execute("UPDATE sessions SET mode = 'live', current_prompt_id = ?, answering_open = 1 WHERE id = ?", (react["id"], found["id"]))
    db.conn.commit()
    soup = page(as_planner.get(f"/staff/sessions/{found['id']}/projector/panel"))
    [consensus] = soup.select("ul.consensus li")
    assert ("Idea 6" in consensus.get_text()) is shown and ("Idea es 6" in consensus.get_text()) is shown
    if not shown:
        assert "did not allow their words on the room's screen" in consensus.get_text()
        assert {span["lang"] for span in consensus.select("span[lang]")} == set(found["languages"])


def test_internal_exports_carry_votes_with_pseudonymous_participants_and_groups(as_planner, db, make_user):
    """The JSON and Excel exports list every vote with a participant number (never the database id), its group and segments."""
    import io
    import json

    from openpyxl import load_workbook

    from tests.conftest import download

    found, ids = two_camps(db, user_id(db, make_user("planner")))
    data = json.loads(download(as_planner, found["id"], "json").get_data())
    votes = data["votes"]
    assert len(votes) == 24 * 7
    assert {v["participant"] for v in votes} == {f"P{n}" for n in range(1, 25)}
    assert {v["group"] for v in votes} == {"A", "B"}
    assert votes[0]["vote"] in ("agree", "disagree") and votes[0]["statement"].startswith("S")
    assert set(votes[0]["segments"]) == {"about_race_ethnicity"}
    book = load_workbook(io.BytesIO(download(as_planner, found["id"], "xlsx").get_data()))
    assert book["Votes"].max_row == 24 * 7 + 1


def test_the_method_note_is_in_the_page_and_report_language(as_planner, db, make_user):
    """The opinion groups' method note is the engine's English only in English: a Spanish page and a Spanish
    report say it in Spanish (both printed "Method: principal component analysis..." in English)."""
    from tests.conftest import download

    found, ids = two_camps(db, user_id(db, make_user("planner")))
    english = text_of(as_planner.get(f"/staff/review/{found['id']}/opinions?lang=en"))
    assert "Method: principal component analysis" in english
    spanish = text_of(as_planner.get(f"/staff/review/{found['id']}/opinions?lang=es"))
    assert "principal component" not in spanish and "Un programa de computadora hizo un borrador de los grupos" in spanish
    for fmt in ("md", "html"):
        report = download(as_planner, found["id"], fmt, language="es").get_data(as_text=True)
        assert "principal component" not in report and "Un programa de computadora hizo un borrador de los grupos" in report, fmt
