"""Report thresholds: every output at exactly threshold - 1 and threshold, for the default 10 and a
planner's 11, through the web pages and each export format (issue 18)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from docx import Document
from openpyxl import load_workbook

from analysis import disclosure
from listening.accounts import create_user
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening.cli import cli
from tests.conftest import download, page, sign_in, submit
from tests.factories import share
from tests.review.small_counts import build, read_markdown

PLANNER = ("edge@example.org", "a long password")


def edge_session(db, t: int):
    """A session with groups and themes of exactly t - 1 and t (and two of t - 1, so those hide each other).

    About question: Black t - 1, White t - 1, Asian t, Latina 30. Themes: "Rides" and "Doulas"
    of t - 1 answers, "Food" of exactly t, "Clinics" of the rest.
    """
    groups = ["Black"] * (t - 1) + ["White"] * (t - 1) + ["Asian"] * t + ["Latina"] * 30
    people = [{"about": [g]} for g in groups]
    themes = ["Rides"] * (t - 1) + ["Doulas"] * (t - 1) + ["Food"] * t
    themes += ["Clinics"] * (len(people) - len(themes))
    answers = list(enumerate(themes))
    made = build(db, people=people, answers=answers, about=[["Black", "White", "Asian", "Latina"]],
                 threshold=None if t == disclosure.DEFAULT_THRESHOLD else t)
    return made


@pytest.fixture(params=[10, 11], ids=["default-10", "planner-11"])
def edge(request, db):
    """The edge session at the default threshold and at a threshold a planner raised to 11, shared with the planner."""
    create_user(db, PLANNER[0], PLANNER[1], "planner")
    made = edge_session(db, request.param)
    share(db, made.session, PLANNER[0])
    return made, request.param


def people_rows(rows) -> dict[str, str]:
    """Return a people table's rows as group -> count cell."""
    return {r[0]: r[1] for r in rows}


def assert_edge(counts: dict[str, str], t: int) -> None:
    """Groups of t - 1 read as the mark, the group of exactly t reads t."""
    assert counts["Black [en]"] == "*" and counts["White [en]"] == "*"
    assert counts["Asian [en]"] == str(t)
    assert counts["Latina [en]"] == "30"


def test_markdown_report_at_the_threshold(edge, db):
    """Markdown: the group of t - 1 is hidden, exactly t is shown; theme sizes likewise."""
    made, t = edge
    buffer = io.BytesIO()
    reporting.export(db, made.session["id"], buffer, fmt="md", language="en")
    read = read_markdown(buffer.getvalue().decode("utf-8"))
    assert read.people == 2 * (t - 1) + t + 30
    assert_edge(people_rows(read.tables["About question 1 [en]"][1]), t)
    assert read.sizes["Rides"] is None and read.sizes["Doulas"] is None and read.sizes["Food"] == t


def test_html_and_word_reports_at_the_threshold(client, edge, db):
    """HTML and Word, downloaded from the web as a planner, hide t - 1 and show t, like Markdown."""
    made, t = edge
    sign_in(client, *PLANNER)
    html = page(download(client, made.session["id"], "html"))
    table = next(tb for tb in html.select("table") if tb.caption.get_text(strip=True) == "About question 1 [en]")
    assert_edge({r.th.get_text(strip=True): r.select("td")[0].get_text(strip=True) for r in table.select("tbody tr")}, t)
    sizes = {s.h3.get_text(strip=True): s.p.get_text(" ", strip=True) for s in html.select("section.theme")}
    assert sizes["Food"].startswith(f"{t} answers") and sizes["Rides"].startswith("Number of answers hidden")
    response = download(client, made.session["id"], "docx")
    rows = [[c.text for c in row.cells] for tb in Document(io.BytesIO(response.data)).tables for row in tb.rows]
    assert_edge({r[0]: r[1] for r in rows if len(r) == 3}, t)


def test_review_page_at_the_threshold(client, edge, db):
    """The planners' "Who was heard" page hides t - 1 and shows t; the theme list says which sizes reports hide."""
    made, t = edge
    sign_in(client, *PLANNER)
    shown = page(client.get(f"/staff/review/{made.session['id']}/heard"))
    table = next(tb for tb in shown.select("table.data") if tb.caption.get_text(strip=True) == "About question 1 [en]")
    assert_edge({r.th.get_text(strip=True): r.select("td")[0].get_text(strip=True) for r in table.select("tbody tr")}, t)
    cards = {c.h3.a.get_text(strip=True): c.select_one("p.small").get_text(" ", strip=True)
             for c in page(client.get(f"/staff/review/{made.session['id']}")).select("article.theme-card")}
    assert "reports show this number as *" in cards["Rides"] and "reports show" not in cards["Food"]


def test_data_exports_at_the_threshold(client, edge, db):
    """Codebook CSV, Excel and JSON give a theme of t - 1 answers as hidden and one of t as t."""
    made, t = edge
    sign_in(client, *PLANNER)
    sid = made.session["id"]
    codebook = {r["label"]: r["answers"] for r in csv.DictReader(io.StringIO(download(client, sid, "codebook").data.decode("utf-8-sig")))}
    assert codebook["Rides"] == "*" and codebook["Food"] == str(t)
    book = load_workbook(io.BytesIO(download(client, sid, "xlsx").data))
    sheet = {row[1]: row[4] for row in book["Codebook"].iter_rows(min_row=2, values_only=True)}
    assert sheet["Rides"] == "*" and sheet["Food"] == t
    data = json.loads(download(client, sid, "json").data)
    sizes = {c["label"]: c["answers"] for c in data["codebook"]}
    assert sizes["Rides"] is None and sizes["Food"] == t and data["hidden_below"] == t
    assert data["session"]["participants"] == 2 * (t - 1) + t + 30


def test_command_line_export_at_the_threshold(runner, edge, db, tmp_path):
    """`chorus export CODE --format md` prints the same hidden and shown counts as the web."""
    made, t = edge
    out = tmp_path / "r.md"
    result = runner.invoke(cli, ["export", made.session["code"], "--format", "md", "--output", str(out)])
    assert result.exit_code == 0, result.output
    read = read_markdown(out.read_text(encoding="utf-8"))
    assert_edge(people_rows(read.tables["About question 1 [en]"][1]), t)


def test_residents_page_at_the_threshold(client, edge, db):
    """The residents' page shows a reviewed theme of t answers as t, and one of t - 1 without its number."""
    made, t = edge
    sid = made.session["id"]
    for label in ("Rides", "Food"):
        synthesis.set_reviewed(db, sid, made.themes[label], True, user_id=None)
    synthesis.save_settings(db, sid, published=True)
    shown = page(client.get(f"/s/{made.session['code']}/results?lang=en"))
    sizes = {a.h3.get_text(strip=True): a.select_one("p.small").get_text(strip=True) for a in shown.select("article")}
    assert sizes == {"Food": f"{t} answers", "Rides": "Number of answers not shown, to protect the people who gave them"}
    assert [a.h3.get_text(strip=True) for a in shown.select("article")] == ["Food", "Rides"]


@pytest.mark.parametrize("t", [10, 11])
def test_a_session_of_threshold_minus_one_people_shows_no_groups(db, t):
    """t - 1 people: "fewer than t people", no table by group; t people: the number and the tables."""
    for n, expect in ((t - 1, None), (t, t)):
        made = build(db, people=[{"about": ["Black"]}] * n, answers=[(i, "Rides") for i in range(n)],
                     threshold=None if t == 10 else t)
        buffer = io.BytesIO()
        reporting.export(db, made.session["id"], buffer, fmt="md", language="en")
        read = read_markdown(buffer.getvalue().decode("utf-8"))
        assert read.people == expect
        assert ("About question 1 [en]" in read.tables) == (expect is not None)
        if expect is None:
            assert "Fewer than %d people took part." % t in buffer.getvalue().decode("utf-8")


def test_a_planner_can_raise_the_threshold_but_not_lower_it(client, db):
    """The settings form accepts 11 (logged), refuses 9 and 5 with a message, and never stores below 10."""
    create_user(db, PLANNER[0], PLANNER[1], "planner")
    made = build(db, people=[{"about": ["Black"]}] * 12, answers=[(i, "Rides") for i in range(12)])
    share(db, made.session, PLANNER[0])
    sign_in(client, *PLANNER)
    url = f"/staff/review/{made.session['id']}/heard"
    options = [o["value"] for o in page(client.get(url)).select("#threshold option")]
    assert options == ["10", "11"]
    for value in ("9", "5"):
        refused = submit(client, url, {"what": "settings", "threshold": value, "names": ""}, form_index=-1)
        assert refused.status_code == 303
        assert synthesis.settings(db, made.session["id"])["threshold"] == 10
    assert "from 10 to 11" in page(client.get(url)).select_one(".flash, .alert, [role=alert], .error").get_text()
    submit(client, url, {"what": "settings", "threshold": "11", "names": ""}, form_index=-1)
    assert synthesis.settings(db, made.session["id"])["threshold"] == 11
    logged = db.execute("SELECT detail FROM audit_log WHERE action = 'synthesis_settings' ORDER BY id DESC").fetchone()
    assert logged[0] == "threshold=11"
    with pytest.raises(ValueError):
        synthesis.save_settings(db, made.session["id"], threshold=9)


def test_the_floor_migration_raises_old_thresholds_logs_them_and_holds(tmp_path):
    """m006 raises a stored threshold of 5 to 10, logs it per session, and refuses a lower one from then on."""
    import sqlite3

    from listening.db import connect
    from listening.migrations import migrations
    from tests.factories import make_session

    db = connect(str(tmp_path / "old.db"))
    migrations.apply(db, stop_before="m007_threshold_floor")
    session = make_session(db)
    db.execute("INSERT INTO synthesis_settings (session_id, threshold, updated_at) VALUES (?, 5, '2026-01-01')",
               (session["id"],))
    db.conn.commit()
    migrations.apply(db)
    assert db.execute("SELECT threshold FROM synthesis_settings").fetchone()[0] == 10
    logged = [tuple(r) for r in db.execute("SELECT action, target, detail FROM audit_log WHERE action = 'synthesis_settings'")]
    assert logged == [("synthesis_settings", session["code"], "threshold=10 (raised from 5: counts below 10 are hidden everywhere)")]
    with pytest.raises(sqlite3.IntegrityError, match="cannot be below 10"):
        db.execute("UPDATE synthesis_settings SET threshold = 9")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be below 10"):
        db.execute("INSERT INTO synthesis_settings (session_id, threshold, updated_at) VALUES (?, 7, 'x')",
                   (make_session(db)["id"],))
