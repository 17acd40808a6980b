"""Bad files on the import page: each gets a clear, translated message, stores nothing, and never a 500."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import form_data, migrated_app, page, sign_in, text_of
from tests.factories import every_table, user_id
from tests.analysis.test_importing import _xlsx_with_cells
from tests.facilitation.test_imports import SAMPLES, make_survey_session, preview_fields, upload


def workbook(rows, formulas=()) -> bytes:
    """Return an .xlsx with the rows, and formulas written into cells given as (cell, formula)."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cell, formula in formulas:
        sheet[cell] = formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def damaged_xlsx() -> bytes:
    """Return the first half of a real workbook."""
    data = (SAMPLES / "kobo.xlsx").read_bytes()
    return data[: len(data) // 2]


def plain_zip() -> bytes:
    """Return a zip file that holds no spreadsheet."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


BAD_FILES = {
    "empty": (b"", "The file is empty"),
    "blank lines": (b"\r\n\r\n  \r\n", "The file is empty"),
    "header only": (b"Timestamp,What helps?\r\n", "The file is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file or a spreadsheet"),
    "broken quoting": (b'Card,Answer\r\n1,"never closed\r\n', "is not well-formed CSV"),
    "bad utf-16": (b"\xff\xfeA\x00\x00\xd8", "could not be read as UTF-8 or Windows-1252"),
    "zip without a sheet": (plain_zip(), "This is not a CSV file or a spreadsheet"),
    "damaged workbook": (damaged_xlsx(), "The spreadsheet could not be opened"),
    "empty workbook": (workbook([]), "The file is empty"),
    # One cell at XFD1048576: the reader laid out 17 billion cells and aborted the server's worker.
    "far cell": (_xlsx_with_cells("A1", "XFD1048576"), "spans 1048576 rows and 16384 columns"),
    # 20,000 columns took minutes to match and a 33 MB preview to show.
    "too wide": ((",".join(f"c{i}" for i in range(2001)) + "\r\n" + ",".join("x" * 2001) + "\r\n").encode(),
                 "The file has 2001 columns; Chorus reads at most 2000."),
}


@pytest.fixture
def survey(db, make_user):
    """The sample survey session, owned by the facilitator."""
    return make_survey_session(db, user_id(db, make_user("facilitator")))


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(as_facilitator, app, db, survey, name):
    """The upload page says what is wrong with the file; no table changes and no upload is kept."""
    data, message = BAD_FILES[name]
    before = every_table(db)
    response = upload(as_facilitator, survey, f"{name}.csv", data)
    assert response.status_code == 400
    alert = page(response).select_one(".alert")
    assert alert is not None and message in alert.get_text(" ", strip=True)
    assert every_table(db) == before
    assert list((Path(app.config["DATABASE"]).parent / "import-staging").glob("*.upload")) == []


def test_no_file_chosen_is_asked_for(as_facilitator, survey):
    """Pressing Upload without a file asks for one."""
    shown = as_facilitator.get(f"/staff/sessions/{survey['id']}/import")
    response = as_facilitator.post(f"/staff/sessions/{survey['id']}/import", data=form_data(shown, 0))
    assert response.status_code == 400 and "Please choose a file to import." in text_of(response)


def test_a_file_over_the_limit_is_refused_with_the_limit(tmp_path, make_user):
    """A file larger than CHORUS_IMPORT_MAX_MB gets a 413 page naming the limit, not the generic error."""
    from listening.db import connect

    app = migrated_app(tmp_path / "big.db", IMPORT_MAX_MB=1)
    db = connect(app.config["DATABASE"])
    from listening.accounts import create_user

    create_user(db, "f@example.org", "correct horse battery", "facilitator")
    survey = make_survey_session(db, user_id(db, "f@example.org"))
    client = app.test_client()
    sign_in(client, "f@example.org")
    before = every_table(db)
    data = b"Card,Answer\r\n" + b"".join(b"%d,%s\r\n" % (i, b"x" * 200) for i in range(8000))
    # Encoded here, in memory: the test client would spool a large body to a temporary file it never closes.
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    shown = client.get(f"/staff/sessions/{survey['id']}/import")
    boundary, body = encode_multipart({**form_data(shown, 0), "file": FileStorage(io.BytesIO(data), "big.csv")})
    response = client.post(f"/staff/sessions/{survey['id']}/import", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "larger than 1 MB" in page(response).select_one(".alert").get_text()
    assert every_table(db) == before
    db.conn.close()


def test_formula_cells_are_flagged_and_never_imported_as_formulas(as_facilitator, db, survey):
    """A workbook formula gives its saved value or a blank, flagged by cell; CSV text like a formula is flagged and kept as text."""
    data = workbook([["Card", "What made it hard to get care during your pregnancy?"], ["1", "Rides"], ["2", "x"]],
                    formulas=[("B3", "=CONCAT(\"a\",\"b\")")])
    shown = as_facilitator.get(upload(as_facilitator, survey, "cards.xlsx", data).headers["Location"])
    assert "Row 3, column “What made it hard to get care during your pregnancy?”: the cell holds a formula" in text_of(shown)
    csv = "Card,What made it hard to get care during your pregnancy?\r\n1,=HYPERLINK(\"http://x.test\")\r\n".encode()
    preview_url = upload(as_facilitator, survey, "cards.csv", csv).headers["Location"]
    shown = as_facilitator.get(preview_url)
    assert "the text starts like a spreadsheet formula; it is kept as plain text" in text_of(shown)
    done = as_facilitator.post(preview_url, data={**preview_fields(shown), "statement": "cards", "action": "confirm"})
    assert done.status_code == 303
    assert db.execute("SELECT text FROM responses").fetchone()[0] == '=HYPERLINK("http://x.test")'


def test_an_expired_or_forged_upload_token_is_a_clear_message(as_facilitator, survey):
    """A preview address whose upload is gone is not found, and the page offers to upload again, with a message."""
    response = as_facilitator.get(f"/staff/sessions/{survey['id']}/import/forged-token")
    assert response.status_code == 404 and "Please upload the file again." in text_of(response)
    assert page(response).find("input", type="file") is not None


def test_a_mapping_value_that_is_not_offered_is_refused(as_facilitator, db, survey):
    """A tampered column choice ("question:99") is a clear error and imports nothing."""
    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    shown = as_facilitator.get(preview_url)
    response = as_facilitator.post(preview_url, data={**preview_fields(shown), "col-4": "question:99", "action": "confirm"})
    assert response.status_code == 400 and "Please choose what each column is from the list." in text_of(response)
    assert every_table(db)["participants"] == 0


def test_the_import_pages_and_their_errors_are_translated(as_facilitator, db, survey):
    """In Spanish the upload page, a bad file's message and the engine's notes in the preview are all in Spanish."""
    shown = as_facilitator.get(f"/staff/sessions/{survey['id']}/import?lang=es")
    assert page(shown).find("h1").get_text(strip=True) == "Importar respuestas desde un archivo"
    response = upload(as_facilitator, survey, "empty.csv", b"")
    assert "El archivo está vacío" in page(response).select_one(".alert").get_text()
    preview = as_facilitator.get(upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    assert page(preview).find("h1").get_text(strip=True) == "Revisar la importación"
    assert "Not imported" not in [o.get_text(strip=True) for o in page(preview).select("select#col-0 option")]


def test_a_sheet_too_big_to_read_is_refused_in_the_facilitators_language(as_facilitator, survey):
    """The refusal of a workbook spanning too many cells is translated, naming the sheet."""
    shown = as_facilitator.get(f"/staff/sessions/{survey['id']}/import?lang=es")
    from werkzeug.datastructures import FileStorage

    data = {**form_data(shown, 0), "file": FileStorage(io.BytesIO(_xlsx_with_cells("A1", "XFD1048576")), "far.xlsx")}
    response = as_facilitator.post(f"/staff/sessions/{survey['id']}/import?lang=es", data=data,
                                   content_type="multipart/form-data")
    assert response.status_code == 400
    assert "La hoja «Answers» abarca 1048576 filas" in page(response).select_one(".alert").get_text(" ", strip=True)
