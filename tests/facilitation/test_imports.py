"""Importing answers from other tools' exports: upload, preview, confirm in one transaction, re-upload, undo."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from facilitation import import_queries as iq
from listening import queries
from tests.conftest import form_data, page, text_of
from tests.factories import count, every_table, share, user_id

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "interchange"

PROMPTS = [
    ("open", {"en": "What made it hard to get care during your pregnancy?",
              "es": "¿Qué le dificultó recibir atención durante su embarazo?"}, None),
    ("single", {"en": "How easy was it to get to your appointments?", "es": "¿Qué tan fácil fue llegar a sus citas?"},
     {"en": ["Very easy", "Somewhat easy", "Hard", "Very hard"], "es": ["Muy fácil", "Algo fácil", "Difícil", "Muy difícil"]}),
    ("multiple", {"en": "Which of these helped you?", "es": "¿Cuáles de estos le ayudaron?"},
     {"en": ["WIC", "Doula", "Clinic van", "Family"], "es": ["WIC", "Doula", "Camioneta de la clínica", "Familia"]}),
    ("scale", {"en": "How supported did you feel, from 1 to 5?", "es": "¿Qué tan apoyada se sintió, del 1 al 5?"}, None),
    ("about", {"en": "Your age", "es": "Su edad"},
     {"en": ["Under 20", "20-29", "30-39", "40 or older"], "es": ["Menos de 20", "20-29", "30-39", "40 o más"]}),
]


def make_survey_session(db, owner: int | None = None) -> dict:
    """Create the open English and Spanish prenatal-care session the synthetic samples answer."""
    found = queries.create_session(
        db, languages=["en", "es"], mode="self_paced", timezone_name="America/New_York", created_by=owner,
        texts={"title": {"en": "Prenatal care", "es": "Atención prenatal"}, "purpose": {"en": "Learn", "es": "Aprender"},
               "consent": {"en": "Your choice.", "es": "Su decisión."}})
    for kind, texts, options in PROMPTS:
        queries.add_prompt(db, found["id"], kind=kind, texts=texts, options=options,
                           demographic="age" if kind == "about" else None,
                           scale_labels={"en": ("Not at all", "Very"), "es": ("Nada", "Mucho")} if kind == "scale" else None)
    queries.set_status(db, found["id"], "open")
    return queries.session_by_id(db, found["id"])


@pytest.fixture
def survey(db, make_user):
    """The sample survey session, owned by the facilitator and shared with the planner."""
    found = make_survey_session(db, user_id(db, make_user("facilitator")))
    share(db, found, make_user("planner"))
    return found


def upload(client, session: dict, name: str, data: bytes | None = None):
    """Upload a file on the import page; return the response (a 303 to the preview when it is readable)."""
    shown = client.get(f"/staff/sessions/{session['id']}/import")
    payload = {**form_data(shown, 0), "file": (io.BytesIO(data if data is not None else (SAMPLES / name).read_bytes()), name)}
    return client.post(f"/staff/sessions/{session['id']}/import", data=payload, content_type="multipart/form-data")


def preview_fields(response) -> dict:
    """Return every field of the preview form as the page shows it (hidden, text, checked boxes, selected options)."""
    form = page(response).find("form", class_="stack")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("type") != "checkbox" and i.get("name")}
    fields.update({i["name"]: i["value"] for i in form.find_all("input", type="checkbox") if i.has_attr("checked")})
    fields.update({t["name"]: t.get_text() for t in form.find_all("textarea")})
    for select in form.find_all("select"):
        chosen = select.find("option", selected=True) or select.find("option")
        fields[select["name"]] = chosen["value"]
    return fields


def confirm(client, preview_url: str, **changes):
    """Load the preview, change some fields and press Import."""
    shown = client.get(preview_url)
    return client.post(preview_url, data={**preview_fields(shown), **changes, "action": "confirm"})


def test_a_kobo_export_is_previewed_then_imported_with_consent_by_import(as_facilitator, db, survey):
    """The preview stores nothing; Import stores consented rows with method 'import', source 'import', and logs it."""
    before = every_table(db)
    response = upload(as_facilitator, survey, "kobo.csv")
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    shown = as_facilitator.get(preview_url)
    assert shown.status_code == 200
    soup = page(shown)
    assert soup.find(id="count-fresh").get_text(strip=True) == "3"
    assert soup.find(id="count-refused").get_text(strip=True) == "1"
    assert "Recognised as an export from KoboToolbox / ODK." in text_of(shown)
    assert every_table(db) == before, "an upload and its preview store nothing"
    done = confirm(as_facilitator, preview_url)
    assert done.status_code == 303 and "/imports/" in done.headers["Location"]
    consents = [dict(r) for r in db.execute("SELECT method, version, consent_version_id, import_id FROM consents")]
    assert len(consents) == 3 and {c["method"] for c in consents} == {"import"}
    assert all(c["import_id"] and c["consent_version_id"] is None for c in consents)
    scopes = {tuple(r) for r in db.execute("SELECT quote_ok, quote_scope FROM consents")}
    assert scopes == {(1, "reports"), (0, None)}, "a file's quote permission never covers the room's screen"
    assert {r[0] for r in db.execute("SELECT source FROM responses")} == {"import"}
    texts = {r[0] for r in db.execute("SELECT text FROM responses WHERE text IS NOT NULL")}
    assert "The bus only comes twice a day." in texts
    row = db.execute("SELECT * FROM imports").fetchone()
    assert row["filename"] == "kobo.csv" and row["tool"] == "kobo" and len(row["file_hash"]) == 64
    assert '"consent/take_part": "consent_take_part"' in row["mapping"]
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'import'").fetchone()[0] == 1
    counts = page(as_facilitator.get(done.headers["Location"]))
    assert counts.find(id="count-stored").get_text(strip=True) == "3"
    assert counts.find(id="count-refused").get_text(strip=True) == "1"


def test_kobo_submission_time_becomes_the_consent_and_answer_time(as_facilitator, db, survey):
    """A row's _submission_time (UTC in Kobo) is when its consent and answers are recorded."""
    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    given = sorted(r[0] for r in db.execute("SELECT given_at FROM consents"))
    assert given[0].startswith("2026-03-02T15:04:12")


def test_the_same_file_twice_stores_nothing_new(as_facilitator, db, survey):
    """A second upload of the same file says so, offers nothing new, and Import changes nothing."""
    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    before = (count(db, "participants"), count(db, "responses"))
    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    shown = as_facilitator.get(preview_url)
    assert page(shown).find(id="count-fresh").get_text(strip=True) == "0"
    assert page(shown).find(id="count-already").get_text(strip=True) == "3"
    assert "This file was imported on" in text_of(shown)
    again = confirm(as_facilitator, preview_url)
    assert again.status_code == 400 and "nothing new to import" in text_of(again)
    assert (count(db, "participants"), count(db, "responses")) == before
    assert count(db, "imports") == 1


def test_a_withdrawn_person_is_not_imported_again(as_facilitator, db, survey):
    """Someone imported then withdrawn keeps their row key, so re-importing the file does not bring them back."""
    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    first = db.execute("SELECT id FROM participants ORDER BY id LIMIT 1").fetchone()[0]
    queries.withdraw_for(db, first, reason="phone", by_user=user_id(db, "facilitator@example.org"))
    shown = as_facilitator.get(upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    assert page(shown).find(id="count-fresh").get_text(strip=True) == "0"


def test_a_file_without_consent_columns_needs_a_statement(as_facilitator, db, survey):
    """A hand-made file is blocked until a consent statement is given; then it is the consent's recorded text."""
    preview_url = upload(as_facilitator, survey, "generic_cp1252.csv").headers["Location"]
    shown = as_facilitator.get(preview_url)
    assert "Read as Windows-1252 text" in text_of(shown)
    blocked = confirm(as_facilitator, preview_url)
    assert blocked.status_code == 400 and count(db, "participants") == 0
    assert "Say how people agreed before importing" in text_of(blocked)
    done = confirm(as_facilitator, preview_url, statement="Read aloud at the March health fair", version="2026-03",
                   source="paper")
    assert done.status_code == 303
    row = db.execute("SELECT consent_method, consent_statement, consent_version FROM imports").fetchone()
    assert tuple(row) == ("statement", "Read aloud at the March health fair", "2026-03")
    assert {r[0] for r in db.execute("SELECT source FROM participants")} == {"paper"}
    assert {r[0] for r in db.execute("SELECT quote_ok FROM consents")} == {0}


def test_a_corrected_mapping_is_what_gets_imported(as_facilitator, db, survey):
    """Setting a column to "Not imported" in the preview leaves its answers out."""
    preview_url = upload(as_facilitator, survey, "google_forms.csv").headers["Location"]
    soup = page(as_facilitator.get(preview_url))
    label = next(lab for lab in soup.select("table.import-columns label") if lab.get_text(strip=True).startswith("What made it hard"))
    confirm(as_facilitator, preview_url, **{label["for"]: "ignore"})
    assert count(db, "participants") > 0
    assert db.execute("SELECT count(*) FROM responses WHERE text IS NOT NULL").fetchone()[0] == 0


def test_values_that_do_not_map_are_listed_with_row_and_column(as_facilitator, survey):
    """The preview lists each value that is not a choice, and each cell issue names its row and column."""
    shown = as_facilitator.get(upload(as_facilitator, survey, "google_forms.csv").headers["Location"])
    items = [li.get_text(" ", strip=True) for li in page(shown).select("ul.import-errors li")]
    assert any(re.match(r"Row \d+, column “.+”: “.+” is not one of this question's choices", i) for i in items)
    assert any(re.match(r"Row \d+: no consent to take part", i) for i in items)


def test_a_workbook_offers_its_sheets(as_facilitator, survey):
    """A workbook with several sheets says which was read and offers the others."""
    shown = as_facilitator.get(upload(as_facilitator, survey, "kobo.xlsx").headers["Location"])
    options = [o["value"] for o in page(shown).select("select#sheet option")]
    assert len(options) >= 2 and "Prenatal care survey" in options


def test_a_large_import_shows_its_progress_and_a_browser_that_leaves_stores_nothing(as_facilitator, db, survey,
                                                                                      monkeypatch):
    """Past the size that gets a progress page, Import answers with a page that says "Stored N of M people" after
    each batch and links to the import; a browser that goes away halfway leaves nothing stored at all."""
    from facilitation import imports
    from listening import queries as q

    monkeypatch.setattr(imports, "STREAM_FROM", 1)
    monkeypatch.setattr(q, "IMPORT_BATCH", 1)
    preview = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    before = every_table(db)
    shown = as_facilitator.get(preview)
    left = as_facilitator.post(preview, data={**preview_fields(shown), "action": "confirm"}, buffered=False)
    pieces = iter(left.response)
    assert "Keep this page open" in next(pieces).decode()
    assert "Stored 1 of 3 people" in next(pieces).decode()  # one person is written, in the open transaction
    left.close()  # the browser went away
    assert every_table(db) == before

    response = confirm(as_facilitator, preview)
    assert response.status_code == 200 and response.headers["X-Accel-Buffering"] == "no"
    html = page(response)
    lines = [p.get_text() for p in html.select("#import-progress p")]
    assert lines[:3] == ["Stored 1 of 3 people…", "Stored 2 of 3 people…", "Stored 3 of 3 people…"]
    link = html.select_one("#import-progress a")["href"]
    assert count(db, "participants") == 3 and as_facilitator.get(link).status_code == 200


def test_undo_deletes_what_the_import_stored_and_is_logged(as_facilitator, db, survey):
    """Undo removes the import's people, consents and answers, keeps the import marked undone, and logs it."""
    done = confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    shown = as_facilitator.get(done.headers["Location"])
    undo_url = page(shown).find("form", action=re.compile("/undo$"))["action"]
    response = as_facilitator.post(undo_url, data=form_data(shown))
    assert response.status_code == 303
    assert (count(db, "participants"), count(db, "consents"), count(db, "responses")) == (0, 0, 0)
    assert db.execute("SELECT undone_at FROM imports").fetchone()[0]
    assert db.execute("SELECT kind FROM deletion_log").fetchone()[0] == "import_undone"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'import_undone'").fetchone()[0] == 1
    again = as_facilitator.post(undo_url, data=form_data(as_facilitator.get(done.headers["Location"])) or {})
    assert again.status_code in (303, 400)


def test_restoring_a_backup_taken_before_an_undo_does_not_bring_the_imported_people_back(app, as_facilitator, db, survey,
                                                                                        tmp_path):
    """Import, back up, undo, restore that backup: the import is undone again and its words are nowhere in the files."""
    import json

    from listening.backup import backup, restore
    from listening.db import connect
    from listening.erasures import ledger_path

    done = confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    words = b"The bus only comes twice a day."
    copy = backup(app.config["DATABASE"], tmp_path / "before-undo.db")
    shown = as_facilitator.get(done.headers["Location"])
    as_facilitator.post(page(shown).find("form", action=re.compile("/undo$"))["action"], data=form_data(shown))
    ledger = [json.loads(line) for line in ledger_path(app.config["DATABASE"]).read_text().splitlines()]
    assert [(e["kind"], e["session_code"]) for e in ledger] == [("import_undo", survey["code"])]
    assert words.decode() not in json.dumps(ledger)
    db.conn.close()

    restored = restore(copy.path, app.config["DATABASE"], force=True)

    assert (restored.ok, restored.imports_undone) == (True, 1)
    for suffix in ("", "-wal", "-shm"):
        path = Path(app.config["DATABASE"] + suffix)
        assert not path.exists() or words not in path.read_bytes()
    again = connect(app.config["DATABASE"])
    try:
        assert (count(again, "participants"), count(again, "responses"), count(again, "contacts")) == (0, 0, 0)
        assert again.execute("SELECT undone_at FROM imports").fetchone()[0]
        reason = again.execute("SELECT reason FROM deletion_log WHERE kind = 'import_undone'").fetchone()[0]
        assert "re-applied after restoring a backup" in reason
    finally:
        again.conn.close()


def test_undo_is_refused_while_a_reviewed_theme_uses_the_answers(as_facilitator, db, survey):
    """An import whose answers sit in a reviewed theme cannot be undone, and nothing is deleted."""
    from analysis.review import queries as synthesis

    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    answer = db.execute("SELECT id FROM responses WHERE text IS NOT NULL ORDER BY id LIMIT 1").fetchone()[0]
    theme = synthesis.new_theme(db, survey["id"], "Getting there", user_id=None, response_ids=[answer])
    synthesis.set_reviewed(db, survey["id"], theme, True, user_id=None)
    import_id = db.execute("SELECT id FROM imports").fetchone()[0]
    with pytest.raises(iq.UndoRefused):
        iq.undo_import(db, survey["id"], import_id, user_id=None)
    assert count(db, "participants") == 3


def test_a_planner_cannot_import(as_planner, survey):
    """Planners read sessions; importing answers is a facilitator's job."""
    assert as_planner.get(f"/staff/sessions/{survey['id']}/import").status_code == 403


def test_an_upload_is_only_usable_by_who_made_it(as_facilitator, app, db, survey, make_user):
    """Another staff member with access to the session cannot open someone else's waiting upload."""
    from tests.conftest import sign_in

    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    share(db, survey, make_user("facilitator", "second@example.org"))
    other = app.test_client()
    sign_in(other, "second@example.org")
    response = other.get(preview_url)
    assert response.status_code == 404 and "The bus only comes" not in response.get_data(as_text=True)


def test_cancel_deletes_the_waiting_upload(as_facilitator, app, survey):
    """Cancel deletes the encrypted upload from the instance folder and stores nothing."""
    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    folder = Path(app.config["DATABASE"]).parent / "import-staging"
    assert len(list(folder.glob("*.upload"))) == 1
    assert b"The bus only comes" not in next(folder.glob("*.upload")).read_bytes()
    shown = as_facilitator.get(preview_url)
    response = as_facilitator.post(preview_url, data={**preview_fields(shown), "action": "cancel"})
    assert response.status_code == 303 and list(folder.glob("*.upload")) == []


def run_import(runner, *args):
    """Run `chorus import` against the test app."""
    from listening.cli import cli

    return runner.invoke(cli, ["import", *map(str, args)])


def test_the_command_dry_run_stores_nothing_then_imports_once(runner, db, survey):
    """`chorus import --dry-run` prints the plan and stores nothing; a real run stores; a second stores nothing new."""
    dry = run_import(runner, survey["code"], SAMPLES / "kobo.csv", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "To store: 3 people" in dry.output and "refused for want of consent: 1" in dry.output
    assert "Dry run: nothing was stored." in dry.output and count(db, "participants") == 0
    real = run_import(runner, survey["code"], SAMPLES / "kobo.csv")
    assert real.exit_code == 0 and "Imported 3 people" in real.output
    again = run_import(runner, survey["code"], SAMPLES / "kobo.csv")
    assert again.exit_code == 0 and "Nothing new to import" in again.output
    assert count(db, "participants") == 3 and count(db, "imports") == 1


def test_the_command_prints_its_progress_a_batch_at_a_time(runner, db, survey, monkeypatch):
    """A file bigger than one batch prints "Stored N of M people..." after each batch, then the total."""
    from listening import queries as q

    monkeypatch.setattr(q, "IMPORT_BATCH", 2)
    done = run_import(runner, survey["code"], SAMPLES / "kobo.csv")
    assert done.exit_code == 0, done.output
    assert [line for line in done.output.splitlines() if line.startswith("Stored")] == [
        "Stored 2 of 3 people...", "Stored 3 of 3 people..."]
    assert "Imported 3 people" in done.output


def test_the_command_takes_a_mapping_and_a_consent_statement(runner, db, survey):
    """--mapping corrects a column, --statement covers a file with no consent column."""
    blocked = run_import(runner, survey["code"], SAMPLES / "generic_cp1252.csv")
    assert blocked.exit_code == 1 and "Say how people agreed" in blocked.output
    bad = run_import(runner, survey["code"], SAMPLES / "generic_cp1252.csv", "--statement", "cards",
                     "--mapping", '{"No such column": "ignore"}')
    assert bad.exit_code == 1 and "no column called" in bad.output
    wrong = run_import(runner, survey["code"], SAMPLES / "generic_cp1252.csv", "--statement", "cards",
                       "--mapping", "{not json")
    assert wrong.exit_code == 1 and "not valid JSON" in wrong.output
    ok = run_import(runner, survey["code"], SAMPLES / "generic_cp1252.csv", "--statement", "Read aloud at the fair",
                    "--consent-version", "2026-03", "--source", "paper")
    assert ok.exit_code == 0, ok.output
    assert db.execute("SELECT consent_statement FROM imports").fetchone()[0] == "Read aloud at the fair"


def test_the_command_refuses_an_unreadable_file_with_one_line(runner, db, survey, tmp_path):
    """A file that is not a table stops the command with the reason, and nothing is stored."""
    junk = tmp_path / "photo.csv"
    junk.write_bytes(b"\x00\x01\x02 not a table \x00")
    result = run_import(runner, survey["code"], junk)
    assert result.exit_code == 1 and "Traceback" not in result.output and count(db, "imports") == 0


def test_a_failed_import_changes_nothing(db, survey):
    """If any row cannot be stored, the whole import is rolled back: no import, person, consent or answer remains."""
    from analysis import import_mapping as im

    good = im.ImportRecord("file:1", 2, "en", "paper", None, True, False, (im.Answer(
        queries.prompts_for_session(db, survey["id"])[0]["id"], text="Rides"),))
    bad = im.ImportRecord("file:2", 3, "en", "paper", None, True, False, (im.Answer(999_999, text="Nowhere"),))
    plan = im.ImportPlan((good, bad), (), (), (), (), "statement", "cards", "1")
    before = every_table(db)
    with pytest.raises(ValueError):
        iq.store_import(db, survey["id"], plan, filename="cards.csv", data_hash="0" * 64, sheet="", tool="", mapping="{}",
                        source="paper", language="en", user_id=None)
    assert every_table(db) == before


def test_undo_takes_the_imported_words_out_of_machine_theme_names(as_facilitator, db, survey):
    """A draft theme named with an imported answer's words takes its key terms when the import is undone."""
    import json

    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    text = db.execute("SELECT text FROM responses WHERE text IS NOT NULL AND length(text) > 12 ORDER BY id LIMIT 1").fetchone()[0]
    stamp = "2026-12-01T00:00:00+00:00"
    theme = db.execute(
        "INSERT INTO themes (session_id, kind, label, machine_label, top_terms, created_at, updated_at) "
        "VALUES (?, 'theme', ?, ?, ?, ?, ?)", (survey["id"], text, text, json.dumps(["bus", "clinic"]), stamp, stamp)).lastrowid
    db.conn.commit()
    iq.undo_import(db, survey["id"], db.execute("SELECT id FROM imports").fetchone()[0], user_id=None)
    assert db.execute("SELECT label FROM themes WHERE id = ?", (theme,)).fetchone()[0] == "Bus, clinic"
