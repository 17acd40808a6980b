"""Reading answers exported by other tools: CSV and spreadsheet files into a typed table.

Owns turning the bytes of an outside export (a CSV in UTF-8, UTF-16 or Windows-1252; an Excel
``.xlsx``, ``.xls`` or ``.xlsb`` workbook or a LibreOffice ``.ods``) into a :class:`Table` of text cells with
one named :class:`Column` per answer column, and recognising the export's shape from its own
structure (:class:`Tool`): KoboToolbox and ODK, Google Forms, SurveyMonkey (two header rows),
LimeSurvey. Everything a person should check is an :class:`Issue`: a message id from
:mod:`analysis.messages` with its parameters, naming the row and column, which the app
translates. A file that cannot be read at all raises :class:`UnreadableFile`, which carries one.

Spreadsheet formulas are never read as answers: a formula cell gives the value it last showed
(or a blank), and is flagged; text that merely starts like a formula is kept as text and flagged.

Pure Python: no Flask, no SQLite. :mod:`analysis.import_mapping` maps a table onto a session.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import struct
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis import messages

__all__ = ["Column", "Issue", "Row", "Table", "Tool", "UnreadableFile", "fold", "read_table"]

# Survey exports can hold long free-text cells; the csv module's default limit is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)

ERROR = "error"  # the row or cell is not imported
WARNING = "warning"  # imported, but a person should check it
INFO = "info"  # how the file was read

_DELIMITERS = (",", ";", "\t", "|")
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Arabic-Indic and Extended Arabic-Indic (Urdu) digits read as ASCII digits.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_FUNCTION_CALL = re.compile(r"[+\-@]\s*[A-Za-z_][\w.]*\s*\(")
_BRACKETED = re.compile(r"^(.*?\S)\s*\[([^\[\]]+)\]$")
_SPREADSHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
# The most cells (rows x columns, from A1 to the last filled cell) a workbook's sheet may span: the
# spreadsheet reader lays a sheet out whole, so a tiny file with one cell at XFD1048576 asked it for
# 512 GB and aborted the process, and an .ods repeating one cell makes millions. 50,000 answers
# in 200 columns fit.
MAX_SHEET_CELLS = 10_000_000
# The most columns a file may have: every column is matched to the session's questions and shown in the
# preview, so 20,000 columns (250 KB of CSV) kept a worker busy for minutes on a 33 MB page. Survey
# exports with a column per choice stay far below this.
MAX_COLUMNS = 2000
# Decompressed bytes of a sheet read while measuring it: beyond this, a sheet is too big anyway.
_MAX_SHEET_BYTES = 1 << 30
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """Something about the file a person should know: a translatable message naming where it is.

    ``message`` is the message id (an English template from :mod:`analysis.messages` with
    ``%(name)s`` placeholders); ``params`` fills it, and holds ``row`` and ``column`` when the
    issue is about one cell. ``rows`` lists the rows of an issue about many.
    """

    message: str
    level: str = WARNING
    row: int | None = None
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    rows: tuple[int, ...] = ()

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """Return the message in words, translated by ``gettext`` when one is given."""
        template = gettext(self.message) if gettext is not None else self.message
        return template % dict(self.params)


def issue(message: str, level: str = WARNING, *, row: int | None = None, column: str | None = None,
          rows: Sequence[int] = (), **params: Any) -> Issue:
    """Build an :class:`Issue`, putting ``row`` and ``column`` among its parameters too."""
    if row is not None:
        params["row"] = row
    if column is not None:
        params["column"] = column
    return Issue(message=message, level=level, row=row, column=column, params=params, rows=tuple(rows))


class UnreadableFile(ValueError):
    """The file cannot be read as a table at all; ``issue`` says why, in words the app translates."""

    def __init__(self, found: Issue) -> None:
        """Keep the issue; the exception's own text is the English message, for logs and tests."""
        super().__init__(found.render())
        self.issue = found


@dataclass(frozen=True)
class Column:
    """One column of the table.

    ``name`` is what people see and is unique in the table; ``header`` the header cell as
    written; ``key`` the tool's field name without its groups ("age" for Kobo's
    "about_you/age"). A column that holds one choice of a question (SurveyMonkey's and
    LimeSurvey's one column per choice, Kobo's split multiple choice) has that question's
    header as ``group`` and the choice as ``sub``.
    """

    index: int
    name: str
    header: str
    key: str
    group: str = ""
    sub: str = ""
    letter: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One row of answers: its number as a spreadsheet shows it (the header is row 1) and its cells."""

    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Tool:
    """The survey tool an export came from, recognised from the file's own columns.

    ``name`` is "" when the shape is not one Chorus knows. The columns are indexes into the
    table: the tool's own row id, the time the answers were submitted, the language the form
    was filled in, and ``metadata``, columns the tool adds that are not answers.
    """

    name: str = ""
    label: str = ""
    id_column: int | None = None
    time_column: int | None = None
    language_column: int | None = None
    metadata: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Table:
    """An outside export read into text cells, with how it was read and what to check."""

    filename: str
    format: str  # "csv" or "workbook"
    encoding: str  # the CSV's encoding: "utf-8-sig", "utf-8", "utf-16" or "cp1252"; "" for a workbook
    sheet: str  # the sheet read; "" for a CSV
    sheets: tuple[str, ...]  # every sheet of the workbook, so the app can offer another
    header_rows: int
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    tool: Tool
    issues: tuple[Issue, ...] = ()
    skipped_rows: tuple[int, ...] = ()  # rows that could not be read (too many cells)

    def column(self, index: int) -> Column:
        """Return the column at ``index``."""
        return self.columns[index]

    def index_of(self, name: str) -> int | None:
        """Return the index of the column called ``name`` (as shown), or None."""
        for column in self.columns:
            if column.name == name:
                return column.index
        return None


# --- text helpers shared with the mapping -------------------------------------------------


def fold(text: str) -> str:
    """Return text folded for matching: NFKC, case-folded, without accents, digits in ASCII, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_DIGITS)
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    text = " ".join(text.split())
    return text.strip(" \"'“”‘’«»*:.?¿!¡،؟")


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def looks_like_formula(text: str) -> bool:
    """Tell whether text would run as a spreadsheet formula: "=...", or "+", "-", "@" before a function call."""
    stripped = text.lstrip(" \t\r\n\u200b\u200e\u200f\ufeff")
    if len(stripped) < 2:
        return False
    first = unicodedata.normalize("NFKC", stripped[0])
    if first == "=":
        return True
    if first in "+-@":
        head = unicodedata.normalize("NFKC", stripped[:64])
        return bool(_FUNCTION_CALL.match(head)) or ("|" in head and "!" in stripped)
    return False


# --- reading ------------------------------------------------------------------------------


def read_table(data: bytes, filename: str = "", *, sheet: str | None = None) -> Table:
    """Read a CSV or spreadsheet export into a :class:`Table`; raise :class:`UnreadableFile` if it is none.

    ``sheet`` chooses a workbook's sheet; without it the sheet holding the answers is chosen
    (the only one with data, or the one whose columns a known tool wrote, else the fullest), and
    an issue says so when there was a choice to make.
    """
    if not data or not data.strip():
        raise UnreadableFile(issue(messages.IMPORT_EMPTY, ERROR))
    if data.startswith((_ZIP_MAGIC, _XLS_MAGIC)):
        grid, formulas, sheet_name, sheets, notes = _read_workbook(data, sheet)
        encoding, kind = "", "workbook"
    else:
        grid, notes, encoding = _read_csv(data)
        formulas, sheet_name, sheets, kind = {}, "", (), "csv"
    return _build(grid, formulas, notes, filename=filename, kind=kind, encoding=encoding, sheet=sheet_name, sheets=sheets)


def _decode(data: bytes) -> tuple[str, str, str]:
    """Decode CSV bytes trying UTF-16 (by its mark), UTF-8 with and without BOM, then Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", messages.IMPORT_READ_UTF16
        except UnicodeDecodeError:
            raise UnreadableFile(issue(messages.IMPORT_ENCODING, ERROR)) from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", messages.IMPORT_READ_UTF8_BOM
        except UnicodeDecodeError:
            data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", messages.IMPORT_READ_UTF8
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252", messages.IMPORT_READ_CP1252
    except UnicodeDecodeError:
        raise UnreadableFile(issue(messages.IMPORT_ENCODING, ERROR)) from None


def _delimiter(text: str) -> str:
    """Return the delimiter of the header line: the most frequent of , ; tab | outside quotes (comma on a tie)."""
    counts: Counter[str] = Counter()
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            if counts:
                break
        elif not quoted and char in _DELIMITERS:
            counts[char] += 1
    if not counts:
        return ","
    best = max(counts.values())
    return next(d for d in _DELIMITERS if counts[d] == best)


def _read_csv(data: bytes) -> tuple[list[list[Any]], list[Issue], str]:
    """Parse CSV bytes into rows of cells; note the encoding used."""
    text, encoding, note = _decode(data)
    if "\x00" in text:
        raise UnreadableFile(issue(messages.IMPORT_NOT_A_TABLE, ERROR))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.lstrip("\r\n")), strict=True)
    grid: list[list[Any]] = []
    try:
        for record in reader:
            grid.append(record)
    except csv.Error:
        raise UnreadableFile(issue(messages.IMPORT_BROKEN_CSV, ERROR, row=len(grid) + 1)) from None
    return grid, [issue(note, WARNING if encoding == "cp1252" else INFO)], encoding


def _read_workbook(data: bytes, wanted: str | None) -> tuple[list[list[Any]], dict, str, tuple[str, ...], list[Issue]]:
    """Read one sheet of a workbook with calamine; choose the sheet when none is asked for."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum  # noqa: PLC0415 - only for workbooks

    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise UnreadableFile(issue(messages.IMPORT_BROKEN_WORKBOOK, ERROR)) from None
        if "xl/workbook.xml" not in names and "content.xml" not in names and "xl/workbook.bin" not in names:
            raise UnreadableFile(issue(messages.IMPORT_NOT_A_TABLE, ERROR))
    if data.startswith(_ZIP_MAGIC):
        _refuse_oversized_sheets(data, wanted)
    elif data.startswith(_OLE_MAGIC):
        _refuse_too_big(_xls_extents(data, wanted))
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = tuple(m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet)
        if wanted is not None and wanted not in sheets:
            raise UnreadableFile(issue(messages.IMPORT_NO_SUCH_SHEET, ERROR, sheet=wanted))
        grids = {}
        for name in ([wanted] if wanted is not None else sheets):
            grids[name] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except CalamineError:
        raise UnreadableFile(issue(messages.IMPORT_BROKEN_WORKBOOK, ERROR)) from None
    notes: list[Issue] = []
    if wanted is not None:
        chosen = wanted
    else:
        chosen, notes = _choose_sheet(grids, sheets)
    formulas = _xlsx_formulas(data, chosen) if data.startswith(_ZIP_MAGIC) else {}
    return grids[chosen], formulas, chosen, sheets, notes


def _refuse_oversized_sheets(data: bytes, wanted: str | None) -> None:
    """Raise :class:`UnreadableFile` if the workbook unpacks past _MAX_SHEET_BYTES or a sheet to be read (``wanted``,
    else every sheet) spans more than MAX_SHEET_CELLS.

    Measured from the file's parts, streamed, before the spreadsheet reader unpacks or lays out any.
    """
    from lxml import etree  # noqa: PLC0415 - only for workbooks

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _refuse_unpacking_past_bound(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError):
        # A damaged part (its checksum or stated size wrong) is never handed to the reader to unpack.
        raise UnreadableFile(issue(messages.IMPORT_BROKEN_WORKBOOK, ERROR)) from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                extents = _xlsx_extents(archive, etree, wanted)
            elif "content.xml" in names:
                extents = _ods_extents(archive, etree, wanted)
            elif "xl/workbook.bin" in names:
                extents = _xlsb_extents(archive, etree, wanted)
            else:
                return
    except _Unmeasurable:
        # A binary workbook whose sheets cannot be found or walked is not handed to the reader unmeasured.
        raise UnreadableFile(issue(messages.IMPORT_BROKEN_WORKBOOK, ERROR)) from None
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, ValueError):
        if "xl/workbook.bin" in names:
            raise UnreadableFile(issue(messages.IMPORT_BROKEN_WORKBOOK, ERROR)) from None
        return  # the reader says what is wrong with a malformed sheet
    _refuse_too_big(extents)


def _refuse_too_big(extents: Mapping[str, tuple[int, int]]) -> None:
    """Raise :class:`UnreadableFile` if a sheet's (rows, columns) span more than MAX_SHEET_CELLS."""
    for sheet, (height, width) in extents.items():
        if height * width > MAX_SHEET_CELLS:
            raise UnreadableFile(issue(messages.IMPORT_TOO_BIG_SHEET, ERROR, sheet=sheet, height=str(height),
                                       width=str(width), limit=str(MAX_SHEET_CELLS)))


# An old Excel workbook (.xls, BIFF5/8) is an OLE2 compound file. Its records that hold a value start with the
# cell's row and column (2 bytes each); MULRK holds several values of one row, its last column at its end.
# calamine lays a sheet out from its first to its last such cell (blank, formatted cells do not count), with every
# cell in between: a 5.6 KB file with one value at row 65,536, column 256 took 1.1 GB before Python saw a row.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIFF_BOF, _BIFF_EOF, _BIFF_BOUNDSHEET, _BIFF_MULRK = 0x0809, 0x000A, 0x0085, 0x00BD
# LABELSST, LABEL, NUMBER, RK, BOOLERR, FORMULA, RSTRING (and BIFF5's old LABEL, NUMBER, FORMULA, RK forms).
_BIFF_VALUES = frozenset((0x00FD, 0x0204, 0x0203, 0x027E, 0x0205, 0x0006, 0x00D6, 0x0004, 0x0003, 0x0406, 0x007E))


def _xls_extents(data: bytes, wanted: str | None) -> dict[str, tuple[int, int]]:
    """Return (rows, columns) from A1 to the last value of each worksheet of an .xls workbook to be read (`wanted`,
    else every one), read from its records before the spreadsheet reader lays any out; {} if it cannot be read
    (the reader then says what is wrong)."""
    import olefile  # noqa: PLC0415 - only for .xls workbooks

    try:
        with olefile.OleFileIO(data) as ole:
            name = "Workbook" if ole.exists("Workbook") else "Book"
            stream = ole.openstream(name).read() if ole.exists(name) else b""
    except (OSError, ValueError, IndexError, KeyError):
        return {}
    extents = {}
    for sheet, offset in _xls_sheets(stream):
        if wanted is None or sheet == wanted:
            extents[sheet] = _xls_extent(stream, offset)
    return extents


def _xls_records(stream: bytes, offset: int):
    """Yield (type, offset of its data, size) of each BIFF record from `offset` to the end of the stream."""
    while offset + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, offset)
        yield kind, offset + 4, size
        offset += 4 + size


def _xls_sheets(stream: bytes) -> list[tuple[str, int]]:
    """Return each worksheet's name and the offset of its records, from the workbook globals' BOUNDSHEET records."""
    sheets, biff8 = [], True
    for kind, at, size in _xls_records(stream, 0):
        if kind == _BIFF_BOF and size >= 2:
            biff8 = struct.unpack_from("<H", stream, at)[0] >= 0x0600
        elif kind == _BIFF_EOF:
            break
        elif kind == _BIFF_BOUNDSHEET and size >= 8:
            position, sheet_type, length = struct.unpack_from("<IxBB", stream, at)
            if sheet_type != 0:  # a chart or macro sheet: no answers, and calamine skips them
                continue
            if biff8:  # a flag byte says whether each character takes one byte or two
                wide = stream[at + 7] & 1 if size > 7 else 0
                raw = stream[at + 8:at + 8 + length * (2 if wide else 1)]
                name = raw.decode("utf-16-le" if wide else "latin-1", "replace")
            else:  # BIFF5: the name's bytes follow its length
                name = stream[at + 7:at + 7 + length].decode("latin-1", "replace")
            sheets.append((name, position))
    return sheets


def _xls_extent(stream: bytes, offset: int) -> tuple[int, int]:
    """Return (last row + 1, last column + 1) of the values in the worksheet whose records start at `offset`."""
    height = width = depth = 0
    for kind, at, size in _xls_records(stream, offset):
        if kind == _BIFF_BOF:
            depth += 1
        elif kind == _BIFF_EOF:
            depth -= 1
            if depth <= 0:
                break
        elif kind in _BIFF_VALUES and size >= 4:
            row, column = struct.unpack_from("<HH", stream, at)
            height, width = max(height, row + 1), max(width, column + 1)
        elif kind == _BIFF_MULRK and size >= 6:
            row, = struct.unpack_from("<H", stream, at)
            last, = struct.unpack_from("<H", stream, at + size - 2)
            height, width = max(height, row + 1), max(width, last + 1)
    return height, width


# A binary Excel workbook (.xlsb) is a zip of BIFF12 record streams. Each record starts with its type (1-2 bytes)
# and size (1-4 bytes), 7 bits a byte, the high bit saying another byte follows. calamine lays a sheet out from
# A1 to its last cell record (BrtRowHdr gives the row, each cell record starts with its column), whatever the
# sheet's BrtWsDim says; a writer may also claim a used range there. A sheet is measured by both, the larger.
_BRT_ROW_HDR, _BRT_CELL_FIRST, _BRT_CELL_LAST = 0x0000, 0x0001, 0x000B  # rows; blank, RK, error, bool, real, strings, formulas
_BRT_WS_DIM, _BRT_END_SHEET_DATA, _BRT_BUNDLE_SH = 0x0094, 0x0092, 0x009C


class _Unmeasurable(Exception):
    """A binary workbook's sheets could not be found or walked (refused as damaged, never read unmeasured)."""


def _xlsb_extents(archive: zipfile.ZipFile, etree, wanted: str | None) -> dict[str, tuple[int, int]]:
    """Return (rows, columns) from A1 to the last cell of each .xlsb sheet to be read (`wanted`, else every one),
    read from its records as they unpack, before the spreadsheet reader lays any out.

    Sheets are found as calamine finds them: the workbook part's BrtBundleSh records name each sheet and its
    relationship, and ``xl/_rels/workbook.bin.rels`` gives the relationship's part.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    rels = etree.fromstring(archive.read("xl/_rels/workbook.bin.rels"), parser)
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    with archive.open("xl/workbook.bin") as stream:
        bundles = [data for kind, data in _biff12_records(stream, {_BRT_BUNDLE_SH}) if kind == _BRT_BUNDLE_SH]
    names = set(archive.namelist())
    extents = {}
    for data in bundles:
        relationship, at = _xl_wide_string(data, 8)
        name, _at = _xl_wide_string(data, at)
        if wanted is not None and name != wanted:
            continue
        target = targets.get(relationship, "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        if not target or path not in names:
            raise _Unmeasurable(f"sheet {name!r}: no part {path!r}")
        with archive.open(path) as stream:
            extents[name] = _xlsb_extent(stream)
    return extents


def _xl_wide_string(data: bytes, at: int) -> tuple[str, int]:
    """Return an XLWideString (a 4-byte count of UTF-16 characters, then them) at `at`, and where it ends ("" if null)."""
    if at + 4 > len(data):
        raise _Unmeasurable("a sheet's name is cut short")
    length, = struct.unpack_from("<I", data, at)
    if length == 0xFFFFFFFF:
        return "", at + 4
    end = at + 4 + 2 * length
    if end > len(data):
        raise _Unmeasurable("a sheet's name is cut short")
    return data[at + 4:end].decode("utf-16-le", "replace"), end


def _xlsb_extent(stream) -> tuple[int, int]:
    """Return (last row + 1, last column + 1) of a .xlsb sheet: the larger of its cells' and its BrtWsDim's.

    Walks the records a megabyte at a time as they unpack (0.3 s of CPU per million cells; a record with a
    one-byte type and size, nearly every cell, is read inline) and stops as soon as the sheet spans more
    than MAX_SHEET_CELLS (it is refused whatever follows).
    """
    height = width = row = 0
    left, buffer, at, skip = _MAX_SHEET_BYTES, b"", 0, 0
    unpack = struct.unpack_from
    while chunk := stream.read(1 << 20):
        left -= len(chunk)
        if left < 0:
            raise ValueError("part larger than _MAX_SHEET_BYTES")
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        buffer, at, skip = buffer[at:] + chunk[skip:], 0, 0
        end = len(buffer)
        while at + 2 <= end:
            kind, size = buffer[at], buffer[at + 1]
            if kind < 0x80 and size < 0x80:  # a one-byte type and size
                begin = at + 2
            else:
                header = _biff12_header(buffer, at, end)
                if header is None:
                    break
                kind, begin, size = header
            if begin + size > end:  # the record runs into the next chunk
                if kind not in _XLSB_MEASURED:
                    skip, at = begin + size - end, end
                    break
                if begin + min(size, 16) > end:
                    break  # the bytes it is measured by are in the next chunk: read on from its header
            if kind in _XLSB_MEASURED:
                if kind == _BRT_END_SHEET_DATA:
                    return height, width
                if kind == _BRT_ROW_HDR:
                    row = unpack("<I", buffer, begin)[0] if size >= 4 else row
                elif kind == _BRT_WS_DIM:
                    if size >= 16:
                        _first_row, last_row, _first_column, last_column = unpack("<IIII", buffer, begin)
                        height, width = max(height, last_row + 1), max(width, last_column + 1)
                elif size >= 4:  # a cell: its column first
                    column = unpack("<I", buffer, begin)[0]
                    if row >= height or column >= width:
                        height, width = max(height, row + 1), max(width, column + 1)
                if height * width > MAX_SHEET_CELLS:
                    return height, width
            if begin + size > end:
                skip, at = begin + size - end, end
                break
            at = begin + size
    return height, width


_XLSB_MEASURED = frozenset({_BRT_ROW_HDR, _BRT_WS_DIM, _BRT_END_SHEET_DATA, *range(_BRT_CELL_FIRST, _BRT_CELL_LAST + 1)})


def _biff12_records(stream, wanted: set[int]):
    """Yield (type, first bytes of its data) of each BIFF12 record of a part as it unpacks, up to _MAX_SHEET_BYTES.

    Only the records whose type is in `wanted` (and BrtEndSheetData) give their data, and only its first 64
    bytes unless the record is small (a sheet's bundle record); the rest are skipped without being kept.
    """
    left, buffer, at, skip = _MAX_SHEET_BYTES, b"", 0, 0
    while True:
        chunk = stream.read(1 << 20)
        left -= len(chunk)
        if left < 0:
            raise ValueError("part larger than _MAX_SHEET_BYTES")
        if skip >= len(chunk):
            skip -= len(chunk)
            if not chunk:
                return
            continue
        buffer, at, skip = buffer[at:] + chunk[skip:], 0, 0
        end = len(buffer)
        while True:
            header = _biff12_header(buffer, at, end)
            if header is None:
                break
            kind, start, size = header
            if kind in wanted or kind == _BRT_END_SHEET_DATA:
                keep = size if size <= 1 << 16 else 64
                if start + keep > end:
                    break  # its data is in the next chunk
                yield kind, buffer[start:start + keep]
            if start + size > end:
                skip, at = start + size - end, end
                break
            at = start + size
        if not chunk:
            if at < end:
                raise _Unmeasurable("a record is cut short")
            return


def _biff12_header(buffer: bytes, at: int, end: int) -> tuple[int, int, int] | None:
    """Return a BIFF12 record's (type, offset of its data, size) at `at`, or None if its header runs past `end`."""
    kind = _biff12_number(buffer, at, end, 2, "a record type longer than two bytes")
    if kind is None:
        return None
    size = _biff12_number(buffer, kind[1], end, 4, "a record size longer than four bytes")
    return None if size is None else (kind[0], size[1], size[0])


def _biff12_number(buffer: bytes, at: int, end: int, most: int, too_long: str) -> tuple[int, int] | None:
    """Return a BIFF12 header number (7 bits a byte, the high bit saying another follows) at `at` and the offset after
    it; None if it runs past `end`; raise `_Unmeasurable(too_long)` past `most` bytes."""
    value = shift = 0
    for _ in range(most):
        if at >= end:
            return None
        byte = buffer[at]
        value, at, shift = value | (byte & 0x7F) << shift, at + 1, shift + 7
        if not byte & 0x80:
            return value, at
    raise _Unmeasurable(too_long)


def _refuse_unpacking_past_bound(archive: zipfile.ZipFile) -> None:
    """Raise :class:`UnreadableFile` if the workbook's parts unpack to more than _MAX_SHEET_BYTES between them
    (counted as they unpack, and checked against their checksums: a stated size may lie), before the reader
    unpacks any (shared strings too)."""
    left = _MAX_SHEET_BYTES
    for info in archive.infolist():
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                left -= len(chunk)
                if left < 0:
                    raise UnreadableFile(issue(messages.IMPORT_WORKBOOK_TOO_LARGE, ERROR,
                                               mb=str(_MAX_SHEET_BYTES // (1024 * 1024))))


class _Capped(io.RawIOBase):
    """A readable stream that stops (raising ValueError) after _MAX_SHEET_BYTES (the whole workbook's bound)."""

    def __init__(self, stream) -> None:
        """Wrap a decompressing stream."""
        self.stream, self.left = stream, _MAX_SHEET_BYTES

    def readable(self) -> bool:
        """Say the stream can be read."""
        return True

    def readinto(self, buffer) -> int:
        """Read into `buffer`, counting against the bound."""
        chunk = self.stream.read(min(len(buffer), 1 << 20))
        self.left -= len(chunk)
        if self.left < 0:
            raise ValueError("part larger than _MAX_SHEET_BYTES")
        buffer[:len(chunk)] = chunk
        return len(chunk)


_CELL_REF = re.compile(rb"""<(?:\w+:)?c\s[^>]*?\br=["']([A-Z]{1,4})([0-9]{1,9})["'][^>]*(?<!/)>""")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")


def _xlsx_extents(archive: zipfile.ZipFile, etree, wanted: str | None) -> dict[str, tuple[int, int]]:
    """Return (last row, last column) of each .xlsx sheet to be read, from the cells that hold something.

    Excel and every common writer name each cell (``<c r="K12">``), so the references are read with a
    regular expression over the decompressed XML, a megabyte at a time (0.6 s for 550,000 cells);
    an empty styled cell (``<c r="Z9" s="1"/>``) holds nothing and does not count. A sheet with an
    unnamed cell is measured row by row instead (:func:`_xlsx_extent_by_rows`).
    """
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    workbook = etree.fromstring(archive.read("xl/workbook.xml"), parser)
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), parser)
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    extents = {}
    for sheet in workbook.iter(f"{_SPREADSHEET_NS}sheet"):
        name, target = sheet.get("name") or "", targets.get(sheet.get(rel), "")
        if (wanted is not None and name != wanted) or not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        rows, columns, named, closed, left = {0}, {b""}, 0, 0, _MAX_SHEET_BYTES
        with archive.open(path) as stream:
            carried = b""
            while chunk := stream.read(1 << 20):
                left -= len(chunk)
                if left < 0:
                    raise ValueError("sheet larger than _MAX_SHEET_BYTES")
                text = carried + chunk
                cut = text.rfind(b"<")  # a tag is never split between two reads
                text, carried = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
                found = _CELL_REF.findall(text)
                named += len(found)
                closed += len(_CELL_END.findall(text))
                rows.update(row for _column, row in found)
                columns.update(column for column, _row in found)
            found = _CELL_REF.findall(carried)
            named, closed = named + len(found), closed + len(_CELL_END.findall(carried))
            rows.update(row for _column, row in found)
            columns.update(column for column, _row in found)
        if closed > named:
            extents[name] = _xlsx_extent_by_rows(archive, etree, path)
            continue
        last = max(columns, key=lambda c: (len(c), c))
        extents[name] = (max(int(r) for r in rows), _cell_position(last.decode() + "1")[1] + 1 if last else 0)
    return extents


def _xlsx_extent_by_rows(archive: zipfile.ZipFile, etree, path: str) -> tuple[int, int]:
    """Return (last row, last column) of an .xlsx sheet whose cells are not all named, placing each unnamed cell
    after the one before it (and an unnamed row after the row before it), as spreadsheet readers do."""
    height = width = row = 0
    with archive.open(path) as stream:
        for _event, element in etree.iterparse(_Capped(stream), events=("end",), tag=f"{_SPREADSHEET_NS}row",
                                               resolve_entities=False, no_network=True, huge_tree=True):
            number = element.get("r", "")
            row, column = (int(number) if number.isdigit() else row + 1), 0
            for cell in element:
                position = _cell_position(cell.get("r", ""))
                cell_row, column = (position[0] + 1, position[1] + 1) if position is not None else (row, column + 1)
                if len(cell):  # holds a value (or a formula)
                    height, width = max(height, cell_row), max(width, column)
            element.clear()
            while element.getprevious() is not None:  # rows already measured: keep the tree small
                del element.getparent()[0]
    return height, width


def _ods_extents(archive: zipfile.ZipFile, etree, wanted: str | None) -> dict[str, tuple[int, int]]:
    """Return (last row, last column) holding something of each .ods sheet to be read, repeats counted out.

    Parsed row by row: lxml hands Python one event per row (and per sheet), and the row's cells are read
    from it, so empty repeated rows and columns after the data (LibreOffice writes them) cost nothing.
    """
    table = f"{{{_ODS_TABLE}}}"
    extents: dict[str, tuple[int, int]] = {}
    sheet = {"name": "", "height": 0, "width": 0, "row": 0}
    with archive.open("content.xml") as stream:
        events = etree.iterparse(_Capped(stream), events=("start", "end"), tag=(f"{table}table", f"{table}table-row"),
                                 resolve_entities=False, no_network=True, huge_tree=True)
        for event, element in events:
            if element.tag != f"{table}table":
                if event == "end":
                    _ods_row(element, sheet)
            elif event == "start":
                sheet.update(name=element.get(f"{table}name", ""), height=0, width=0, row=0)
            elif wanted is None or sheet["name"] == wanted:
                extents[sheet["name"]] = (sheet["height"], sheet["width"])
    return extents


def _ods_row(element, sheet: dict) -> None:
    """Count one parsed .ods row (and its repeats) into the sheet's extent, then let go of it."""
    table, office = f"{{{_ODS_TABLE}}}", f"{{{_ODS_OFFICE}}}"
    repeated_rows, column = _repeats(element, f"{table}number-rows-repeated"), 0
    for cell in element:
        if cell.tag not in (f"{table}table-cell", f"{table}covered-table-cell"):
            continue
        column += _repeats(cell, f"{table}number-columns-repeated")
        if len(cell) or cell.get(f"{office}value-type"):
            sheet["height"] = max(sheet["height"], sheet["row"] + repeated_rows)
            sheet["width"] = max(sheet["width"], column)
    sheet["row"] += repeated_rows
    element.clear()
    while element.getprevious() is not None and element.getprevious().tag == element.tag:
        del element.getparent()[element.getparent().index(element) - 1]


def _repeats(element, attribute: str) -> int:
    """Return an .ods row's or cell's repeat count (1 when absent or unreadable)."""
    value = element.get(attribute, "") if element is not None else ""
    return int(value) if value.isdigit() else 1


def _first_row(grid: Sequence[Sequence[Any]]) -> list[str]:
    """Return the first non-empty row of a sheet as folded text."""
    for row in grid:
        cells = [_text(v) for v in row]
        if any(c.strip() for c in cells):
            return [fold(c) for c in cells]
    return []


def _choose_sheet(grids: Mapping[str, list], sheets: Sequence[str]) -> tuple[str, list[Issue]]:
    """Choose the sheet of answers: the only one with data, else one a known tool wrote, else the fullest."""
    headers = {name: _first_row(grids[name]) for name in sheets}
    filled = [name for name in sheets if sum(1 for row in grids[name] if any(_text(v).strip() for v in row)) >= 2]
    # Kobo writes each repeated group of questions on a sheet of its own, linked by _parent_index.
    repeats = [name for name in filled if {"_parent_index", "_submission__uuid"} & set(headers[name])]
    candidates = [name for name in filled if name not in repeats] or filled or list(sheets)
    if not candidates:
        raise UnreadableFile(issue(messages.IMPORT_EMPTY, ERROR))
    notes = []
    if repeats and len(candidates) < len(filled):
        notes.append(issue(messages.IMPORT_REPEAT_SHEETS, INFO, sheets=", ".join(repeats)))
    known = [name for name in candidates if _recognise(headers[name], 0).name]
    # Otherwise the sheet holding the most cells: a "read me" sheet of notes loses to a table of answers.
    chosen = known[0] if known else max(candidates, key=lambda name: (_size(grids[name]), -candidates.index(name)))
    if len(candidates) > 1:
        notes.append(issue(messages.IMPORT_SHEET_CHOSEN, WARNING, sheets=", ".join(candidates), sheet=chosen))
    return chosen, notes


def _size(grid: Sequence[Sequence[Any]]) -> int:
    """Count the non-blank cells of a sheet."""
    return sum(1 for row in grid for value in row if _text(value).strip())


def _xlsx_formulas(data: bytes, sheet: str) -> dict[tuple[int, int], bool]:
    """Return the formula cells of one .xlsx sheet: (row, column) from 0 -> whether a value was saved with it."""
    from lxml import etree  # noqa: PLC0415 - only for workbooks

    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook = etree.fromstring(archive.read("xl/workbook.xml"), parser)
            rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), parser)
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            target = next((targets.get(s.get(rel), "") for s in workbook.iter(f"{_SPREADSHEET_NS}sheet") if s.get("name") == sheet), "")
            path = target.lstrip("/") if target.startswith("/") else "xl/" + target
            raw = archive.read(path)
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError):
        return {}
    if not _FORMULA_TAG.search(raw):
        return {}
    found: dict[tuple[int, int], bool] = {}
    for _event, cell in etree.iterparse(io.BytesIO(raw), tag=f"{_SPREADSHEET_NS}c", resolve_entities=False, no_network=True):
        if cell.find(f"{_SPREADSHEET_NS}f") is not None:
            value = cell.find(f"{_SPREADSHEET_NS}v")
            position = _cell_position(cell.get("r", ""))
            if position is not None:
                found[position] = value is not None and bool(value.text)
        cell.clear()
    return found


def _cell_position(reference: str) -> tuple[int, int] | None:
    """Return (row, column) from 0 of a cell reference such as "C12"."""
    match = re.fullmatch(r"([A-Z]+)(\d+)", reference)
    if not match:
        return None
    column = 0
    for char in match.group(1):
        column = column * 26 + ord(char) - 64
    return int(match.group(2)) - 1, column - 1


def _text(value: Any) -> str:
    """Return a cell's value as the text a spreadsheet shows (dates in ISO 8601)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- headers and shape --------------------------------------------------------------------

_SURVEYMONKEY_WHOLE = {"response", "open-ended response", "respuesta", "reponse", "respuesta abierta"}


def _two_header_rows(first: list[str], second: list[str] | None) -> bool:
    """Tell whether the second row is a second header row (SurveyMonkey, or header cells spanning columns)."""
    if second is None:
        return False
    folded = [fold(c) for c in first]
    if "respondent id" in folded:
        return not second[folded.index("respondent id")].strip()
    last = max((i for i, c in enumerate(first) if c.strip()), default=-1)
    gaps = [i for i in range(1, len(first)) if not first[i].strip() and i < len(second) and any(c.strip() for c in first[:i])]
    if not gaps or second[0].strip():
        return False
    return all(second[i].strip() for i in gaps if i <= max(last, max(gaps)))


def _headers(first: list[str], second: list[str] | None, width: int) -> tuple[list[tuple[str, str, str, str]], int, list[Issue]]:
    """Return (name, header, group, sub) per column, the number of header rows, and what to tell."""
    first = [c.strip() for c in first] + [""] * (width - len(first))
    notes: list[Issue] = []
    out: list[tuple[str, str, str, str]] = []
    if _two_header_rows(first, second):
        assert second is not None
        second = [c.strip() for c in second] + [""] * (width - len(second))
        notes.append(issue(messages.IMPORT_TWO_HEADER_ROWS, INFO))
        parent = ""
        for i in range(width):
            top, sub = first[i], second[i]
            spans = i + 1 < width and not first[i + 1] and bool(second[i + 1])
            if top:
                parent = top
            if top and (not sub or (fold(sub) in _SURVEYMONKEY_WHOLE and not spans)):
                out.append((top, top, "", ""))
            elif parent and sub:
                out.append((f"{parent} - {sub}", parent, parent, sub))
            else:
                out.append((top or sub, top or sub, "", ""))
        header_rows = 2
    else:
        out = [(c, c, "", "") for c in first]
        header_rows = 1
    # LimeSurvey writes one column per choice as "code[SQ001]" or "Question text [Choice]".
    bracket_groups = Counter(m.group(1) for name, _h, group, _s in out if not group and (m := _BRACKETED.match(name)))
    named = []
    for name, header, group, sub in out:
        match = _BRACKETED.match(name) if not group else None
        if match and bracket_groups[match.group(1)] >= 2:
            group, sub = match.group(1), match.group(2)
        named.append((name, header, group, sub))
    # Unnamed columns take their letter; repeated names are numbered.
    seen: Counter[str] = Counter(n for n, *_ in named if n)
    counts: Counter[str] = Counter()
    final = []
    for i, (name, header, group, sub) in enumerate(named):
        if not name:
            name = column_letter(i)
            notes.append(issue(messages.IMPORT_UNNAMED_COLUMN, INFO, column=name))
        elif seen[name] > 1:
            counts[name] += 1
            if counts[name] == 1:
                notes.append(issue(messages.IMPORT_REPEATED_HEADER, INFO, header=name))
            name = f"{name} ({counts[name]})"
        final.append((name, header, group, sub))
    return final, header_rows, notes


_TIMESTAMP_NAMES = {"timestamp", "marca temporal", "horodateur", "dau thoi gian", "الطابع الزمني", "ٹائم سٹیمپ",
                    "zeitstempel", "carimbo de data/hora", "informazioni cronologiche", "marca de tiempo"}
_KOBO_META = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "audit",
              "__version__", "_version_", "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
              "_submitted_by", "_tags", "_index", "_attachments", "_geolocation", "_xform_id_string", "meta/instanceid",
              "meta/rootuuid", "meta/deprecatedid", "meta/instancename", "formhub/uuid", "instanceid", "_media_all_received",
              "_total_media", "_attachments_count"}
_ODK_META = {"submissiondate", "key", "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status",
             "reviewstate", "deviceid", "edits", "formversion", "meta-instanceid", "instanceid", "start", "end", "today"}
_MONKEY_META = {"respondent id", "collector id", "start date", "end date", "ip address", "custom data 1", "custom data"}
_LIME_META = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp", "ipaddr", "refurl", "token",
              "response id", "date submitted", "last page", "start language", "seed", "date started", "date last action",
              "ip address", "referrer url", "interviewtime", "total time"}


def _recognise(headers: Sequence[str], header_rows: int) -> Tool:
    """Recognise the tool that wrote an export from its folded column headers."""
    names = list(headers)
    present = set(names)

    def at(*candidates: str) -> int | None:
        """Return the index of the first header among ``candidates``, or None."""
        for candidate in candidates:
            if candidate in present:
                return names.index(candidate)
        return None

    if {"_uuid", "_submission_time"} & present or {"meta/instanceid", "formhub/uuid"} & present:
        return Tool("kobo", "KoboToolbox / ODK", at("_uuid", "meta/instanceid"), at("_submission_time", "end"), None,
                    frozenset(i for i, n in enumerate(names) if n in _KOBO_META or n.startswith("_")))
    if "submissiondate" in present and ({"key", "meta-instanceid"} & present):
        return Tool("odk", "ODK Central", at("key", "meta-instanceid", "instanceid"), at("submissiondate"), None,
                    frozenset(i for i, n in enumerate(names) if n in _ODK_META))
    if "respondent id" in present:
        return Tool("surveymonkey", "SurveyMonkey", at("respondent id"), at("end date", "start date"), None,
                    frozenset(i for i, n in enumerate(names) if n in _MONKEY_META))
    lime = {"id", "submitdate", "lastpage", "startlanguage"}
    lime_text = {"response id", "date submitted", "last page", "start language"}
    if len(lime & present) >= 3 or len(lime_text & present) >= 3:
        return Tool("limesurvey", "LimeSurvey", at("id", "response id"), at("submitdate", "date submitted"),
                    at("startlanguage", "start language"),
                    frozenset(i for i, n in enumerate(names) if n in _LIME_META or n.endswith("time") and "grouptime" in n.replace(" ", "")))
    if names and names[0] in _TIMESTAMP_NAMES:
        return Tool("google_forms", "Google Forms", None, 0, None, frozenset({0} | {i for i, n in enumerate(names) if n == "score"}))
    return Tool()


def _key(header: str, tool: Tool) -> str:
    """Return the tool's field name without its groups: the last segment of a Kobo or ODK path."""
    if tool.name == "kobo" and "/" in header:
        return header.rsplit("/", 1)[1]
    if tool.name == "odk" and "-" in header:
        return header.rsplit("-", 1)[1]
    return header


def _split_choices(columns: list[Column], tool: Tool) -> list[Column]:
    """Mark Kobo's and ODK's split multiple-choice columns ("q/choice" beside "q") as choices of their question."""
    separator = {"kobo": "/", "odk": "-"}.get(tool.name)
    if not separator:
        return columns
    headers = {c.header for c in columns}
    out = []
    for column in columns:
        parent, _, choice = column.header.rpartition(separator)
        if not column.group and parent in headers and choice:
            column = Column(column.index, column.name, column.header, choice, group=parent, sub=choice, letter=column.letter)
        out.append(column)
    return out


def _build(grid: list[list[Any]], formulas: Mapping[tuple[int, int], bool], notes: list[Issue], *, filename: str,
           kind: str, encoding: str, sheet: str, sheets: tuple[str, ...]) -> Table:
    """Turn a grid of raw cells into a :class:`Table`: headers, shape, rows and what to check."""
    start = next((i for i, row in enumerate(grid) if any(_text(v).strip() for v in row)), None)
    if start is None:
        raise UnreadableFile(issue(messages.IMPORT_EMPTY, ERROR))
    first = [_text(v) for v in grid[start]]
    second = [_text(v) for v in grid[start + 1]] if start + 1 < len(grid) else None
    # The header row sets the width, unless a second header row names columns the first leaves blank.
    width = len(first)
    if second is not None and len(second) > width and _two_header_rows(first + [""] * (len(second) - width), second):
        width = len(second)
    if width > MAX_COLUMNS:
        raise UnreadableFile(issue(messages.IMPORT_TOO_MANY_COLUMNS, ERROR, columns=str(width), max=str(MAX_COLUMNS)))
    named, header_rows, header_notes = _headers(first, second, width)
    tool = _recognise([fold(n) for n, *_ in named], header_rows)
    columns = [Column(i, name, header, _key(header, tool), group=group, sub=sub, letter=column_letter(i))
               for i, (name, header, group, sub) in enumerate(named)]
    columns = _split_choices(columns, tool)
    issues: list[Issue] = list(notes) + header_notes
    if tool.name:
        issues.append(issue(messages.IMPORT_RECOGNISED, INFO, tool=tool.label))
    rows: list[Row] = []
    skipped: list[int] = []
    names = [c.name for c in columns]
    for index in range(start + header_rows, len(grid)):
        raw = grid[index]
        number = index + 1
        cells = [_text(v) for v in raw]
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width:
            extra = cells[width:]
            if any(c.strip() for c in extra):
                issues.append(issue(messages.IMPORT_EXTRA_CELLS, ERROR, row=number, found=len(cells) - _trailing_blanks(cells), expected=width))
                skipped.append(number)
                continue
            cells = cells[:width]
        elif len(cells) < width:
            cells += [""] * (width - len(cells))
        for col, text in enumerate(cells):
            if formulas and (index, col) in formulas:
                if formulas[(index, col)]:
                    issues.append(issue(messages.IMPORT_FORMULA_VALUE, INFO, row=number, column=names[col]))
                else:
                    cells[col] = ""
                    issues.append(issue(messages.IMPORT_FORMULA_DROPPED, WARNING, row=number, column=names[col]))
            elif text and text[0] in "=+-@＝＋－＠﹦﹢﹣﹫ \t\r\u200b\u200e\u200f" and looks_like_formula(text):
                issues.append(issue(messages.IMPORT_FORMULA_TEXT, WARNING, row=number, column=names[col]))
        rows.append(Row(number, tuple(cells)))
    if not rows and not skipped:
        raise UnreadableFile(issue(messages.IMPORT_EMPTY, ERROR))
    return Table(filename=filename, format=kind, encoding=encoding, sheet=sheet, sheets=sheets, header_rows=header_rows,
                 columns=tuple(columns), rows=tuple(rows), tool=tool, issues=tuple(issues), skipped_rows=tuple(skipped))


def _trailing_blanks(cells: Sequence[str]) -> int:
    """Count the blank cells at the end of a row."""
    count = 0
    for cell in reversed(cells):
        if cell.strip():
            break
        count += 1
    return count
