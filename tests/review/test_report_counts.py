"""Reports and the data exports' codebook counted in SQL (issue 19, memory) are the reports the full load of the
session makes, byte for byte, with the same exclusions, and never read every answer or person into Python."""
from __future__ import annotations

import io

import pytest
from docx import Document

from analysis import disclosure, reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from analysis.review import tallies
from facilitation import live_queries as lq
from listening import queries
from tests.review.test_tallies import random_session, same_report, varied

STAMP = "2026-12-01T23:00:00.000000Z"


def full_report(db, sid: int, language: str):
    """The report as Chorus made it before: from the session's full load."""
    return synthesis.report_from(db, synthesis.load(db, sid), language)


def assert_reports_same(db, sid: int, languages=("en", "es")) -> None:
    """The counted report equals the full load's in each language (the minute it was made aside)."""
    for language in languages:
        counted, _stored = tallies.report_data(db, sid, language)
        assert same_report(counted, full_report(db, sid, language)), language


def written(report, fmt: str, language: str) -> bytes:
    """Write a report in a format and its language and return the bytes."""
    out = io.BytesIO()
    reports.write(report, fmt, out, synthesis.translations_for(language))
    return out.getvalue()


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a Word document (its zip dates change by the second)."""
    document = Document(io.BytesIO(data))
    return "\n".join([p.text for p in document.paragraphs] +
                     [cell.text for table in document.tables for row in table.rows for cell in row.cells])


def report_quotes(db, sid: int) -> dict[int, str]:
    """Return the answers the counted report quotes: {answer id: the words it prints}."""
    stored = synthesis.load(db, sid, lenses=False, answers=False)
    counted = tallies.Counted(db, stored)
    printed = {q.text for t in tallies.report_data(db, sid, "en")[0].themes for q in t.quotes}
    found = {q["id"]: q["excerpt"] for t in stored.themes if t["kind"] == "theme" for q in counted.quotes(t)}
    assert set(found.values()) >= printed
    return {i: text for i, text in found.items() if text in printed}


def test_the_counted_report_is_the_full_loads_and_keeps_its_exclusions(client, themed, db):
    """Chosen and picked quotes, claims, sub-topics, a translation, choice results, tables by group, priority groups and
    the representation table are the same; after a withdrawal, a hidden answer and a higher threshold too, and the
    withdrawn person's and the hidden answer's words are in no report."""
    sid = varied(client, themed, db)
    assert_reports_same(db, sid, ("en", "es", "ar"))
    report = tallies.report_data(db, sid, "en")[0]
    assert report.themes and report.participation and report.theme_by_group and report.priority and report.choice_results
    assert any(t.claims for t in report.themes)
    quoted = report_quotes(db, sid)
    first = min(quoted)
    author = db.execute("SELECT participant_id FROM responses WHERE id = ?", (first,)).fetchone()[0]
    queries.withdraw_for(db, author, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=themed.planner_id)
    db.conn.commit()
    assert first not in report_quotes(db, sid)
    assert_reports_same(db, sid)
    shown = min(report_quotes(db, sid))
    lq.hide_response(db, sid, shown, user_id=themed.planner_id, reason="abuse")
    db.conn.commit()
    assert shown not in report_quotes(db, sid)
    assert_reports_same(db, sid)
    synthesis.save_settings(db, sid, threshold=disclosure.MAX_THRESHOLD)
    db.conn.commit()
    assert_reports_same(db, sid)


def test_quotes_only_from_people_who_allowed_quoting(client, themed, db):
    """Every quote of the counted report is the words of someone who allowed quoting."""
    sid = varied(client, themed, db)
    quoted = report_quotes(db, sid)
    assert quoted
    consented = {i for (i,) in db.execute(
        "SELECT r.id FROM responses r JOIN consents c ON c.participant_id = r.participant_id WHERE r.session_id = ? AND c.quote_ok",
        (sid,))}
    assert set(quoted) <= consented


def test_the_counted_report_equals_the_full_load_on_random_sessions(app, db):
    """Random sessions (retired themes, hidden and blank answers, withdrawn people, another session's author, small
    groups and both thresholds): the same report, so the same things hidden."""
    with app.test_request_context():
        for seed in range(6):
            sid = random_session(db, seed)
            try:
                assert_reports_same(db, sid, ("en",))
            except AssertionError as failed:
                raise AssertionError(f"random session {seed}") from failed


@pytest.mark.parametrize("fmt", ["html", "md", "codebook", "docx"])
def test_every_report_format_is_the_same_file_as_from_the_full_load(client, themed, db, monkeypatch, fmt):
    """What `synthesis.export` writes (counted) is byte for byte what the full load's report writes (Word: its text)."""
    sid = varied(client, themed, db)
    monkeypatch.setattr(synthesis, "now", lambda: STAMP)
    out = io.BytesIO()
    reporting.export(db, sid, out, fmt=fmt, language="es")
    before = written(full_report(db, sid, "es"), fmt, "es")
    if fmt == "docx":
        assert docx_text(out.getvalue()) == docx_text(before)
    else:
        assert out.getvalue() == before


def test_reports_and_exports_never_read_every_answer_or_person(client, themed, db, monkeypatch):
    """Every report format and data export is written without loading the session's answers, people, choices or
    "about you" answers (the full load), so a worker's memory does not grow with them."""
    sid = varied(client, themed, db)

    def refuse(*_args, **_kwargs):
        """Fail the test: the full list of answers or people was asked for."""
        raise AssertionError("read every answer")

    for name in ("open_answers", "taking_part", "choice_answers", "counted_answers", "participant_segments",
                 "participant_described"):
        monkeypatch.setattr(synthesis, name, refuse)
    for fmt in reports.FORMATS:
        if fmt == "votes":
            continue  # a votes export reads its voters' "about you" answers (a session with statements)
        assert reporting.export(db, sid, io.BytesIO(), fmt=fmt, language="en")
