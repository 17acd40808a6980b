"""Reading outside exports: encodings, shapes, headers, sheets and formulas, as typed values."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import importing, messages
from analysis.importing import ERROR, UnreadableFile, fold, looks_like_formula, read_table

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "interchange"


def sample(name: str):
    """Read one synthetic sample export into a table."""
    return read_table((SAMPLES / name).read_bytes(), name)


def messages_of(table) -> list[str]:
    """Return the message ids of a table's issues."""
    return [i.message for i in table.issues]


@pytest.mark.parametrize(("name", "tool", "id_header", "rows"), [
    ("kobo.csv", "kobo", "_uuid", 4),
    ("kobo.xlsx", "kobo", "_uuid", 2),
    ("google_forms.csv", "google_forms", None, 5),
    ("surveymonkey.csv", "surveymonkey", "Respondent ID", 3),
    ("limesurvey.csv", "limesurvey", "id", 3),
    ("generic_cp1252.csv", "", None, 4),
    ("generic.xlsx", "", None, 3),
])
def test_each_sample_is_recognised_from_its_own_columns(name, tool, id_header, rows) -> None:
    """Each tool's export is recognised by its columns, with the tool's own row id column and every row read."""
    table = sample(name)
    assert table.tool.name == tool
    assert (table.columns[table.tool.id_column].header if table.tool.id_column is not None else None) == id_header
    assert len(table.rows) == rows
    assert (messages.IMPORT_RECOGNISED in messages_of(table)) == bool(tool)


def test_encodings_are_tried_in_order_and_the_one_used_is_reported() -> None:
    """UTF-8 with a BOM, UTF-8, then Windows-1252: the table says which, and accents survive each."""
    text = "Question,Language\r\nNo había intérprete,es\r\n"
    cases = [(b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8-sig", messages.IMPORT_READ_UTF8_BOM),
             (text.encode("utf-8"), "utf-8", messages.IMPORT_READ_UTF8),
             (text.encode("cp1252"), "cp1252", messages.IMPORT_READ_CP1252),
             (text.encode("utf-16"), "utf-16", messages.IMPORT_READ_UTF16)]
    for data, encoding, note in cases:
        table = read_table(data, "answers.csv")
        assert table.encoding == encoding
        assert note in messages_of(table)
        assert table.rows[0].cells == ("No había intérprete", "es")
        assert table.columns[0].name == "Question"


def test_semicolon_csv_and_kobo_group_paths_give_field_names() -> None:
    """Kobo's semicolon CSV is split by its delimiter; a group path's key is its last segment, split choices name their question."""
    table = sample("kobo.csv")
    by_header = {c.header: c for c in table.columns}
    assert by_header["group_care/hard"].key == "hard"
    assert by_header["about_you/age"].key == "age"
    doula = by_header["group_care/helped/doula"]
    assert (doula.group, doula.sub) == ("group_care/helped", "doula")
    assert table.tool.time_column == by_header["_submission_time"].index
    assert by_header["_uuid"].index in table.tool.metadata


def test_surveymonkey_two_header_rows_name_each_choice_column() -> None:
    """SurveyMonkey's second header row names the choices of a question spanning several columns."""
    table = sample("surveymonkey.csv")
    assert table.header_rows == 2
    assert messages.IMPORT_TWO_HEADER_ROWS in messages_of(table)
    names = [c.name for c in table.columns]
    assert "How easy was it to get to your appointments?" in names  # "Response" adds nothing
    wic = next(c for c in table.columns if c.sub == "WIC")
    assert wic.group == "Which of these helped you?"
    assert wic.name == "Which of these helped you? - WIC"
    assert table.rows[0].number == 3


def test_limesurvey_bracketed_choice_columns_are_grouped() -> None:
    """LimeSurvey's "question [choice]" columns are one question's choices; startlanguage is the language column."""
    table = sample("limesurvey.csv")
    doula = next(c for c in table.columns if c.sub == "Doula")
    assert doula.group == "Which of these helped you?"
    assert table.columns[table.tool.language_column].header == "startlanguage"


def test_a_workbook_with_several_sheets_reads_the_answers_and_says_so() -> None:
    """Of a notes sheet and an answers sheet the answers are read, the choice is told, and another sheet can be asked for."""
    table = sample("generic.xlsx")
    assert table.sheet == "Notes typed"
    assert table.sheets == ("Read me", "Notes typed")
    assert messages.IMPORT_SHEET_CHOSEN in messages_of(table)
    other = read_table((SAMPLES / "generic.xlsx").read_bytes(), "generic.xlsx", sheet="Read me")
    assert other.sheet == "Read me"
    with pytest.raises(UnreadableFile) as raised:
        read_table((SAMPLES / "generic.xlsx").read_bytes(), "generic.xlsx", sheet="Nope")
    assert raised.value.issue.message == messages.IMPORT_NO_SUCH_SHEET


def test_kobo_repeat_group_sheets_are_set_aside() -> None:
    """Kobo's sheet of repeated questions is not taken for the answers, and the table says it is not imported."""
    table = sample("kobo.xlsx")
    assert table.sheet == "Prenatal care survey"
    assert messages.IMPORT_REPEAT_SHEETS in messages_of(table)


def test_formula_cells_are_never_read_as_formulas() -> None:
    """A formula cell gives its saved value (or a blank) and is flagged; formula-like text stays text and is flagged."""
    book = openpyxl.Workbook()
    book.active.append(["Card", "Answer"])
    book.active.append(["1", "=1+1"])
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "f.xlsx")
    assert table.rows[0].cells == ("1", "")
    found = [i for i in table.issues if i.message == messages.IMPORT_FORMULA_DROPPED]
    assert [(i.row, i.column) for i in found] == [(2, "Answer")]
    google = sample("google_forms.csv")
    flagged = [i for i in google.issues if i.message == messages.IMPORT_FORMULA_TEXT]
    assert [(i.row, i.column) for i in flagged] == [(5, "What made it hard to get care during your pregnancy?")]
    assert google.rows[3].cells[5].startswith("=HYPERLINK")  # kept as text: the app escapes it on the way out
    assert looks_like_formula("+SUM(A1)") and looks_like_formula("=1") and not looks_like_formula("-5 days")


def test_unreadable_files_raise_a_typed_issue() -> None:
    """Empty, binary, broken-zip and ragged inputs raise UnreadableFile carrying a translatable message id."""
    for data, message in [(b"", messages.IMPORT_EMPTY), (b"\n\n", messages.IMPORT_EMPTY),
                          (b"PK\x03\x04garbage", messages.IMPORT_BROKEN_WORKBOOK),
                          (b"a,b\x00\x00\n", messages.IMPORT_NOT_A_TABLE),
                          (b'a,b\n"open,quote\n', messages.IMPORT_BROKEN_CSV)]:
        with pytest.raises(UnreadableFile) as raised:
            read_table(data, "x")
        assert raised.value.issue.message == message
        assert raised.value.issue.level == ERROR
        raised.value.issue.render()  # every placeholder is filled


def test_rows_with_too_many_cells_are_refused_and_named() -> None:
    """A row with more cells than the header is not read, and its row number is reported; short rows are padded."""
    table = read_table(b"a,b\n1,2,3\n4\n", "x.csv")
    assert table.skipped_rows == (2,)
    assert table.rows[0].cells == ("4", "")
    bad = next(i for i in table.issues if i.message == messages.IMPORT_EXTRA_CELLS)
    assert bad.row == 2 and "Row 2" in bad.render()


def test_blank_and_repeated_headers_get_distinct_names() -> None:
    """An unnamed column is called by its letter and repeated headers are numbered, so every column has its own name."""
    table = read_table(b"Q,Q,\n1,2,3\n", "x.csv")
    assert [c.name for c in table.columns] == ["Q (1)", "Q (2)", "C"]


def test_fold_ignores_case_accents_digits_and_punctuation() -> None:
    """Folding makes "¿Muy FÁCIL?" equal "muy facil" and Arabic-Indic digits ASCII."""
    assert fold("¿Muy FÁCIL?") == "muy facil"
    assert fold("٣") == "3"


def test_fifty_thousand_rows_are_all_read() -> None:
    """A 50,000-row CSV export is read whole (its speed is measured by bench/import_speed.py, not here)."""
    lines = ["_uuid,_submission_time,q1,q2"] + [f"u{i},2026-03-01T10:00:00,answer number {i},yes" for i in range(50_000)]
    data = "\n".join(lines).encode()
    table = read_table(data, "big.csv")
    assert len(table.rows) == 50_000
    assert table.rows[-1].number == 50_001 and table.rows[-1].cells[2] == "answer number 49999"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400),
                 st.text(alphabet=st.sampled_from(list('ab,;"\n\r\t =+-é١') + ["\x00", "\ufeff"]), max_size=200).map(lambda t: t.encode("utf-8")),
                 st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b)))
def test_any_bytes_give_a_table_or_a_typed_refusal(data) -> None:
    """Whatever bytes arrive, reading gives a table or UnreadableFile with a message id, never another exception."""
    try:
        table = read_table(data, "any")
    except UnreadableFile as refused:
        assert refused.issue.message and refused.issue.render()
        return
    assert all(len(row.cells) == len(table.columns) for row in table.rows)


def _zipped(parts: dict[str, str]) -> bytes:
    """Return a zip archive (a workbook's container) holding these parts."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():  # an .ods's "mimetype" comes first, stored, as readers expect
            archive.writestr(name, text, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _xlsx_with_cells(*cells: str, body: str = "") -> bytes:
    """Return a minimal .xlsx whose one sheet holds the text "x" at each of these references (e.g. "XFD1048576"),
    or the given sheetData XML."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    body = body or "".join(f'<row r="{c.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}"><c r="{c}" t="inlineStr"><is><t>x</t></is></c></row>'
                           for c in cells)
    return _zipped({
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship Id="rId1" '
        f'Type="{office}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{office}"><sheets>'
        '<sheet name="Answers" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship Id="rId1" '
        f'Type="{office}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{body}</sheetData></worksheet>',
    })


def _ods_with_block(columns: int, rows: int) -> bytes:
    """Return a minimal .ods whose one sheet repeats a filled cell `columns` times in a row repeated `rows` times."""
    return _zipped({
        "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
        "META-INF/manifest.xml": '<?xml version="1.0"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        "content.xml": '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        '<office:spreadsheet><table:table table:name="Answers">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>answer</text:p></table:table-cell></table:table-row>'
        f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell office:value-type="string" '
        f'table:number-columns-repeated="{columns}"><text:p>x</text:p></table:table-cell>'
        '<table:table-cell table:number-columns-repeated="1000"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/>'
        '</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>',
    })


def test_a_workbook_whose_cells_span_more_than_chorus_reads_is_refused_before_it_is_opened() -> None:
    """A 2 KB .xlsx with one cell at XFD1048576 (17 billion cells to lay out: the reader aborted the whole
    process asking for 512 GB) and a 2 KB .ods repeating a cell over 20 million places are refused with a
    translated message naming the sheet and its size; a sheet ending in empty repeated rows is read."""
    with pytest.raises(UnreadableFile) as refused:
        read_table(_xlsx_with_cells("A1", "XFD1048576"), "far.xlsx")
    assert refused.value.issue.message == messages.IMPORT_TOO_BIG_SHEET
    assert refused.value.issue.params["sheet"] == "Answers"
    assert refused.value.issue.params["height"] == "1048576" and refused.value.issue.params["width"] == "16384"
    with pytest.raises(UnreadableFile) as repeated:
        read_table(_ods_with_block(1000, 20_000), "repeated.ods")
    assert repeated.value.issue.message == messages.IMPORT_TOO_BIG_SHEET
    assert len(read_table(_xlsx_with_cells("A1", "A2", "B3"), "small.xlsx").rows) == 2
    assert len(read_table(_ods_with_block(3, 4), "small.ods").rows) == 4

    def cell(reference: str = "") -> str:
        named = ' r="' + reference + '"' if reference else ""
        return "<c" + named + ' t="inlineStr"><is><t>x</t></is></c>'

    for body in ('<row r="1">' + cell("A1") + cell("XFD1048576") + "</row>",  # a cell below its row
                 # unnamed cells and rows follow the one before: the last row's second cell is XFD1048576
                 '<row r="1">' + cell() + '</row><row r="1048576">' + cell("XFC1048576") + cell() + "</row>"):
        with pytest.raises(UnreadableFile):
            read_table(_xlsx_with_cells(body=body), "crafted.xlsx")
    styled = ('<row r="1">' + cell("A1") + '</row><row r="2">' + cell("A2") + "</row>"
              '<row r="1048576"><c r="XFD1048576" s="1"/></row>')  # an empty formatted cell holds nothing
    assert len(read_table(_xlsx_with_cells(body=styled), "styled.xlsx").rows) == 1


def test_a_file_wider_than_chorus_maps_is_refused_with_its_width() -> None:
    """A 250 KB CSV of 20,000 columns kept a server worker busy for minutes building a 33 MB preview; a table wider
    than MAX_COLUMNS is refused, naming its width and the limit, and one at the limit is read."""
    from analysis.importing import MAX_COLUMNS

    def wide(columns: int) -> bytes:
        return (",".join(f"c{i}" for i in range(columns)) + "\r\n" + ",".join("x" * columns) + "\r\n").encode()

    with pytest.raises(UnreadableFile) as refused:
        read_table(wide(MAX_COLUMNS + 1), "wide.csv")
    assert refused.value.issue.message == messages.IMPORT_TOO_MANY_COLUMNS
    assert refused.value.issue.params == {"columns": str(MAX_COLUMNS + 1), "max": str(MAX_COLUMNS)}
    assert len(read_table(wide(MAX_COLUMNS), "wide.csv").columns) == MAX_COLUMNS


def test_a_workbook_whose_parts_unpack_past_the_bound_is_refused(monkeypatch) -> None:
    """A workbook whose parts (a sheet, its shared strings) unpack past the bound (1 GiB; here 500 bytes) is refused
    before the reader unpacks them: a 20 MB workbook of one long run of a letter unpacks to gigabytes. A part whose
    stated size is false is refused as damaged rather than handed to the reader."""
    from analysis import importing

    monkeypatch.setattr(importing, "_MAX_SHEET_BYTES", 500)
    for data in (_zipped({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                          "xl/sharedStrings.xml": "<sst>" + "a" * 5000 + "</sst>"}),
                 _xlsx_with_cells(*(f"A{n}" for n in range(1, 200))), _ods_with_block(3, 4)):
        with pytest.raises(UnreadableFile) as refused:
            read_table(data, "big.xlsx")
        assert refused.value.issue.message == messages.IMPORT_WORKBOOK_TOO_LARGE
    monkeypatch.undo()
    import zipfile

    honest = _xlsx_with_cells("A1", "A2")
    entry = zipfile.ZipFile(io.BytesIO(honest)).getinfo("xl/worksheets/sheet1.xml")
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    damaged_data = bytearray(honest)
    damaged_data[start + entry.compress_size // 2] ^= 0xFF  # the sheet no longer matches its checksum
    with pytest.raises(UnreadableFile) as damaged:
        read_table(bytes(damaged_data), "damaged.xlsx")
    assert damaged.value.issue.message == messages.IMPORT_BROKEN_WORKBOOK


def test_an_old_excel_sheet_with_one_far_cell_is_refused_before_it_is_laid_out():
    """A 5.6 KB .xls whose one value sits in the format's last cell (row 65,536, column 256) was laid out as 16.7
    million cells (1.1 GB) by the reader; its size is now read from its records first and it is refused."""
    data = (SAMPLES / "far_cell.xls").read_bytes()
    with pytest.raises(UnreadableFile) as refused:
        read_table(data, "far_cell.xls")
    assert refused.value.issue.message == messages.IMPORT_TOO_BIG_SHEET
    assert "65536 rows and 256 columns" in str(refused.value)


def test_an_old_excel_sheets_size_counts_values_not_formatted_empty_cells():
    """Measured as the reader lays a sheet out: from A1 to its last value; an empty cell formatted far away (which the
    reader skips) is not counted, and every sheet, a formula included, is measured."""
    data = (SAMPLES / "two_sheets.xls").read_bytes()
    assert importing._xls_extents(data, None) == {"s": (1, 1), "Hoja 2": (11, 10)}
    assert importing._xls_extents(data, "Hoja 2") == {"Hoja 2": (11, 10)}
    assert importing._xls_extents(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 damaged", None) == {}
    table = read_table(data, "two_sheets.xls", sheet="Hoja 2")
    assert table.sheets == ("s", "Hoja 2") and len(table.columns) == 10
