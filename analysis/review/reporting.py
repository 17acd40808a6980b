"""A session's reports and data exports, written to a file: what the export page and an export job call.

Every report format (HTML, Word, Markdown), the codebook and the votes export, and the codebook part of
the data exports (CSV, Excel, JSON) take their report from :func:`analysis.review.tallies.report_data`:
counted in the database (one release from grouped counts, each theme's quotes, claims and sub-topics
read through its rank index only as far as they need), so a worker's memory no longer grows with the
session's answers (issue 19: under 500 MB at 100,000 residents). The data exports' answers are read
from SQL 1,000 at a time (:mod:`analysis.review.exports`). Outputs are the ones the full load of the
session gives (``tests/review/test_report_counts.py`` compares them byte for byte).
"""
from __future__ import annotations

import dataclasses

import sqlite_utils

from analysis import reports
from analysis.assemble import gettext_with
from listening.queries import record_audit

from . import exports
from .queries import (
    STATEMENT_KINDS,
    design_records,
    load,
    prompts_for_session,
    report_from,
    scope_prompt_ids,
    session_by_id,
    translations_for,
    visible_filter,
)
from .tallies import report_data


def export(db: sqlite_utils.Database, session_id: int, file, *, fmt: str, language: str,
           user_id: int | None = None, progress=None) -> str:
    """Write a report or data export of a session to a binary file, log it, and return its file name.

    `progress(done, total)` hears how far it is: rows written of rows to write for the data exports,
    else two steps (the report assembled, then written).
    """
    found = session_by_id(db, session_id)
    if found is None:
        raise ValueError(f"No session with id {session_id}")
    if fmt not in reports.FORMATS:
        raise ValueError(f"Unknown format {fmt!r}")
    if language not in found["languages"]:
        raise ValueError(f"{language!r} is not one of the session's languages")
    translations = translations_for(language)
    step = progress or (lambda done, total: None)
    if fmt in reports.STREAMED:
        _export_streamed(db, session_id, file, fmt=fmt, language=language, translations=translations, progress=progress)
    else:
        step(0, 2)
        report = (_votes_report(db, session_id, language, translations) if fmt == "votes"
                  else build_report(db, session_id, language, translations=translations))
        step(1, 2)
        reports.write(report, fmt, file, translations)
    name = reports.filename(found["code"], fmt, language)
    record_audit(db, user_id=user_id, action="export", target=found["code"], detail=f"format={fmt} language={language} file={name}")
    return name


def _votes_report(db: sqlite_utils.Database, session_id: int, language: str, translations):
    """Return the report a votes export writes: its title and segment columns, and every vote (no answers)."""
    # The report's counts from the database (one release, as every export), the voters' "about you"
    # answers from a load without the session's answers: memory that does not grow with them.
    report, _counted = report_data(db, session_id, language, translations=translations)
    stored = load(db, session_id, choices=False, answers=False)
    _keys, names = exports.segment_columns(stored.prompts)
    return dataclasses.replace(report, segment_names=names, **design_records(
        db, stored, language, names, gettext_with(translations)("Prefer not to say")))


def build_report(db: sqlite_utils.Database, session_id: int, language: str, *, records: bool = False,
                 translations=None):
    """Assemble a session's synthesis report (with ``records``, the answers export) in a language (see :func:`analysis.assemble.assemble_report`).

    Without ``records`` the report is counted in the database (:func:`tallies.report_data`: the same
    report, in memory that does not grow with the session); with them, from the session's full load.
    """
    if not records:
        return report_data(db, session_id, language, translations=translations)[0]
    stored = load(db, session_id)
    if stored is None:
        raise ValueError(f"No session with id {session_id}")
    return report_from(db, stored, language, records=records, translations=translations)


def _export_streamed(db: sqlite_utils.Database, session_id: int, file, *, fmt: str, language: str, translations,
                     progress=None) -> None:
    """Write a data export answer by answer (see `exports.py`), the codebook and rows read in one snapshot;
    `progress(rows written, rows to write + 1)` hears how far it is (a background job's report)."""
    started = not db.conn.in_transaction
    if started:
        db.execute("BEGIN")  # one read snapshot (WAL): writers carry on, this export sees one moment
    try:
        report = build_report(db, session_id, language, translations=translations)
        prompts = prompts_for_session(db, session_id)
        keys, names = exports.segment_columns(prompts)
        described = tuple(exports.described_columns(prompts, keys).values())
        report = dataclasses.replace(report, segment_names=names, described_names=described)
        if any(p["kind"] in STATEMENT_KINDS for p in prompts):
            stored = load(db, session_id, choices=False, answers=False)  # the voters' "about you" answers, not the answers
            report = dataclasses.replace(report, **design_records(
                db, stored, language, names, gettext_with(translations)("Prefer not to say")))
        scope = scope_prompt_ids(db, session_id)
        records = exports.answer_records(db, session_id, language, scope,
                                         prefer_not=gettext_with(translations)("Prefer not to say"),
                                         visible=visible_filter(db))
        if progress is not None:
            # Counted in the same snapshot as the rows, so "rows written of rows to write" ends where it should.
            records = exports.counted(records, exports.count_answer_records(db, session_id, scope, visible=visible_filter(db)),
                                      progress)
        reports.write_streamed(report, fmt, records, file, translations)
    finally:
        if started:
            db.conn.rollback()
