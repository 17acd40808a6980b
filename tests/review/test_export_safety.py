"""Exports that cannot leak or break: any stored text in every format, Markdown that stays text,
formulas defused by OWASP's list, downloads only by POST with a token, never cached, and logs
that never hold an answer or contact details, whatever goes wrong."""
from __future__ import annotations

import csv
import io
import json
import logging

import markdown as python_markdown
import pytest
from bs4 import BeautifulSoup
from docx import Document
from markdown_it import MarkdownIt
from openpyxl import load_workbook

from analysis import reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries
from tests.conftest import download, form_data, sign_in, submit
from tests.factories import make_participant
from tests.review.conftest import answer

CONTROLS = "\x00\x01\x08\x0b\x0c\x1b\x1f\ufffe"
HTML_PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LINK_PAYLOAD = "[click me](javascript:alert(2)) ![pixel](http://tracker.example/p.png) <javascript:alert(3)>"
FORMULAS = [" =1+1 bus", "\u00a0@SUM(A1) bus", "＝HYPERLINK(\"http://evil.example\") bus", "－2+3 bus",
            "\t=cmd bus", "\u200b+1 bus"]
CONTACT = {"name": "Rosa Quintanilla-Marker", "phone": "336-555-0199", "email": "rosa.marker@example.org"}
SECRET_ANSWER = "My sister-in-law hides from immigration secret-answer-marker bus"


@pytest.fixture
def hostile(heard, db):
    """The heard session with hostile answers (control characters, HTML, links, formulas) and hostile staff text, themed and reviewed."""
    sid = heard.session["id"]
    open_prompt = heard.prompts[0]
    person = make_participant(db, heard.session, quote_ok=True, contact=CONTACT)
    made = {"control": f"The bus{CONTROLS} is late again control-marker",
            "html": f"The bus {HTML_PAYLOAD} never comes html-marker", "link": f"The bus {LINK_PAYLOAD} link-marker"}
    ids = {key: answer(db, heard.session, make_participant(db, heard.session, quote_ok=True), open_prompt, text=text)
           for key, text in made.items()}
    for number, text in enumerate(FORMULAS):
        answer(db, heard.session, make_participant(db, heard.session, quote_ok=False), open_prompt, text=text)
    answer(db, heard.session, person, open_prompt, text=SECRET_ANSWER)
    queries.set_text(db, sid, "session", sid, "title", "en", f"Title {HTML_PAYLOAD}{CONTROLS} {LINK_PAYLOAD}")
    queries.set_text(db, sid, "session", sid, "purpose", "en", f"# Purpose\n{HTML_PAYLOAD}\n- {LINK_PAYLOAD}")
    queries.set_text(db, sid, "prompt", open_prompt["id"], "text", "en", f"What helps? {HTML_PAYLOAD} {LINK_PAYLOAD}")
    synthesis.run_themes(db, sid, user_id=heard.planner_id)
    for key, response_id in ids.items():
        theme_id = db.execute("SELECT theme_id FROM theme_assignments WHERE response_id = ?", (response_id,)).fetchone()
        if theme_id and theme_id[0]:
            theme = synthesis.theme_in_session(db, sid, theme_id[0])
            if theme and theme["kind"] == "theme":
                synthesis.choose_quotes(db, sid, theme["id"], [response_id], chosen=True, user_id=heard.planner_id)
    for theme in synthesis.active_themes(db, sid):
        if theme["kind"] != "theme":
            continue
        synthesis.rename_theme(db, sid, theme["id"], f"=cmd|' /C calc'!A0 {HTML_PAYLOAD}{CONTROLS} t{theme['id']}",
                               user_id=heard.planner_id, definition=f"{LINK_PAYLOAD}{CONTROLS}")
        synthesis.set_reviewed(db, sid, theme["id"], True, user_id=heard.planner_id)
        synthesis.add_insight(db, sid, "insight", f"{HTML_PAYLOAD} {LINK_PAYLOAD}{CONTROLS}", theme_id=theme["id"],
                              user_id=heard.planner_id)
    synthesis.add_insight(db, sid, "hmw", f"How might we {HTML_PAYLOAD} {LINK_PAYLOAD}", theme_id=None,
                          user_id=heard.planner_id)
    heard.hostile = made
    return heard


def export_bytes(db, heard, fmt: str) -> bytes:
    """Export the session in one format through the same function the web and CLI use."""
    buffer = io.BytesIO()
    reporting.export(db, heard.session["id"], buffer, fmt=fmt, language="en", user_id=heard.planner_id)
    return buffer.getvalue()


def spreadsheet_cells(fmt: str, data: bytes) -> list[str]:
    """Return every text cell of a CSV or XLSX export."""
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        return [c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def test_every_format_exports_text_with_control_characters(hostile, db):
    """Control characters in answers, labels and titles no longer break any export (XLSX gave a 500)."""
    for fmt in reports.FORMATS:
        data = export_bytes(db, hostile, fmt)
        assert data, fmt
        if fmt in ("csv", "xlsx", "codebook"):
            cells = spreadsheet_cells(fmt, data)
            assert not [c for c in cells if set(c) & set(CONTROLS)], fmt
        if fmt in ("csv", "xlsx"):
            assert any("The bus is late again control-marker" in c for c in spreadsheet_cells(fmt, data)), fmt
    workbook = load_workbook(io.BytesIO(export_bytes(db, hostile, "xlsx")))
    assert workbook["Answers"].max_row > 40
    document = Document(io.BytesIO(export_bytes(db, hostile, "docx")))
    assert any("control-marker" in p.text for p in document.paragraphs)
    records = json.loads(export_bytes(db, hostile, "json"))["answers"]
    assert any(r["text"] == "The bus is late again control-marker" for r in records)
    html = export_bytes(db, hostile, "html").decode("utf-8")
    assert not set(html) & set(CONTROLS)


def test_clean_text_keeps_what_people_wrote():
    """Only characters no document can hold are dropped; tabs, line breaks and every script stay."""
    text = "Tab\there\nline — ¿qué? مرحبا 你好 🙂"
    assert reports.clean_text(text) == text
    assert reports.clean_text("a\x00b\x1bc\ud800d") == "abc\ufffdd"


@pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_a_broken_character_still_shows_where_it_was(surrogate):
    """A lone surrogate, the first and last of the range too, becomes U+FFFD (the "broken character" mark) rather
    than vanishing: a reader sees that something stood there."""
    assert reports.clean_text(f"before{surrogate}after") == "before\ufffdafter"


def rendered_markdowns(data: bytes) -> dict[str, BeautifulSoup]:
    """Render a Markdown report with two common renderers, raw HTML allowed as they allow it by default."""
    text = data.decode("utf-8")
    return {"markdown-it (CommonMark)": BeautifulSoup(MarkdownIt("commonmark").render(text), "html.parser"),
            "Python-Markdown": BeautifulSoup(python_markdown.markdown(text, extensions=["tables"]), "html.parser")}


def test_the_markdown_report_shows_html_and_links_as_text(hostile, db):
    """Raw HTML, javascript: links and images in quotes, titles, questions, insights and theme names render as plain text."""
    data = export_bytes(db, hostile, "md")
    for renderer, soup in rendered_markdowns(data).items():
        assert soup.find("script") is None, renderer
        assert soup.find("img") is None, renderer
        assert soup.find("a") is None, renderer
        assert not soup.find_all(lambda tag: any(name.startswith("on") for name in tag.attrs)), renderer
        shown = soup.get_text(" ")
        assert HTML_PAYLOAD in shown, renderer  # the words are kept, as words
        assert "[click me](javascript:alert(2))" in shown, renderer
        assert "html-marker" in shown and "link-marker" in shown, renderer  # in the quotes
        assert shown.count("=cmd|' /C calc'!A0") >= 2, renderer  # theme names, in headings and tables
        assert "What helps? " + HTML_PAYLOAD in shown, renderer  # the question


def test_markdown_text_escapes_every_way_to_make_markup():
    """HTML, autolinks, links, images, emphasis, tables and block starts are escaped, and the escape undoes exactly."""
    samples = [HTML_PAYLOAD, LINK_PAYLOAD, "# heading", "> quote", "- item", "+ item", "12. item", "3) item",
               "a | b", "*bold* _it_ `code`", "Q&A &lt;b&gt; &#106;avascript:", "back\\slash\\[", "two\nlines"]
    for sample in samples:
        escaped = reports.markdown_text(sample)
        html = MarkdownIt("commonmark").render(escaped)
        soup = BeautifulSoup(html, "html.parser")
        assert [t.name for t in soup.find_all(True)] in (["p"], []), (sample, html)
        assert soup.get_text() .strip() == sample.replace("\n", " "), (sample, html)
        assert reports.markdown_plain(escaped) == sample.replace("\n", " ")


@pytest.mark.parametrize("value", [
    "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", " =1+1", "  +1", "\u00a0=1", "\u3000=1", "\n=1", "\u200b=1",
    "\ufeff@x", "＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1", " ＝1", "\u2a751+1", " \u2a76SUM(A1)",
])
def test_formula_starts_follow_owasp(value):
    """OWASP's list, after leading whitespace or invisible characters and in full-width or compatibility forms (such as
    ⩵, which reads as "=="), gets an apostrophe."""
    assert reports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["fine", "a=b", "email me@x", "  ", "", "1+1", "¿=?", 3, None])
def test_ordinary_cells_are_left_alone(value):
    """Text that cannot start a formula is not changed."""
    assert reports.neutralise(value) == value


def test_every_spreadsheet_export_defuses_formulas(hostile, db):
    """No CSV, XLSX or codebook cell can be read as a formula, whatever leads it."""
    for fmt in ("csv", "xlsx", "codebook"):
        cells = spreadsheet_cells(fmt, export_bytes(db, hostile, fmt))
        assert not [c for c in cells if reports.looks_like_formula(c)], fmt
        if fmt != "codebook":
            assert "' =1+1 bus" in cells and "'＝HYPERLINK(\"http://evil.example\") bus" in cells, fmt
        assert any(c.startswith("'=cmd|") for c in cells), fmt


def test_a_link_from_another_site_cannot_download_or_log_an_export(client, hostile, db):
    """A GET with ?format= only shows the page; a POST without the page's token is refused; neither writes an audit entry."""
    sign_in(client, "lead@example.org", "a long password")
    sid = hostile.session["id"]
    before = db.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    linked = client.get(f"/staff/review/{sid}/export?format=csv&language=en")
    assert linked.status_code == 200 and linked.mimetype == "text/html"
    assert "attachment" not in linked.headers.get("Content-Disposition", "")
    forged = client.post(f"/staff/review/{sid}/export", data={"format": "csv", "language": "en"})
    assert forged.status_code == 400 and forged.mimetype == "text/html"
    assert BeautifulSoup(forged.data, "html.parser").select_one(".alert")
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0] == before
    forms = BeautifulSoup(linked.data, "html.parser").find_all("form", action=f"/staff/review/{sid}/export")
    assert forms and all(f["method"] == "post" and f.find("input", attrs={"name": "csrf_token"}) for f in forms)


def test_downloads_are_never_cached(client, hostile, db):
    """Every report and export is sent with Cache-Control: no-store and no validators."""
    sign_in(client, "lead@example.org", "a long password")
    for fmt in reports.FORMATS:
        response = download(client, hostile.session["id"], fmt)
        assert response.status_code == 200, fmt
        assert response.headers["Cache-Control"] == "no-store", fmt
        assert "ETag" not in response.headers and "Last-Modified" not in response.headers, fmt


# --- logs --------------------------------------------------------------------------------------


SENSITIVE = [SECRET_ANSWER, "secret-answer-marker", CONTACT["name"], CONTACT["phone"], CONTACT["email"], "control-marker",
             "html-marker"]


@pytest.fixture
def every_log(caplog, capfd):
    """Collect every log record (any logger, any level) and everything written to stdout and stderr."""
    caplog.set_level(logging.DEBUG)

    def collected() -> str:
        """Return all the log text and output so far, tracebacks included."""
        out, err = capfd.readouterr()
        records = "\n".join(caplog.handler.format(r) for r in caplog.records)
        return "\n".join([records, caplog.text, out, err])

    return collected


def test_logs_never_hold_answers_or_contact_details(app, client, hostile, db, monkeypatch, every_log, tmp_path):
    """Every error path we can reach (exports, answers, consent, withdraw, purge, CLI) leaves no answer or contact detail in the logs."""
    sid = hostile.session["id"]
    code = hostile.session["code"]
    sign_in(client, "lead@example.org", "a long password")
    # 1. Every export, with hostile stored text, succeeds.
    for fmt in reports.FORMATS:
        assert download(client, sid, fmt).status_code == 200, fmt
    # 2. A writer that fails quoting the answer (as openpyxl did) gives a translated 500 and a log without the text.
    def failing_writer(report, file, translations=None, records=None):
        """Fail the way openpyxl did: with the cell's whole text in the message."""
        raise ValueError(f"{SECRET_ANSWER} {CONTACT['phone']} cannot be used in worksheets.")

    monkeypatch.setitem(reports.WRITERS, "xlsx", failing_writer)
    failed = download(client, sid, "xlsx")
    assert failed.status_code == 500 and "Something went wrong" in failed.get_data(as_text=True)
    # 3. A resident's answer and consent that fail inside the database layer, quoting what was sent.
    phone = app.test_client()
    submit(phone, f"/s/{code}/consent", {"action": "agree", "take_part": "y", "contact_ok": "y",
                                         "contact_name": CONTACT["name"], "contact_phone": CONTACT["phone"],
                                         "contact_email": CONTACT["email"]})

    def failing_save(db, **values):
        """Fail quoting the answer, as a constraint error with values might."""
        raise RuntimeError(f"could not store {values.get('text')!r}")

    monkeypatch.setattr(queries, "save_response", failing_save)
    assert submit(phone, f"/s/{code}/q/1", {"answer": SECRET_ANSWER}).status_code == 500

    def failing_consent(db, session_id, **values):
        """Fail quoting the contact details."""
        raise RuntimeError(f"could not store {values.get('contact')!r}")

    monkeypatch.setattr(queries, "record_consent", failing_consent)
    other = app.test_client()
    assert submit(other, f"/s/{code}/consent", {"action": "agree", "take_part": "y", "contact_ok": "y",
                                                "contact_name": CONTACT["name"], "contact_phone": CONTACT["phone"],
                                                "contact_email": CONTACT["email"]}).status_code == 500
    # 4. Bad input on resident pages: too long, a broken form, an unknown receipt.
    assert submit(phone, f"/s/{code}/q/1", {"answer": SECRET_ANSWER * 100}).status_code in (400, 500)
    assert client.post(f"/s/{code}/q/1", data={"answer": SECRET_ANSWER}).status_code in (302, 400)
    assert submit(app.test_client(), "/withdraw", {"receipt": CONTACT["phone"], "confirm": "y"}).status_code in (400, 404)
    # 5. The hourly purge failing, which logs with its traceback.
    from listening import retention

    def failing_purge(*args, **kwargs):
        """Fail quoting an answer and an email."""
        raise RuntimeError(f"purge failed on {SECRET_ANSWER} {CONTACT['email']}")

    monkeypatch.setattr(retention, "purge_expired", failing_purge)
    app.config["RETENTION_ON_REQUEST"] = True
    assert app.test_client().get("/").status_code == 200
    # 6. The CLI's export of every format, and the CLI stopping on an unexpected error.
    from listening import cli as chorus_cli

    runner = app.test_cli_runner()
    for fmt in ("csv", "json", "md", "html", "docx", "codebook"):
        result = runner.invoke(chorus_cli.cli, ["export", code, "--format", fmt, "--output", str(tmp_path / f"x.{fmt}")])
        assert result.exit_code == 0, result.output
    text = every_log()
    assert "Unhandled error on POST" in text and "ValueError" in text and "RuntimeError" in text
    assert "Retention purge failed" in text
    leaked = [s for s in SENSITIVE if s in text]
    assert leaked == []


def test_the_command_line_stops_on_a_bug_without_printing_data(monkeypatch, capsys):
    """`chorus` meeting an unexpected error prints where it happened and the error's type, not its message."""
    from listening import cli as chorus_cli

    def broken(**kwargs):
        """Fail quoting an answer."""
        raise KeyError(SECRET_ANSWER)

    monkeypatch.setattr(chorus_cli.cli, "main", broken)
    with pytest.raises(SystemExit) as stopped:
        chorus_cli.main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "KeyError" in err and "test_export_safety.py" in err and SECRET_ANSWER not in err


def test_form_data_helper_still_finds_the_export_token(client, hostile):
    """The export page's forms carry the token the download helper sends."""
    sign_in(client, "lead@example.org", "a long password")
    assert "csrf_token" in form_data(client.get(f"/staff/review/{hostile.session['id']}/export"), 0)
