"""Design sessions in the synthesis reports: opinion groups, consensus and priorities, under the same disclosure control."""
import io
import json

import pytest
from bs4 import BeautifulSoup
from docx import Document

from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries
from tests.design.test_opinions_pages import two_camps, written_by_a_resident
from tests.factories import make_participant, user_id


def export(db, found, fmt: str, language: str = "en") -> str:
    """Export the session's report in a format and return its text (Word: every paragraph and cell)."""
    buffer = io.BytesIO()
    reporting.export(db, found["id"], buffer, fmt=fmt, language=language, user_id=None)
    if fmt == "docx":
        document = Document(io.BytesIO(buffer.getvalue()))
        return "\n".join([p.text for p in document.paragraphs]
                         + [c.text for t in document.tables for r in t.rows for c in r.cells])
    return buffer.getvalue().decode("utf-8")


def test_the_html_report_shows_both_groups_their_sizes_and_the_consensus(db, make_user):
    """Two camps of 12 give two groups sized 12 and the statement everyone agreed on as consensus."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    soup = BeautifulSoup(export(db, found, "html"), "html.parser")
    section = soup.find("section", id="decided")
    assert section.find("h2").get_text() == "What people decided together"
    [groups] = [t for t in section.find_all("table") if t.caption.get_text().endswith("Opinion groups")]
    assert [row.find("td").get_text() for row in groups.tbody.find_all("tr")] == ["12", "12"]
    [consensus] = [t for t in section.find_all("table") if t.caption.get_text() == "Consensus: what every group agreed on"]
    assert [row.th.get_text() for row in consensus.tbody.find_all("tr")] == ["Idea 6"]
    assert any(t.caption.get_text() == "Priority group: Black [en], compared with everyone" for t in section.find_all("table"))


@pytest.mark.parametrize("fmt", ["html", "md", "docx"])
def test_a_residents_statement_is_quoted_in_reports_only_with_their_quote_permission(db, make_user, fmt):
    """A consensus statement a resident wrote without allowing quoting never appears in a report; a note stands in."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    written_by_a_resident(db, found, ids[6], quote_ok=False, quote_scope=None)
    text = export(db, found, fmt)
    assert "Idea 6" not in text and "not quoted: its author did not allow quoting" in text
    written_by_a_resident(db, found, ids[6], quote_ok=True, quote_scope="reports")
    assert "Idea 6" in export(db, found, fmt)


def test_a_small_priority_group_shows_no_figures_in_the_report(db, make_user):
    """With 6 of the priority group voting (threshold 10), the report says so and prints none of their shares."""
    found, ids = two_camps(db, user_id(db, make_user("planner")), priority_in_first=6)
    soup = BeautifulSoup(export(db, found, "html"), "html.parser")
    assert "Fewer than 10 people of this group voted, so nothing about them is shown." in soup.get_text()
    assert not [t for t in soup.find_all("table") if t.caption.get_text().startswith("Priority group:")]


def test_priorities_appear_with_shares_and_a_question_few_answered_is_withheld_and_named(db, make_user):
    """A ranking twelve people answered shows Borda points, shares and first choices; a dot vote three answered is withheld."""
    from tests.factories import make_session

    found = make_session(db, prompts=[
        {"kind": "rank", "text": "Rank these", "options": ["Clinic hours", "Bus pass", "Doulas"]},
        {"kind": "dots", "text": "Spread your dots", "options": ["Clinic hours", "Bus pass"]},
    ])
    rank, dots = queries.prompts_for_session(db, found["id"])
    clinic, bus, doulas = (o["id"] for o in rank["options"])
    for n in range(12):
        person = make_participant(db, found)
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=rank["id"],
                              nonce=f"r-{n}", language="en", choices=[clinic, bus, doulas] if n < 8 else [bus, clinic, doulas])
        if n < 3:
            queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=dots["id"],
                                  nonce=f"d-{n}", language="en", choices=[dots["options"][0]["id"]] * 5)
    soup = BeautifulSoup(export(db, found, "html"), "html.parser")
    [table] = [t for t in soup.find("section", id="decided").find_all("table") if "Rank these" in t.caption.get_text()]
    rows = [[c.get_text() for c in row.find_all(["th", "td"])] for row in table.tbody.find_all("tr")]
    assert rows[0][:3] == ["Clinic hours [en]", str(8 * 3 + 4 * 2), f"{round(100 * 32 / 72)}%"]
    assert [r[3] for r in rows] == ["*", "*", "0"]  # 8 and 4 first choices are below 10: both hidden
    assert "Spread your dots" not in soup.find("section", id="decided").get_text()
    assert "Not shown, because fewer than 10 people answered" in soup.get_text() and "Spread your dots" in soup.get_text()


def test_the_json_export_still_lists_every_vote(db, make_user):
    """The internal JSON export keeps its votes next to the report tables."""
    found, ids = two_camps(db, user_id(db, make_user("planner")))
    data = json.loads(export(db, found, "json"))
    assert len(data["votes"]) == 24 * 7


def test_the_votes_csv_lists_every_vote_pseudonymously_and_is_logged(db, make_user):
    """The votes export has one row per vote with participants numbered in the file (never database ids), each
    person's group and "about you" answer, formulas neutralised, and the export is in the audit log."""
    import csv

    found, ids = two_camps(db, user_id(db, make_user("planner")))
    statement = db.execute("SELECT id FROM statements WHERE id = ?", (ids[0],)).fetchone()[0]
    db.execute("UPDATE statements SET body = '=HYPERLINK(\"x\")' WHERE id = ?", (statement,))
    db.conn.commit()
    buffer = io.BytesIO()
    name = reporting.export(db, found["id"], buffer, fmt="votes", language="en", user_id=None)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert name.endswith("-votes-internal.csv") and len(rows) == 24 * 7
    assert {r["participant"] for r in rows} == {f"P{n}" for n in range(1, 25)}
    assert {r["vote"] for r in rows} == {"agree", "disagree"} and {r["group"] for r in rows} <= {"A", "B"}
    assert {r["about_race_ethnicity"] for r in rows} == {"Black [en]", "Other [en]"}
    assert all(r["statement_text"].startswith("'=") for r in rows if r["statement"] == f"S{statement}")
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND detail LIKE 'format=votes%'").fetchone()[0] == 1


def test_the_export_page_offers_votes_only_for_a_design_session(as_planner, db, make_user):
    """A session with a react question offers "Votes on statements (CSV)", which downloads; a listening session does not."""
    from tests.conftest import form_data, page

    found, ids = two_camps(db, user_id(db, make_user("planner")))
    shown = as_planner.get(f"/staff/review/{found['id']}/export")
    assert page(shown).find("button", attrs={"name": "format", "value": "votes"}) is not None
    data = form_data(shown, 1)
    data["format"] = "votes"
    response = as_planner.post(f"/staff/review/{found['id']}/export", data=data)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data().decode("utf-8-sig").startswith("participant,question,statement")
    from tests.factories import make_session

    plain = make_session(db, created_by=user_id(db, make_user("planner")))
    assert page(as_planner.get(f"/staff/review/{plain['id']}/export")).find(
        "button", attrs={"name": "format", "value": "votes"}) is None
