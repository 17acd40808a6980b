"""Staff translations of answers: added on the review pages, printed beneath the quote in every report, and only
ever where the quote itself may go; an edit, a withdrawal, a purge or a restored backup takes them away."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from bs4 import BeautifulSoup
from docx import Document

from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries, retention
from listening.backup import backup, restore
from listening.db import connect
from tests.conftest import download, form_data, page, sign_in, submit, text_of
from tests.factories import make_participant
from tests.review.conftest import answer

SPANISH = "El autobús a la clínica nunca llega a tiempo"
TRANSLATION = "The bus to the clinic never arrives on time (Zyxtranslated)"
HIDDEN_SPANISH = "No hay autobús los domingos para ir a la clínica"
HIDDEN_TRANSLATION = "There is no bus on Sundays to the clinic (Qwvunquotable)"


def bus_theme(db, sid: int) -> dict:
    """Return the theme holding the bus answers."""
    answers = {a["id"]: a for a in synthesis.open_answers(db, sid)}
    members = synthesis.current_members(db, sid)
    return next(t for t in synthesis.active_themes(db, sid)
                if any(answers[r]["text"].startswith("The bus to the clinic") for r in members.get(t["id"], ())))


def place(db, sid: int, theme_id: int, response_id: int) -> None:
    """Put an answer in a theme, as a planner's move would."""
    db.execute("""INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at)
                  VALUES (?, ?, ?, 'theme', 1, 0, '2026-01-01')""", (response_id, sid, theme_id))
    db.conn.commit()


def planner(client):
    """Sign the fixture's planner in."""
    sign_in(client, "lead@example.org", "a long password")
    return client


def translate(client, sid: int, response_id: int, text: str, theme_id: int | None = None):
    """Save a translation through the answer's translation form."""
    url = f"/staff/review/{sid}/answers/{response_id}/translation" + (f"?theme={theme_id}" if theme_id else "")
    return submit(client, f"/staff/review/{sid}/answers/{response_id}/translation", {"translation": text}, get_url=url)


def two_spanish_answers(themed, db):
    """Add a Spanish bus answer from a person who allowed quoting (chosen as the theme's quote) and one from a person
    who did not, both translated through the form; return (theme, quotable id, unquotable id, unquotable person)."""
    sid = themed.session["id"]
    theme = bus_theme(db, sid)
    yes = make_participant(db, themed.session, language="es", quote_ok=True)
    no = make_participant(db, themed.session, language="es", quote_ok=False)
    quoted = answer(db, themed.session, yes, themed.prompts[0], text=SPANISH, language="es")
    unquoted = answer(db, themed.session, no, themed.prompts[0], text=HIDDEN_SPANISH, language="es")
    place(db, sid, theme["id"], quoted)
    place(db, sid, theme["id"], unquoted)
    synthesis.choose_quotes(db, sid, theme["id"], [quoted], chosen=True, user_id=themed.planner_id)
    return theme, quoted, unquoted, yes


def report_text(db, sid: int, fmt: str) -> str:
    """Export a report and return its visible text."""
    buffer = io.BytesIO()
    reporting.export(db, sid, buffer, fmt=fmt, language="en")
    data = buffer.getvalue()
    if fmt == "docx":
        document = Document(io.BytesIO(data))
        return "\n".join(p.text for p in document.paragraphs)
    if fmt == "html":
        return BeautifulSoup(data.decode("utf-8"), "html.parser").get_text(" ")
    return data.decode("utf-8-sig")


def test_a_planner_adds_a_translation_and_every_report_prints_it_beneath_the_quote(client, themed, db):
    """Saved through the form, the translation is listed on the theme page and printed after "Translation:" under the
    original (marked with its question and language) in the HTML, Word and Markdown reports."""
    sid = themed.session["id"]
    theme, quoted, _unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    shown = client.get(f"/staff/review/{sid}/answers/{quoted}/translation?theme={theme['id']}")
    assert shown.status_code == 200
    soup = page(shown)
    assert soup.select_one("blockquote").get_text(strip=True) == SPANISH
    assert soup.select_one("label[for=translation]") is not None
    response = translate(client, sid, quoted, TRANSLATION, theme["id"])
    assert response.status_code == 303 and f"theme={theme['id']}" in response.headers["Location"]
    stored = db.execute("SELECT language, text, created_by FROM answer_translations WHERE response_id = ?", (quoted,)).fetchone()
    assert tuple(stored) == ("en", TRANSLATION, themed.planner_id)
    theme_page = page(client.get(f"/staff/review/{sid}?theme={theme['id']}"))
    assert TRANSLATION in [s.get_text(strip=True) for s in theme_page.select(".translation span[lang=en]")]
    assert [e["action"] for e in synthesis.edit_history(db, sid)][:1] == ["translate"]

    html = BeautifulSoup(download(client, sid, "html").get_data(as_text=True), "html.parser")
    figure = next(f for f in html.select("figure.quote") if f.blockquote.get_text(strip=True) == SPANISH)
    assert figure.blockquote["lang"] == "es"
    assert figure.figcaption.get_text(strip=True) == "— Question 1 · Spanish"
    assert figure.select_one(".translation").get_text(" ", strip=True) == f"Translation: {TRANSLATION}"
    assert figure.select_one(".translation span")["lang"] == "en"
    words = report_text(db, sid, "docx").splitlines()
    at = words.index(SPANISH)
    assert words[at + 1:at + 3] == ["— Question 1 · Spanish", f"Translation: {TRANSLATION}"]
    markdown = report_text(db, sid, "md")
    assert f"> {SPANISH}\n>\n> — Question 1 · Spanish\n>\n> *Translation:* " in markdown
    assert "Zyxtranslated" in markdown


def test_a_translation_never_goes_where_the_quote_may_not(client, themed, db):
    """The translation of an answer whose author did not allow quoting is in no report, on neither the residents' page
    nor the projector, in no .qdpx project; the team's internal data export carries it beside the words it keeps."""
    sid = themed.session["id"]
    theme, _quoted, unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    assert translate(client, sid, unquoted, HIDDEN_TRANSLATION).status_code == 303
    for fmt in ("html", "docx", "md"):
        assert "Qwvunquotable" not in report_text(db, sid, fmt), fmt
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    assert submit(client, f"/staff/review/{sid}/publish", {"published": "1"}, form_index=1).status_code == 303
    for lang in ("en", "es", "ar"):
        assert "Qwvunquotable" not in text_of(client.get(f"/s/{themed.session['code']}/results?lang={lang}"))
    theme_cards = page(client.get(f"/staff/review/{sid}")).select("article.theme-card")
    assert "Qwvunquotable" not in " ".join(c.get_text() for c in theme_cards)  # the cards show what reports would quote
    assert "Qwvunquotable" not in client.get(f"/staff/sessions/{sid}/projector").get_data(as_text=True)
    shown = client.get(f"/staff/review/{sid}/export")
    project = client.post(f"/staff/review/{sid}/export/qdpx", data={**form_data(shown, 0), "set": "quoted"})
    with zipfile.ZipFile(io.BytesIO(project.data)) as archive:
        assert not any(b"Qwvunquotable" in archive.read(n) for n in archive.namelist())
    exported = download(client, sid, "json").get_data(as_text=True)
    rows = {a["id"]: a for a in json.loads(exported)["answers"]}
    assert rows[unquoted]["translation"] == HIDDEN_TRANSLATION and rows[unquoted]["quote_ok"] is False


def test_editing_the_answer_or_a_retention_purge_drops_its_translation(client, themed, db):
    """A translation is of the words it was made from: when the resident changes them, or a purge blanks them, it goes."""
    sid = themed.session["id"]
    _theme, quoted, unquoted, person = two_spanish_answers(themed, db)
    planner(client)
    translate(client, sid, quoted, TRANSLATION)
    translate(client, sid, unquoted, HIDDEN_TRANSLATION)
    answer(db, themed.session, person, themed.prompts[0], text=SPANISH, language="es")  # the same words again: kept
    assert db.execute("SELECT count(*) FROM answer_translations WHERE response_id = ?", (quoted,)).fetchone()[0] == 1
    answer(db, themed.session, person, themed.prompts[0], text="El autobús llega tarde, y ahora lo digo de otro modo",
           language="es")
    assert db.execute("SELECT count(*) FROM answer_translations WHERE response_id = ?", (quoted,)).fetchone()[0] == 0
    assert "Zyxtranslated" not in report_text(db, sid, "html")
    with db.conn:
        retention.purge_text(db, sid, before=None)
    assert db.execute("SELECT count(*) FROM answer_translations").fetchone()[0] == 0


def test_a_withdrawal_takes_the_translation_with_the_answer_and_a_restore_does_not_bring_it_back(app, client, themed, db, tmp_path):
    """Withdrawing removes the translation from the database files and every report; a backup taken before, restored,
    holds it no more."""
    sid = themed.session["id"]
    _theme, quoted, _unquoted, person = two_spanish_answers(themed, db)
    planner(client)
    translate(client, sid, quoted, TRANSLATION)
    assert "Zyxtranslated" in report_text(db, sid, "html")
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    assert queries.withdraw(db, person.receipt).outcome == "withdrawn"
    assert db.execute("SELECT count(*) FROM answer_translations").fetchone()[0] == 0
    for fmt in ("html", "docx", "md"):
        assert "Zyxtranslated" not in report_text(db, sid, fmt)
    files = [Path(app.config["DATABASE"] + suffix) for suffix in ("", "-wal")]
    assert not any(b"Zyxtranslated" in f.read_bytes() for f in files if f.exists())
    db.conn.close()
    assert restore(copy.path, app.config["DATABASE"], force=True).withdrawals == 1
    again = connect(app.config["DATABASE"])
    try:
        assert again.execute("SELECT count(*) FROM answer_translations").fetchone()[0] == 0
    finally:
        again.conn.close()


def test_the_translation_form_refuses_what_it_should(client, themed, db, make_user):
    """Without the form's token nothing is stored; an answer of another session, a withdrawn one or an unknown one is
    not found; an over-long translation gets a translated error; an empty one removes the translation."""
    sid = themed.session["id"]
    _theme, quoted, _unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    url = f"/staff/review/{sid}/answers/{quoted}/translation"
    assert client.post(url, data={"translation": TRANSLATION}).status_code == 400
    assert db.execute("SELECT count(*) FROM answer_translations").fetchone()[0] == 0
    assert client.get(f"/staff/review/{sid}/answers/999999/translation").status_code == 404
    withdrawn = db.execute("SELECT r.id FROM responses r JOIN participants p ON p.id = r.participant_id "
                           "WHERE p.withdrawn_at IS NOT NULL").fetchone()
    assert withdrawn is None or client.get(f"/staff/review/{sid}/answers/{withdrawn[0]}/translation").status_code == 404
    too_long = submit(client, url, {"translation": "x" * 4001}, headers={"Accept-Language": "es"})
    assert too_long.status_code == 400
    assert "caracteres" in page(too_long).select_one("[role=alert]").get_text()
    translate(client, sid, quoted, TRANSLATION)
    assert translate(client, sid, quoted, "   ").status_code == 303
    assert db.execute("SELECT count(*) FROM answer_translations").fetchone()[0] == 0
    other = make_user("planner", "outsider@example.org")
    client.post("/staff/logout", data=form_data(client.get("/staff/"), 0))
    sign_in(client, other)
    assert client.get(url).status_code == 404


def test_quotes_name_their_question_and_the_same_words_to_two_questions_are_two_quotes(themed, db):
    """Each report quote says which question it answered; identical words given to two questions are not merged into one."""
    sid = themed.session["id"]
    theme = bus_theme(db, sid)
    second = queries.add_prompt(db, sid, kind="open", texts={"en": "What was hard?", "es": "¿Qué fue difícil?"})
    db.conn.commit()
    synthesis.save_settings(db, sid, prompt_ids=[themed.prompts[0]["id"], second])
    same = "Getting a ride to the clinic (twice-said)"
    ids = []
    for prompt_id in (themed.prompts[0]["id"], second):
        person = make_participant(db, themed.session, quote_ok=True)
        rid = answer(db, themed.session, person, {"id": prompt_id}, text=same)
        place(db, sid, theme["id"], rid)
        ids.append(rid)
    synthesis.choose_quotes(db, sid, theme["id"], ids, chosen=True, user_id=themed.planner_id)
    html = BeautifulSoup(_html(db, sid), "html.parser")
    sources = [f.figcaption.get_text(strip=True) for f in html.select("figure.quote") if "twice-said" in f.blockquote.get_text()]
    numbers = {p["id"]: p["number"] for p in queries.prompts_for_session(db, sid)}
    assert sorted(sources) == sorted(f"— Question {numbers[p]} · English" for p in (themed.prompts[0]["id"], second))
    markdown = report_text(db, sid, "md")
    assert markdown.count("twice-said") == 2 and f"> — Question {numbers[second]} · English" in markdown


def _html(db, sid: int) -> str:
    """Export the HTML report and return its markup."""
    buffer = io.BytesIO()
    reporting.export(db, sid, buffer, fmt="html", language="en")
    return buffer.getvalue().decode("utf-8")


def test_a_long_quote_is_cut_to_its_point_in_reports(themed, db):
    """An answer of many sentences is quoted by the sentence that carries the theme's point, marked "…"; short ones whole."""
    sid = themed.session["id"]
    theme = bus_theme(db, sid)
    filler = " ".join(f"Sentence number {n} is about my week and other things entirely." for n in range(12))
    long_answer = f"{filler} The bus to the clinic is always late and I missed my visits. {filler}"
    person = make_participant(db, themed.session, quote_ok=True)
    rid = answer(db, themed.session, person, themed.prompts[0], text=long_answer)
    place(db, sid, theme["id"], rid)
    synthesis.choose_quotes(db, sid, theme["id"], [rid], chosen=True, user_id=themed.planner_id)
    quotes = [b.get_text(strip=True) for b in BeautifulSoup(_html(db, sid), "html.parser").select("figure.quote blockquote")]
    cut = next(q for q in quotes if "missed my visits" in q)
    assert cut.startswith("…") and cut.endswith("…") and len(cut.split()) < 40
    assert re.search(r"bus to the clinic is always late", cut)


def test_hiding_the_answer_or_undoing_its_import_takes_the_translation_out(client, themed, db):
    """A moderator hiding the answer takes its translation out of reports (and the form is not found); undoing the import
    that brought the answer deletes the translation with it."""
    sid = themed.session["id"]
    theme, quoted, _unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    translate(client, sid, quoted, TRANSLATION)
    db.execute("UPDATE responses SET hidden_at = ?, hidden_by = ?, hidden_reason = 'abuse' WHERE id = ?",
               (queries.now(), themed.planner_id, quoted))
    db.conn.commit()
    for fmt in ("html", "md"):
        assert "Zyxtranslated" not in report_text(db, sid, fmt)
    assert client.get(f"/staff/review/{sid}/answers/{quoted}/translation").status_code == 404

    imported = db.execute(
        """INSERT INTO imports (session_id, filename, file_hash, mapping, consent_method, source, language, counts, imported_at)
           VALUES (?, 'answers.csv', 'abc123', '{}', 'statement', 'import', 'es', '{}', ?)""", (sid, queries.now())).lastrowid
    person = make_participant(db, themed.session, language="es", quote_ok=True)
    db.execute("UPDATE participants SET import_id = ? WHERE id = ?", (imported, person.id))
    rid = answer(db, themed.session, person, themed.prompts[0], text="Nunca hay intérprete", language="es")
    place(db, sid, theme["id"], rid)
    translate(client, sid, rid, "There is never an interpreter (Imptranslated)")
    assert db.execute("SELECT count(*) FROM answer_translations WHERE response_id = ?", (rid,)).fetchone()[0] == 1
    with db.conn:
        queries.erase_import(db, {"id": imported, "session_id": sid}, at=queries.now(), reason="test")
    assert db.execute("SELECT count(*) FROM answer_translations WHERE response_id = ?", (rid,)).fetchone()[0] == 0


def test_the_staff_answers_page_links_an_answer_in_another_language_to_its_translation(client, themed, db):
    """On a session's answers page, each written answer in a language other than the session's main one links to the form."""
    sid = themed.session["id"]
    _theme, quoted, unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    links = [a["href"] for a in page(client.get(f"/staff/sessions/{sid}/answers")).select("ul.open-answers a")]
    assert {int(link.split("/")[-2]) for link in links if link.endswith("/translation")} == {quoted, unquoted}
    assert f"/staff/review/{sid}/answers/{quoted}/translation" in links


def qdpx_notes(response) -> dict[str, str]:
    """Return a downloaded .qdpx's notes linked to answers: {answer id: note text}."""
    from lxml import etree

    q = "{urn:QDA-XML:project:1.0}"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    notes = {n.get("guid"): n.findtext(f"{q}PlainTextContent") for n in root.iter(f"{q}Note")}
    return {s.get("name").split()[0].removeprefix("chorus-"): notes[ref.get("targetGUID")]
            for s in root.iter(f"{q}TextSource") for ref in s.iter(f"{q}NoteRef")}


def test_the_qdpx_project_carries_a_translation_as_a_note_on_its_answer_only_where_the_answer_goes(app, client, themed, db,
                                                                                                 make_user):
    """In the default .qdpx (quotable answers, redacted) a translated answer's source has the translation as a linked
    note, redacted the same way; the translation of an answer left out is not there. The admins' internal project
    carries both, as written."""
    sid = themed.session["id"]
    _theme, quoted, unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    named = f"{TRANSLATION}: call Dr. Ramirez"
    translate(client, sid, quoted, named)
    translate(client, sid, unquoted, HIDDEN_TRANSLATION)
    shown = client.get(f"/staff/review/{sid}/export")
    notes = qdpx_notes(client.post(f"/staff/review/{sid}/export/qdpx", data={**form_data(shown, 0), "set": "quoted"}))
    assert set(notes) == {str(quoted)}
    assert notes[str(quoted)].startswith(TRANSLATION) and "Ramirez" not in notes[str(quoted)]
    admin = app.test_client()
    sign_in(admin, make_user("admin"))
    shown = admin.get(f"/staff/review/{sid}/export")
    notes = qdpx_notes(admin.post(f"/staff/review/{sid}/export/qdpx", data={**form_data(shown, 0), "set": "internal"}))
    assert notes == {str(quoted): named, str(unquoted): HIDDEN_TRANSLATION}
    assert "translations=2" in db.execute("SELECT detail FROM audit_log WHERE action = 'export' ORDER BY id DESC").fetchone()[0]


def test_the_internal_csv_and_excel_exports_have_a_translation_column(client, themed, db):
    """The team's CSV and Excel exports give each answer's staff translation in its own column, beside the original."""
    from openpyxl import load_workbook

    sid = themed.session["id"]
    _theme, quoted, unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    translate(client, sid, quoted, TRANSLATION)
    import csv

    table = list(csv.DictReader(io.StringIO(download(client, sid, "csv").get_data(as_text=True).lstrip("\ufeff"))))
    by_id = {int(r["answer_id"]): r for r in table if r.get("answer_id")}
    assert (by_id[quoted]["text"], by_id[quoted]["translation"]) == (SPANISH, TRANSLATION)
    assert by_id[unquoted]["translation"] == ""
    sheet = load_workbook(io.BytesIO(download(client, sid, "xlsx").data), read_only=True)
    found = False
    for ws in sheet.worksheets:
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        header = next((i, row) for i, row in enumerate(values) if row and "translation" in row) if any(
            row and "translation" in row for row in values) else None
        if header:
            at, names = header
            column = names.index("translation")
            found = any(row[column] == TRANSLATION and SPANISH in row for row in values[at + 1:])
    assert found


def test_the_staff_answers_page_shows_a_translation_beneath_its_answer(client, themed, db):
    """The session's answers page shows a saved translation under its answer, in its language, and offers to edit it."""
    sid = themed.session["id"]
    _theme, quoted, unquoted, _person = two_spanish_answers(themed, db)
    planner(client)
    translate(client, sid, quoted, TRANSLATION)
    items = page(client.get(f"/staff/sessions/{sid}/answers")).select("ul.open-answers li")
    mine = next(li for li in items if li.p.get_text(strip=True) == SPANISH)
    shown = mine.select_one(".translation")
    assert shown.get_text(" ", strip=True) == f"Translation: {TRANSLATION}" and shown.span["lang"] == "en"
    assert mine.select_one("a[href$='/translation']").get_text(" ", strip=True).startswith("Edit the translation")
    other = next(li for li in items if li.p.get_text(strip=True) == HIDDEN_SPANISH)
    assert other.select_one(".translation") is None
    assert other.select_one("a[href$='/translation']").get_text(" ", strip=True).startswith("Add a translation")


def test_a_name_drawn_from_the_translation_of_an_answer_withdrawn_during_a_run_is_taken_out(themed, db):
    """A theme run or live draft cleans what it stores of the answers withdrawn while it ran: words of their staff
    translations too, since a name can be drawn from one."""
    sid = themed.session["id"]
    theme, quoted, _unquoted, _person = two_spanish_answers(themed, db)
    db.execute("UPDATE themes SET label = ?, machine_label = ?, renamed = 0, manual = 0 WHERE id = ?",
               ("Bus never arrives on time", "Bus never arrives on time", theme["id"]))
    db.conn.commit()
    read = {"id": quoted, "text": SPANISH, "translation": TRANSLATION}
    with db.conn:
        assert queries.unname_answers(db, sid, [read]) >= 1
    label = db.execute("SELECT label FROM themes WHERE id = ?", (theme["id"],)).fetchone()[0]
    assert label != "Bus never arrives on time" and "arrives" not in label.casefold()
