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


def assert_formats_same_without_the_full_load(db, sid: int, monkeypatch) -> None:
    """What `reporting.export` writes (counted) is byte for byte what the full load's report writes (Word: its text);
    and every report format and data export is written without loading the session's answers, people, choices or
    "about you" answers (the full load), so a worker's memory does not grow with them."""
    monkeypatch.setattr(synthesis, "now", lambda: STAMP)
    expected = {}
    for fmt in ("html", "md", "codebook", "docx"):
        expected[fmt] = written(full_report(db, sid, "es"), fmt, "es")

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
    for fmt, before in expected.items():
        out = io.BytesIO()
        reporting.export(db, sid, out, fmt=fmt, language="es")
        assert (docx_text(out.getvalue()) == docx_text(before)) if fmt == "docx" else out.getvalue() == before, fmt


def test_the_counted_report_is_the_full_loads_and_keeps_its_exclusions(client, themed, db, monkeypatch):
    """Chosen and picked quotes, claims, sub-topics, a translation, choice results, tables by group, priority groups and
    the representation table are the same, and so is every report format's file; after a withdrawal, a hidden answer
    and a higher threshold too, and the withdrawn person's and the hidden answer's words are in no report."""
    sid = varied(client, themed, db)
    assert_reports_same(db, sid, ("en", "es", "ar"))
    report = tallies.report_data(db, sid, "en")[0]
    assert report.themes and report.participation and report.theme_by_group and report.priority and report.choice_results
    assert any(t.claims for t in report.themes)
    quoted = report_quotes(db, sid)
    consented = {i for (i,) in db.execute(
        "SELECT r.id FROM responses r JOIN consents c ON c.participant_id = r.participant_id WHERE r.session_id = ? AND c.quote_ok",
        (sid,))}
    assert quoted and set(quoted) <= consented  # only from people who allowed quoting
    with monkeypatch.context() as patched:
        assert_formats_same_without_the_full_load(db, sid, patched)
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


def test_the_counted_report_equals_the_full_load_on_random_sessions(app, db):
    """Random sessions (retired themes, hidden and blank answers, withdrawn people, another session's author, small
    groups and both thresholds): the same report, so the same things hidden."""
    with app.test_request_context():
        for seed in (0, 3, 8):  # one with every answer in its author's language, one with another session's author
            sid = random_session(db, seed)
            try:
                assert_reports_same(db, sid, ("en",))
            except AssertionError as failed:
                raise AssertionError(f"random session {seed}") from failed


# --- the REFI-QDA project, written answer by answer ----------------------------------------------------------


def streamed_qdpx(project) -> bytes:
    """Write a project through the streaming writer, its sources offered one at a time."""
    from analysis import qdpx

    by_source = {}
    for coding in project.codings:
        by_source.setdefault(coding.source_id, []).append(coding)
    out = io.BytesIO()
    qdpx.write_qdpx_streamed(out, name=project.name, codes=project.codes,
                             sources=lambda: ((s, by_source.get(s.id, [])) for s in project.sources),
                             variable_names={n for s in project.sources for n in s.variables}, origin=project.origin,
                             created_at=project.created_at, description=project.description)
    return out.getvalue()


def test_the_streamed_qdpx_writer_gives_the_same_bytes_as_the_whole_project():
    """Code hierarchy, partial codings, control characters, notes, variables on some sources only, no sources at all."""
    import dataclasses
    import datetime as dt

    from analysis import qdpx

    codes = (qdpx.QdaCode("7", "Getting there", "Transport.", children=(qdpx.QdaCode("7.1", "Buses", "Routes."),),
                          color="#1b9e77"), qdpx.QdaCode("9", "Language", ""))
    sources = (qdpx.QdaSource("101", "The bus only comes twice a day.", "Q1", {"language": "en", "question": "What was hard?"}),
               qdpx.QdaSource("102", "Nadie en la clínica hablaba español.", "", {"language": "es", "question": "What was hard?"}),
               qdpx.QdaSource("103", "لم يكن هناك مترجم ولا حافلة", "", {"language": "ar"}),
               qdpx.QdaSource("104", "Control \x01 characters & <tags> are text.\n", ""))
    codings = (qdpx.QdaCoding("101", "7"), qdpx.QdaCoding("101", "7.1"), qdpx.QdaCoding("102", "9"),
               qdpx.QdaCoding("103", "9"), qdpx.QdaCoding("103", "7", start=17, end=26))
    project = qdpx.QdaProject("Prenatal care, spring 2026", codes, sources, codings, description="Quoted answers.",
                              created_at=dt.datetime(2026, 4, 2, 9, 30, tzinfo=dt.UTC))
    noted = dataclasses.replace(project, sources=tuple(
        dataclasses.replace(s, notes=(qdpx.QdaNote(f"Translation: chorus-{s.id} (en)", "A bus\nat <dawn> & dusk"),))
        if s.id in ("102", "103") else s for s in project.sources))
    for case in (project, noted, dataclasses.replace(project, sources=(), codings=()),
                 dataclasses.replace(project, codes=(), codings=(), description="")):
        assert streamed_qdpx(case) == qdpx.write_qdpx(case)


def test_the_qdpx_export_is_the_same_file_as_from_the_full_load_and_never_reads_every_answer(client, themed, db, monkeypatch):
    """Read from SQL a batch at a time, the project is byte for byte the one the full load gave: only quote-consented,
    redacted answers in the default set, with the staff translation as a note; no withdrawn person, no hidden answer.
    It is written, and its codes read back and applied, without the session's full load (the same plan as before)."""
    from analysis import qdpx
    from analysis.review import qdpx_queries

    sid = themed.session["id"]  # themes drafted by the engine; one reviewed, one translation of a quotable answer
    theme = next(t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme")
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    quotable = db.execute(
        """SELECT r.id FROM responses r JOIN consents c ON c.participant_id = r.participant_id
           JOIN theme_assignments a ON a.response_id = r.id WHERE r.session_id = ? AND c.quote_ok AND a.theme_id = ?
           ORDER BY r.id LIMIT 1""", (sid, theme["id"])).fetchone()[0]
    queries.store_answer_translation(db, quotable, "The bus never comes", language="en", user_id=themed.planner_id)
    db.conn.commit()
    real_load, real_stamp = synthesis.load, qdpx._timestamp
    # The project's time is the moment it is written (to the second): the same moment for both ways of writing it.
    monkeypatch.setattr(qdpx, "_timestamp", lambda moment: real_stamp(moment) if moment else "2026-12-01T23:00:00Z")
    hidden = db.execute("SELECT id FROM responses WHERE session_id = ? AND text IS NOT NULL ORDER BY id DESC LIMIT 1",
                        (sid,)).fetchone()[0]
    lq.hide_response(db, sid, hidden, user_id=themed.planner_id, reason="abuse")
    db.execute("UPDATE themes SET reviewed_at = NULL WHERE id = (SELECT min(id) FROM themes WHERE session_id = ?)", (sid,))
    db.conn.commit()
    for answer_set, drafts in (("quoted", False), ("quoted", True), ("internal", True)):
        out = io.BytesIO()
        qdpx_queries.export_qdpx(db, sid, out, answer_set=answer_set, drafts=drafts, draft_mark="Draft:", user_id=None)
        whole = qdpx.write_qdpx(qdpx_queries.qdpx_project(synthesis.load(db, sid), answer_set=answer_set, drafts=drafts,
                                                          draft_mark="Draft:"))
        assert out.getvalue() == whole, (answer_set, drafts)
        back = qdpx.read_qdpx(out.getvalue(), source_ids=[str(hidden)])
        assert str(hidden) not in {s.id for s in back.sources}
        if answer_set == "quoted":
            assert any(s.notes for s in back.sources)
            consented = {str(i) for (i,) in db.execute(
                "SELECT r.id FROM responses r JOIN consents c ON c.participant_id = r.participant_id WHERE c.quote_ok")}
            assert {s.id for s in back.sources} <= consented

    def refuse(*_args, **_kwargs):
        """Fail the test: the full list of answers or people was asked for."""
        raise AssertionError("read every answer")

    expected = qdpx_queries.qdpx_plan(db, sid, written_project(db, sid))
    for name in ("open_answers", "taking_part", "choice_answers", "participant_segments"):
        monkeypatch.setattr(synthesis, name, refuse)
    monkeypatch.setattr(synthesis, "load", lambda db_, sid_, **kw: refuse() if kw.get("answers", True) else real_load(db_, sid_, **kw))
    out = io.BytesIO()
    assert qdpx_queries.export_qdpx(db, sid, out, answer_set="internal", drafts=True, draft_mark="Draft:", user_id=None)
    plan = qdpx_queries.qdpx_plan(db, sid, out.getvalue())  # bringing codes back reads ids and placements only
    assert plan.themes and plan == expected
    assert qdpx_queries.apply_qdpx_plan(db, sid, [list(t) for t in plan.themes], user_id=None)


def written_project(db, sid: int) -> bytes:
    """The session's internal project with drafts, as the full load wrote it."""
    from analysis import qdpx
    from analysis.review import qdpx_queries

    return qdpx.write_qdpx(qdpx_queries.qdpx_project(synthesis.load(db, sid), answer_set="internal", drafts=True,
                                                     draft_mark="Draft:"))


def test_a_redaction_remembers_a_bounded_number_of_texts(monkeypatch):
    """Redacting every answer once (a project of 200,000) keeps at most REDACTION_MEMO texts, with the same results."""
    from analysis import text as text_module

    monkeypatch.setattr(text_module, "REDACTION_MEMO", 3)
    redaction = text_module.Redaction(names=("Maria Lopez",))
    fresh = text_module.Redaction(names=("Maria Lopez",))
    said = [f"Maria Lopez at the clinic, visit {n}" for n in range(10)]
    first = [redaction(t) for t in said]
    assert len(redaction.done) <= 3
    assert first == [redaction(t) for t in said] == [text_module.redact(t, names=fresh.names, vocabulary=fresh.vocabulary)
                                                     for t in said]
    assert all("Maria Lopez" not in shown for shown in first)
