"""Binary Excel workbooks (.xlsb) are measured from their BIFF12 records before the reader lays a sheet out."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from analysis import importing, messages
from analysis.importing import MAX_SHEET_CELLS, UnreadableFile, read_table


def record(kind: int, data: bytes = b"") -> bytes:
    """Return one BIFF12 record: its type and size, 7 bits a byte (high bit: another byte follows), then its data."""
    out = bytearray()
    for number in (kind, len(data)):
        while True:
            byte, number = number & 0x7F, number >> 7
            out.append(byte | (0x80 if number else 0))
            if not number:
                break
    return bytes(out) + data


def wide(text: str) -> bytes:
    """Return an XLWideString."""
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def xlsb(cells: list[tuple[int, int, object]], *, dimension: tuple[int, int, int, int] | None = None,
         target: str = "worksheets/sheet1.bin") -> bytes:
    """Return a one-sheet .xlsb ("Answers") holding (row, column, text or number) cells, its BrtWsDim as given (else true)."""
    last_row, last_column = max(r for r, _c, _v in cells), max(c for _r, c, _v in cells)
    sheet = bytearray(record(129) + record(148, struct.pack("<IIII", *(dimension or (0, last_row, 0, last_column)))) + record(145))
    current = None
    for row, column, value in sorted(cells):
        if row != current:
            sheet += record(0, struct.pack("<IIHBBBI", row, 0, 300, 0, 0, 0, 0))
            current = row
        sheet += record(6, struct.pack("<II", column, 0) + wide(value)) if isinstance(value, str) else \
            record(5, struct.pack("<IId", column, 0, float(value)))
    sheet += record(146) + record(130)
    book = record(131) + record(143) + record(156, struct.pack("<II", 0, 1) + wide("rId1") + wide("Answers")) + record(144) + record(132)
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{target}"/>'
            '</Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", book)
        archive.writestr("xl/_rels/workbook.bin.rels", rels)
        archive.writestr("xl/worksheets/sheet1.bin", bytes(sheet))
    return out.getvalue()


def test_a_small_binary_workbook_is_read() -> None:
    """An .xlsb of answers is measured (3 rows, 2 columns) and read."""
    data = xlsb([(0, 0, "name"), (0, 1, "answer"), (1, 0, "Ana"), (1, 1, "Buses are late"), (2, 0, "Bo"), (2, 1, 3)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        from lxml import etree

        assert importing._xlsb_extents(archive, etree, None) == {"Answers": (3, 2)}
    table = read_table(data, "answers.xlsb")
    assert [c.name for c in table.columns] == ["name", "answer"] and table.sheet == "Answers"


@pytest.mark.parametrize("dimension", [(0, 0, 0, 0), None], ids=["claims-one-cell", "claims-the-truth"])
def test_a_kilobyte_binary_workbook_with_one_far_cell_is_refused_before_it_is_laid_out(dimension) -> None:
    """A 1 KB .xlsb with one value at XFD1048576 (17 billion cells laid out; one at row 200,000, column 100 took 791 MB)
    is refused with the translated message, whether its BrtWsDim owns up to the range or claims one cell."""
    data = xlsb([(0, 0, "name"), (1_048_575, 16_383, "x")], dimension=dimension)
    assert len(data) < 2000
    with pytest.raises(UnreadableFile) as refused:
        read_table(data, "far.xlsb")
    assert refused.value.issue.message == messages.IMPORT_TOO_BIG_SHEET
    assert "1048576 rows and 16384 columns" in str(refused.value)


def test_a_binary_workbook_claiming_a_huge_range_is_refused_and_one_at_the_limit_read() -> None:
    """BrtWsDim's claim counts too (a writer's used range); a sheet of exactly MAX_SHEET_CELLS is not refused."""
    claimed = xlsb([(0, 0, "name"), (1, 0, "Ana")], dimension=(0, 99_999, 0, 200))
    with pytest.raises(UnreadableFile) as refused:
        read_table(claimed, "claimed.xlsb")
    assert refused.value.issue.message == messages.IMPORT_TOO_BIG_SHEET
    at_limit = xlsb([(0, 0, "name"), (1, 0, "Ana")], dimension=(0, MAX_SHEET_CELLS // 1000 - 1, 0, 999))
    importing._refuse_oversized_sheets(at_limit, None)  # measured, not refused


def test_a_binary_workbook_whose_sheet_cannot_be_found_or_walked_is_refused_as_damaged() -> None:
    """Nothing unmeasured reaches the reader: a sheet pointing at no part, or a record cut short, is refused as damaged."""
    for data in (xlsb([(0, 0, "name")], target="worksheets/missing.bin"),):
        with pytest.raises(UnreadableFile) as refused:
            read_table(data, "broken.xlsb")
        assert refused.value.issue.message == messages.IMPORT_BROKEN_WORKBOOK
    good = xlsb([(0, 0, "name")])
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/workbook.bin"] = parts["xl/workbook.bin"][:-12]  # the sheet's bundle record cut short
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    with pytest.raises(UnreadableFile) as cut:
        read_table(out.getvalue(), "cut.xlsb")
    assert cut.value.issue.message == messages.IMPORT_BROKEN_WORKBOOK


def test_a_binary_workbook_unpacking_past_the_bound_is_refused(monkeypatch) -> None:
    """The parts of an .xlsb are counted as they unpack against the same bound as an .xlsx's (1 GiB; here 500 bytes)."""
    monkeypatch.setattr(importing, "_MAX_SHEET_BYTES", 500)
    data = xlsb([(row, 0, f"answer {row}") for row in range(200)])
    with pytest.raises(UnreadableFile) as refused:
        read_table(data, "big.xlsb")
    assert refused.value.issue.message == messages.IMPORT_WORKBOOK_TOO_LARGE


def test_records_split_across_reads_are_measured_the_same() -> None:
    """A sheet read a few bytes at a time (records split between reads, long ones skipped) measures as read whole."""
    data = xlsb([(0, 0, "x" * 300), (5, 3, 1.5), (70, 9, "y")])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.bin")

    class Trickle(io.RawIOBase):
        """Give at most 7 bytes a read."""

        def __init__(self, raw: bytes) -> None:
            """Keep the bytes."""
            self.raw, self.at = raw, 0

        def read(self, n: int = -1) -> bytes:
            """Return the next few bytes."""
            piece = self.raw[self.at:self.at + 7]
            self.at += len(piece)
            return piece

    assert importing._xlsb_extent(Trickle(sheet)) == importing._xlsb_extent(io.BytesIO(sheet)) == (71, 10)
