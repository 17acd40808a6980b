"""The data exports (CSV, Excel, JSON) are written answer by answer from SQL: the same content as the
report's in-memory records, with memory that does not grow with the number of answers."""
from __future__ import annotations

import io
import json
import tempfile
import tracemalloc

import pytest
from openpyxl import load_workbook

from analysis import reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from tests.review.conftest import answer
from tests.factories import make_participant


def in_memory(db, sid: int, fmt: str) -> bytes:
    """Export the way Chorus did before streaming: the whole report with every record, then the writer."""
    out = io.BytesIO()
    report = reporting.build_report(db, sid, "en", records=True)
    reports.write(report, fmt, out)
    return out.getvalue()


def streamed(db, sid: int, fmt: str) -> bytes:
    """Export through `synthesis.export`, which streams the answers."""
    out = io.BytesIO()
    reporting.export(db, sid, out, fmt=fmt, language="en")
    return out.getvalue()


@pytest.fixture
def mixed(themed, db):
    """The themed session with one answer moved off-topic, one theme retired by a merge, and a control character stored."""
    sid = themed.session["id"]
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    if len(themes) > 1:
        synthesis.merge_themes(db, sid, themes[0]["id"], themes[1]["id"], user_id=None)
    person = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, person, themed.prompts[0], text="bell\x07 and form\x0c feed at the clinic")
    first = synthesis.open_answers(db, sid)[0]
    synthesis.move_answer(db, sid, first["id"], None, user_id=None, off_topic=True)
    return themed


def test_streamed_csv_is_byte_for_byte_the_in_memory_csv(mixed, db):
    """Same rows, same order, same cleaning and formula guard: the CSV does not change by streaming."""
    sid = mixed.session["id"]
    assert streamed(db, sid, "csv") == in_memory(db, sid, "csv")
    assert b"\x07" not in streamed(db, sid, "csv")


def test_streamed_json_holds_the_same_data(mixed, db):
    """The JSON export parses to the same object (the minute it was made aside)."""
    sid = mixed.session["id"]
    new, old = json.loads(streamed(db, sid, "json")), json.loads(in_memory(db, sid, "json"))
    for data in (new, old):
        data["session"].pop("generated_at")
    assert new == old and len(new["answers"]) > 30


def test_streamed_xlsx_has_the_same_cells(mixed, db):
    """Every sheet of the write-only workbook holds the same cells as before (generation time aside)."""
    sid = mixed.session["id"]
    new = load_workbook(io.BytesIO(streamed(db, sid, "xlsx")))
    old = load_workbook(io.BytesIO(in_memory(db, sid, "xlsx")))
    assert new.sheetnames == old.sheetnames == ["About", "Answers", "Codebook"]
    for name in ("Answers", "Codebook"):
        assert [list(r) for r in new[name].iter_rows(values_only=True)] == [list(r) for r in old[name].iter_rows(values_only=True)]
    assert new["Answers"].freeze_panes == "A2"



class AnswerArrivesMidExport(io.BytesIO):
    """A download during which, once its first bytes are written (before any answer row is read), a resident answers
    on another connection: the answer is committed while the export streams."""

    def __init__(self, arrive):
        super().__init__()
        self.arrive = arrive

    def write(self, data):
        if self.arrive is not None:
            arrive, self.arrive = self.arrive, None
            arrive()
        return super().write(data)


def test_an_export_shows_one_moment_while_residents_keep_answering(heard, app, db):
    """An answer saved while a JSON export streams is not in it (the export reads one snapshot from its first read
    to its last row), the snapshot is over once the export returns (its audit line written and committed, no write
    refused for a stale snapshot), and the next export has the answer."""
    from listening.db import connect

    sid = heard.session["id"]
    before = json.loads(streamed(db, sid, "json"))
    other = connect(app.config["DATABASE"])
    try:
        def a_resident_answers():
            person = make_participant(other, heard.session, quote_ok=True)
            answer(other, heard.session, person, heard.prompts[0], text="The late bus again, said while the export ran")

        download = AnswerArrivesMidExport(a_resident_answers)
        reporting.export(db, sid, download, fmt="json", language="en", user_id=heard.planner_id)
        assert download.arrive is None  # the answer did arrive mid-export
        during = json.loads(download.getvalue())
        assert not db.conn.in_transaction
        audit = other.execute("SELECT action, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        assert tuple(audit) == ("export", "format=json language=en file=" + reports.filename(heard.session["code"], "json", "en"))
    finally:
        other.conn.close()
    texts = lambda export: [a["text"] for a in export["answers"]]  # noqa: E731
    assert texts(during) == texts(before) and during["session"]["participants"] == before["session"]["participants"]
    after = json.loads(streamed(db, sid, "json"))
    assert texts(after) == texts(before) + ["The late bus again, said while the export ran"]


def records(n: int):
    """Yield n made-up answer records, each distinct."""
    for i in range(n):
        yield reports.AnswerRecord(id=i, prompt_number=1, prompt="What helps?", language="en", source="phone",
                                   text=f"answer number {i} about buses, doulas and the clinic " * 3, theme_id="T1",
                                   theme="Buses", status="theme", reviewed=True, quote_ok=bool(i % 2),
                                   created_at="2026-11-30T12:00:00", segments=(("about_age", "Under 30"),))


def peak_bytes(fmt: str, n: int) -> int:
    """Return the peak Python memory of writing n streamed records in a format to a file that keeps nothing."""
    class Sink(io.RawIOBase):
        """A binary file that throws away what is written (as a socket would send it on)."""

        def writable(self):
            """Say it can be written to."""
            return True

        def write(self, data):
            """Accept and forget the bytes."""
            return len(data)

    report = reports.Report(code="ABC123", title="T", purpose="", language="en", direction="ltr", generated_at="now",
                            questions=("What helps?",), participants=None, answers=None, threshold=10,
                            segment_names=("about_age",))
    sink = tempfile.TemporaryFile() if fmt == "xlsx" else Sink()
    tracemalloc.start()
    reports.write_streamed(report, fmt, records(n), sink)
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sink.close()
    return peak


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_streamed_exports_use_flat_memory_in_the_number_of_answers(fmt):
    """Writing 8,000 answers takes no more than twice the peak memory of 1,000 (it would be eight times if held)."""
    small, big = peak_bytes(fmt, 1_000), peak_bytes(fmt, 8_000)
    assert big < 2 * small + 200_000, (small, big)


def test_the_workbook_keeps_its_cells_out_of_memory():
    """openpyxl's write-only mode: 8,000 rows cost about what 1,000 do, beyond the compressed file itself."""
    small, big = peak_bytes("xlsx", 1_000), peak_bytes("xlsx", 8_000)
    assert big < 3 * small, (small, big)


def test_clean_record_cleans_every_string_as_the_generic_walk_does():
    """A record with a forbidden character in every text field and segment comes out as `cleaned` makes it; a clean one is not copied."""
    dirty = reports.AnswerRecord(id=1, prompt_number=1, prompt="q\x01", language="en\x02", source="phone\x03", text="t\x07\ud800",
                                 theme_id="T1\x0b", theme="Buses\x0c", status="theme\x0e", reviewed=True, quote_ok=False,
                                 created_at="2026\x1f", segments=(("about_age\x10", "Under 30\x11"),))
    assert reports.clean_record(dirty) == reports.cleaned(dirty)
    clean = next(records(1))
    assert reports.clean_record(clean) is clean


def test_a_big_download_is_sent_from_its_temporary_file_and_freed_when_sent(client, themed, db, monkeypatch):
    """Past the spool size the export goes out from the temporary file, with the same bytes, and the file is closed with the response."""
    from analysis.review import views
    from tests.conftest import download, sign_in

    sign_in(client, "lead@example.org", "a long password")
    small = download(client, themed.session["id"], "csv")
    expected = small.get_data()
    small.close()
    monkeypatch.setattr(views, "EXPORT_SPOOL_BYTES", 10)
    big = download(client, themed.session["id"], "csv")
    assert big.status_code == 200 and big.headers["Cache-Control"] == "no-store"
    assert big.get_data() == expected
    big.close()
