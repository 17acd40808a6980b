"""Reports and exports: what they say, whom they quote, what they hide, and that each is logged."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from bs4 import BeautifulSoup
from docx import Document
from openpyxl import load_workbook

from analysis import assemble
from analysis.review import queries as synthesis
from analysis.review import reporting

from listening import queries
from listening.cli import cli
from tests.conftest import download, page, sign_in

CASE = re.compile(r"\(case (\d+)\)")


def render(db, heard, fmt: str, language: str = "en") -> bytes:
    """Export the fixture session in a format and return the bytes."""
    buffer = io.BytesIO()
    reporting.export(db, heard.session["id"], buffer, fmt=fmt, language=language, user_id=heard.planner_id)
    return buffer.getvalue()


def docx_text(data: bytes) -> str:
    """Return every paragraph and table cell of a Word document as one text."""
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def cases(text: str) -> set[int]:
    """Return the case numbers (each answer's unique mark) found in a text."""
    return {int(n) for n in CASE.findall(text)}


def unquotable_cases(heard) -> set[int]:
    """Return the case numbers of residents who did not allow quoting."""
    return cases(" ".join(heard.unquotable))


@pytest.fixture
def reviewed(themed, db):
    """The themed session with an insight and a statement on the largest theme, and it reviewed."""
    sid = themed.session["id"]
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    synthesis.rename_theme(db, sid, theme["id"], "Reviewed theme", user_id=themed.planner_id, definition="A definition.")
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    synthesis.add_insight(db, sid, "insight", "Insight about buses.", theme_id=theme["id"], user_id=themed.planner_id)
    synthesis.add_insight(db, sid, "hmw", "How might we bring care closer?", theme_id=None, user_id=themed.planner_id)
    return themed


def test_html_report_has_every_section_and_quotes_only_consented_people(reviewed, db):
    """The HTML report asks, counts, themes, equity views, statements and method; quotes are consented only."""
    soup = BeautifulSoup(render(db, reviewed, "html"), "html.parser")
    assert soup.html["lang"] == "en" and soup.html["dir"] == "ltr"
    assert [s["id"] for s in soup.select("main > section")][:3] == ["asked", "who", "themes"]
    assert {"equity", "hmw", "method"} <= {s["id"] for s in soup.select("main > section")}
    quotes = [q.get_text(strip=True) for q in soup.select("blockquote")]
    assert quotes and cases(" ".join(quotes)) and not cases(" ".join(quotes)) & unquotable_cases(reviewed)
    assert all(q.get("dir") == "auto" and q.get("lang") == "en" for q in soup.select("blockquote"))
    assert "Reviewed theme" in [h.get_text(strip=True) for h in soup.select("section.theme h3")]
    assert soup.select(".badge.draft") and soup.select(".badge.reviewed")
    assert "How might we bring care closer?" in [li.get_text(strip=True) for li in soup.select("#hmw li")]
    assert soup.select("img[alt]") and not soup.find("script")
    text = soup.get_text(" ")
    assert reviewed.withdrawn not in text and reviewed.hidden not in text and "HYPERLINK" not in text


def test_insights_and_statements_stay_apart_in_the_report_and_on_their_theme(reviewed, db):
    """Each insight and "how might we" statement is printed under its own heading, for the session and for its
    theme: an insight is never listed as a statement, nor a statement as an insight."""
    sid, planner = reviewed.session["id"], reviewed.planner_id
    theme = next(t for t in synthesis.active_themes(db, sid) if t["label"] == "Reviewed theme")
    synthesis.add_insight(db, sid, "insight", "Care is far from home.", theme_id=None, user_id=planner)
    synthesis.add_insight(db, sid, "hmw", "How might we run buses on Sundays?", theme_id=theme["id"], user_id=planner)

    report = reporting.build_report(db, sid, "en")

    assert (report.insights, report.hmw) == (("Care is far from home.",), ("How might we bring care closer?",))
    view = next(v for v in report.themes if v.label == "Reviewed theme")
    assert (view.insights, view.hmw) == (("Insight about buses.",), ("How might we run buses on Sundays?",))


def test_report_renders_in_another_language_with_right_to_left(reviewed, db):
    """A report in Spanish uses the Spanish session texts; the same code path sets dir=rtl for Arabic."""
    soup = BeautifulSoup(render(db, reviewed, "html", "es"), "html.parser")
    assert soup.html["lang"] == "es"
    assert "What helps you? [es]" in [li.get_text(strip=True) for li in soup.select("#asked li")]
    from listening.i18n import text_direction

    assert text_direction("ar") == "rtl"


def test_method_section_reads_in_the_reports_language(reviewed, db):
    """The engine's method note is English; other languages get a translated account of it."""
    english = BeautifulSoup(render(db, reviewed, "html"), "html.parser").select_one("#method").get_text(" ")
    spanish = BeautifulSoup(render(db, reviewed, "html", "es"), "html.parser").select_one("#method").get_text(" ")
    assert "Draft themes found by machine" in english
    assert "Draft themes found by machine" not in spanish
    assert "El programa (semilla 0) preparó un borrador de" in spanish
    assert "La versión en inglés de este informe describe cada paso completo." in spanish
    # The number of people is published, so the run's number of answers is printed as a number, not withheld.
    run = synthesis.latest_run(db, reviewed.session["id"])
    assert re.search(r"a partir de (\S+) respuestas", spanish).group(1) == str(run["answer_count"])


def test_docx_report_opens_and_quotes_only_consented_people(reviewed, db):
    """The Word report opens with python-docx, has its headings and tables, and quotes only consented people."""
    data = render(db, reviewed, "docx")
    document = Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "What we asked" in headings and "Who took part" in headings and "Reviewed theme" in headings
    assert "How these themes were made, and their limits" in headings
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert quotes and not cases(" ".join(quotes)) & unquotable_cases(reviewed)
    text = docx_text(data)
    assert not cases(text) & unquotable_cases(reviewed)
    assert reviewed.withdrawn not in text and reviewed.hidden not in text
    assert document.core_properties.language == "en" and document.tables


def test_markdown_report_quotes_only_consented_people(reviewed, db):
    """The Markdown report has the sections and no quote from anyone who did not allow quoting."""
    text = render(db, reviewed, "md").decode("utf-8")
    assert text.startswith("# What helps families")
    assert "## What we asked" in text and "Insight about buses." in text
    assert not cases(text) & unquotable_cases(reviewed)
    assert reviewed.withdrawn not in text and reviewed.hidden not in text


def test_small_groups_are_hidden_in_every_report_format(reviewed, db):
    """A group of 4 people is hidden behind the mark * (never shown as 4) in HTML, Markdown and Word."""
    soup = BeautifulSoup(render(db, reviewed, "html"), "html.parser")
    age = next(t for t in soup.select("table") if t.caption.get_text(strip=True) == "How old are you? [en]")
    cells = {r.th.get_text(strip=True): [td.get_text(strip=True) for td in r.select("td")] for r in age.select("tbody tr")}
    assert cells["30 or older [en]"] == ["*", ""]
    by_group = [t for t in soup.select("#equity table")]
    assert [t.caption.get_text(strip=True) for t in by_group][:2] == [
        "Language of the answer — answers in each theme", "How old are you? [en] — answers in each theme"]
    assert by_group and all(re.fullmatch(r"\*|0|\d\d+( \(\d+%\))?", td.get_text(strip=True))
                            for t in by_group for td in t.select("td"))
    markdown = render(db, reviewed, "md").decode("utf-8")
    assert "| 30 or older \\[en\\] | \\* |  |" in markdown  # brackets escaped: no text can make a link
    document = Document(io.BytesIO(render(db, reviewed, "docx")))
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    assert ["30 or older [en]", "*", ""] in rows
    assert not any(row[0] == "30 or older [en]" and row[1] == "4" for row in rows)


def test_xlsx_export_is_internal_and_neutralises_formulas(reviewed, db):
    """The workbook opens with openpyxl, says it is internal, carries every visible answer and defuses formulas."""
    book = load_workbook(io.BytesIO(render(db, reviewed, "xlsx")))
    assert book.sheetnames == ["About", "Answers", "Codebook"]
    assert "internal" in book["About"]["A1"].value.lower() and "internal" in book.properties.subject
    rows = list(book["Answers"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    texts = [row[header.index("text")] for row in body]
    assert len(body) == len(reviewed.quotable) + len(reviewed.unquotable)
    assert "'" + reviewed.formula in texts and reviewed.formula not in texts
    assert reviewed.withdrawn not in texts and reviewed.hidden not in texts
    assert all(row[0] == "internal — not for publication" for row in body)
    assert "about_age" in header
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "-", "@")) for row in rows for c in row)
    codebook = list(book["Codebook"].iter_rows(values_only=True))
    assert codebook[0][:3] == ("theme_id", "label", "definition") and any(r[1] == "Reviewed theme" for r in codebook)


def test_csv_and_json_exports_carry_every_visible_answer(reviewed, db):
    """The CSV and JSON answer exports carry non-quotable answers too, marked internal; formulas are defused in CSV."""
    rows = list(csv.DictReader(io.StringIO(render(db, reviewed, "csv").decode("utf-8-sig"))))
    assert {r["classification"] for r in rows} == {"internal — not for publication"}
    texts = [r["text"] for r in rows]
    assert set(reviewed.unquotable) - {reviewed.formula} <= set(texts)
    assert "'" + reviewed.formula in texts and reviewed.withdrawn not in texts and reviewed.hidden not in texts
    assert all(r["theme_status"] in ("theme", "other", "contentless", "off_topic") for r in rows)
    data = json.loads(render(db, reviewed, "json"))
    assert data["classification"] == "internal — not for publication"
    assert len(data["answers"]) == len(rows) and data["codebook"]
    assert {a["segments"].get("about_age") for a in data["answers"]} <= {"Under 30 [en]", "30 or older [en]", None}
    codebook = list(csv.DictReader(io.StringIO(render(db, reviewed, "codebook").decode("utf-8-sig"))))
    assert "Reviewed theme" in [r["label"] for r in codebook]


def test_file_names_say_internal_for_data_and_language_for_reports(reviewed, db):
    """Data exports are named internal; reports carry their language."""
    code = reviewed.session["code"]
    names = {fmt: reporting.export(db, reviewed.session["id"], io.BytesIO(), fmt=fmt, language="es")
             for fmt in ("csv", "xlsx", "json", "html", "docx", "md")}
    assert all("internal" in names[f] for f in ("csv", "xlsx", "json"))
    assert names["html"] == f"chorus-{code}-synthesis-es.html" and "internal" not in names["docx"]


def test_every_export_is_logged_from_the_web(client, reviewed, db):
    """Downloading a report from the web logs who exported what, and History shows it."""
    sign_in(client, "lead@example.org", "a long password")
    sid = reviewed.session["id"]
    response = download(client, sid, "docx", "es")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"] and "synthesis-es.docx" in response.headers["Content-Disposition"]
    entry = db.execute("SELECT user_id, detail FROM audit_log WHERE action = 'export' ORDER BY id DESC").fetchone()
    assert entry[0] == reviewed.planner_id and "format=docx" in entry[1] and "language=es" in entry[1]
    history = page(client.get(f"/staff/review/{sid}/history")).select("table.data")[1]
    assert "DOCX · Español · " in history.get_text() and "format=" not in history.get_text()
    bad = download(client, sid, "exe", "en")
    assert bad.status_code == 400 and page(bad).select_one(".alert")


def test_every_download_names_its_type_and_charset_once(client, reviewed, db):
    """Each report and export comes with one clean Content-Type: a text format names utf-8 once, never twice."""
    sign_in(client, "lead@example.org", "a long password")
    for fmt in ("html", "docx", "md", "csv", "xlsx", "json", "codebook"):
        response = download(client, reviewed.session["id"], fmt, "es")
        assert response.status_code == 200, fmt
        parameters = [part.strip() for part in response.headers["Content-Type"].split(";")[1:]]
        text = response.mimetype.startswith("text/")
        assert parameters == (["charset=utf-8"] if text else []), (fmt, response.headers["Content-Type"])


def test_cli_export_writes_the_file_and_logs_it(runner, reviewed, db, tmp_path):
    """`chorus export CODE --format xlsx --output F` writes a workbook and logs the export."""
    out = tmp_path / "answers.xlsx"
    result = runner.invoke(cli, ["export", reviewed.session["code"], "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).sheetnames[0] == "About"
    html = tmp_path / "r.html"
    result = runner.invoke(cli, ["export", reviewed.session["code"].lower(), "--format", "html", "--language", "es",
                                 "--output", str(html)])
    assert result.exit_code == 0, result.output
    assert BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").html["lang"] == "es"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND user_id IS NULL").fetchone()[0] == 2
    missing = runner.invoke(cli, ["export", "NOPE99", "--format", "md", "--output", str(tmp_path / "x.md")])
    wrong = runner.invoke(cli, ["export", reviewed.session["code"], "--format", "md", "--language", "ar",
                                "--output", str(tmp_path / "x.md")])
    assert missing.exit_code != 0 and "no session" in missing.output
    assert wrong.exit_code != 0 and "not one of" in wrong.output and "Traceback" not in wrong.output


def test_a_withdrawn_residents_answers_leave_every_format_after_withdrawal(themed, db):
    """Withdrawing after themes were drafted takes the answers out of the synthesis and every export."""
    text = themed.quotable[0]
    row = db.execute("SELECT participant_id FROM responses WHERE text = ?", (text,)).fetchone()
    # Give them a receipt we know, then withdraw with it.
    db.execute("UPDATE participants SET receipt_hash = ? WHERE id = ?", (queries.receipt_hash("LATERLEAVE01"), row[0]))
    db.conn.commit()
    queries.withdraw(db, "LATERLEAVE01")
    for fmt in ("html", "md", "csv", "json"):
        assert text not in render(db, themed, fmt).decode("utf-8-sig"), fmt
    assert text not in docx_text(render(db, themed, "docx"))


def test_charts_are_deterministic(reviewed, db):
    """The same data draws the same chart bytes, so reports can be compared."""
    from analysis import reports

    report = reporting.build_report(db, reviewed.session["id"], "en")
    assert reports.theme_chart(report) == reports.theme_chart(report)
    assert reports.theme_chart(report, fmt="png") == reports.theme_chart(report, fmt="png")


def test_neutralise_defuses_every_formula_start():
    """Cells starting with =, +, -, @, tab or carriage return get a leading apostrophe; others are unchanged."""
    from analysis.reports import neutralise

    assert [neutralise(v) for v in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "fine", 3]] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "fine", 3]


def test_one_hidden_count_in_a_line_always_hides_a_second():
    """One small count in a line also hides enough others that together they reach the threshold."""
    from analysis.disclosure import protect_line

    assert protect_line("x", "abc", [30, 4, 12]).counts == (30, None, None)
    assert protect_line("x", "abc", [30, 4, 3]).counts == (None, None, None)
    assert protect_line("x", "abc", [30, 0, 12]).counts == (30, 0, 12)


def test_arabic_word_report_runs_right_to_left(db):
    """An Arabic report marks its paragraphs right-to-left in Word and its HTML dir=rtl."""
    from tests.factories import make_session

    session = make_session(db, languages=("en", "ar"))
    buffer = io.BytesIO()
    reporting.export(db, session["id"], buffer, fmt="docx", language="ar")
    document = Document(io.BytesIO(buffer.getvalue()))
    assert all(p._p.pPr is not None and p._p.pPr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bidi") is not None for p in document.paragraphs)
    html = io.BytesIO()
    reporting.export(db, session["id"], html, fmt="html", language="ar")
    assert BeautifulSoup(html.getvalue(), "html.parser").html["dir"] == "rtl"


def test_arabic_chart_labels_are_joined_and_ordered_in_word_charts():
    """PNG charts (Word reports) get Arabic letters joined and in display order; SVG keeps text as text."""
    from analysis import reports

    label = "مواصلات إلى المواعيد"
    drawn = reports._drawn(label, "png")
    assert drawn != label and any("\ufe70" <= c <= "\ufeff" for c in drawn)  # contextual letter forms
    assert drawn.split()[0] != label.split()[0]  # last word first: display order
    assert reports._drawn(label, "svg") == label
    assert reports._drawn("Bus passes", "png") == "Bus passes"
    png = reports.representation_chart("من شارك", [reports.Bar(label, 40.0, 30.0)], fmt="png")
    assert png.startswith(b"\x89PNG")


def test_reports_and_the_residents_page_show_choice_results_with_small_counts_hidden(client, themed, db):
    """Choice answers are counted in every report format and on the residents' page; 'Walk' (3 people) and a withdrawn or hidden answer never show as a number."""
    from tests.factories import make_participant
    from tests.review.conftest import answer

    travel = themed.prompts[1]
    car, bus, walk = (o["id"] for o in travel["options"])
    for option, n in ((car, 12), (bus, 15), (walk, 3)):
        for _ in range(n):
            answer(db, themed.session, make_participant(db, themed.session), travel, choices=[option])
    leaving = make_participant(db, themed.session)
    answer(db, themed.session, leaving, travel, choices=[car])
    queries.withdraw(db, leaving.receipt)
    soup = BeautifulSoup(render(db, themed, "html"), "html.parser")
    [table] = [t for t in soup.select("#chosen table") if t.caption.get_text() == "How do you travel? [en]"]
    counts = {r.th.get_text().split(" [")[0]: r.select("td")[0].get_text() for r in table.select("tbody tr")}
    assert counts["Car"] in ("12", "*") and counts["Walk"] == "*" and list(counts.values()).count("*") >= 2
    assert counts["Bus"] in ("15", "*") and "How do you travel?" in render(db, themed, "md").decode()
    assert "How do you travel?" in docx_text(render(db, themed, "docx"))
    sid = themed.session["id"]
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    synthesis.save_settings(db, sid, published=True)
    shown = page(client.get(f"/s/{themed.session['code']}/results?lang=es"))
    items = [li.get_text(" ", strip=True) for li in shown.select("#chose ~ ul li")]
    assert items and not any(re.search(r"\b3 persona", i) for i in items)


def test_with_no_quotes_chosen_each_theme_quotes_the_engines_three_picks_in_its_order(reviewed, db):
    """Without a planner's choice, each theme in the report quotes three consented answers: the ones the engine
    picked as its quotes, in the engine's order, before any other."""
    sid = reviewed.session["id"]
    soup = BeautifulSoup(render(db, reviewed, "html"), "html.parser")
    sections = {s.select_one("h3").get_text(strip=True): s for s in soup.select("section.theme")}
    checked = 0
    for theme in synthesis.active_themes(db, sid):
        label = theme["label"]
        if theme["kind"] != "theme" or label not in sections:
            continue
        picks = [r[0] for r in db.execute(
            "SELECT r.text FROM theme_assignments a JOIN responses r ON r.id = a.response_id "
            "JOIN consents c ON c.participant_id = r.participant_id "
            "WHERE a.theme_id = ? AND a.quote IS NOT NULL AND c.quote_ok = 1 ORDER BY a.quote", (theme["id"],))]
        shown = [q.get_text(strip=True).strip("“”\"") for q in sections[label].select("blockquote")]
        assert len(shown) == 3 and not cases(" ".join(shown)) & unquotable_cases(reviewed)
        assert shown[:len(picks)] == picks[:3]
        checked += 1
    assert checked >= 2


def test_the_same_words_from_two_people_are_quoted_once(heard, db):
    """Two residents who wrote the same words (in other letter case) are quoted once, and the theme's next quote still
    follows: a report never repeats a quote."""
    from tests.review.conftest import answer
    from tests.factories import make_participant

    sid, open_prompt = heard.session["id"], heard.prompts[0]
    same = ["Nobody called me back about the clinic bus", "NOBODY called me back about the clinic bus"]
    after = "The clinic bus stop has no shelter from the rain"
    for text in (*same, after):
        answer(db, heard.session, make_participant(db, heard.session, quote_ok=True), open_prompt, text=text)
    synthesis.run_themes(db, sid, user_id=heard.planner_id)
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    ids = {a["text"]: a["id"] for a in synthesis.load(db, sid).answers}
    for text in (*same, after):
        synthesis.move_answer(db, sid, ids[text], theme["id"], user_id=heard.planner_id)
    members = {a["text"]: a for a in assemble.theme_answers(synthesis.load(db, sid))[theme["id"]]}

    def order(text):
        """Where an answer comes in the theme's quote order: the engine's picks, then the most typical."""
        a = members[text]
        return (a["quote"] is None, a["quote"] or 0, a["rank"], a["id"])

    assert order(after) > max(order(text) for text in same)  # the third quote comes after both copies
    synthesis.choose_quotes(db, sid, theme["id"], [ids[text] for text in (*same, after)], chosen=True,
                            user_id=heard.planner_id)
    soup = BeautifulSoup(render(db, heard, "html"), "html.parser")
    section = next(s for s in soup.select("section.theme") if s.select_one("h3").get_text(strip=True) == theme["label"])
    shown = [q.get_text(strip=True).strip("“”\"").lower() for q in section.select("blockquote")]
    assert sorted(shown) == sorted([same[0].lower(), after.lower()])


@pytest.mark.parametrize("fmt", ["html", "md", "docx", "csv", "json", "xlsx"])
def test_every_export_decides_what_is_hidden_once_and_takes_every_table_from_that_one_decision(db, themed, monkeypatch, fmt):
    """One crosstab per report: the tables by group, the representation and the theme sizes all read one release."""
    from analysis import equity

    releases = []
    real = equity.release
    monkeypatch.setattr(equity, "release", lambda *a, **k: releases.append(1) or real(*a, **k))
    assert render(db, themed, fmt)
    assert len(releases) == 1
