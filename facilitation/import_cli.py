"""`chorus import`: the import page's steps on the command line, with the same engine, plan and store.

It reads the file, proposes the mapping, applies any corrections given as JSON, plans with the
consent rule given, prints how the file was read and what would be stored, refused or left to
check (in English, the language of the command line), and stores it in one transaction unless
``--dry-run``. Importing the same file again stores only rows not imported before.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from analysis import import_mapping as im
from analysis.importing import ERROR, INFO, WARNING, UnreadableFile, read_table
from listening import queries
from listening.accounts import user_by_email

from . import import_queries as iq

MAX_PRINTED = 40


def read_mapping(raw: str | None, fail: Callable) -> dict[str, str]:
    """Read mapping corrections from JSON text or a JSON file: column name -> target."""
    if not raw:
        return {}
    text = Path(raw).read_text(encoding="utf-8") if not raw.lstrip().startswith("{") and Path(raw).is_file() else raw
    try:
        found = json.loads(text)
    except json.JSONDecodeError as error:
        raise fail(f"--mapping is not valid JSON ({error.msg} at line {error.lineno}).") from None
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise fail('--mapping must be a JSON object of column names to targets, e.g. {"Q1": "question:1"}.')
    return found


def apply_mapping(table, session_q: im.SessionQuestions, proposal: im.Proposal, corrections: dict[str, str],
                  fail: Callable) -> list[im.ColumnMap]:
    """Return the proposal with the corrections applied; an unknown column or target stops the command."""
    columns = list(proposal.columns)
    for name, target in corrections.items():
        index = table.index_of(name)
        if index is None:
            raise fail(f"The file has no column called {name!r}. Its columns: {', '.join(c.name for c in table.columns)}.")
        mapping = iq.parse_target(target, index, session_q)
        if mapping is None:
            raise fail(f"{target!r} (for column {name!r}) is not a target: use question:N, question:N:C or one of "
                       f"{', '.join(iq.ROLE_TARGETS)}.")
        columns[index] = mapping
    return columns


def print_plan(table, session_q, columns, plan: im.ImportPlan, fresh: int, echo: Callable) -> None:
    """Print how the file was read, the mapping, the counts and what to check."""
    numbers, choice_numbers = iq.numbering(session_q)
    echo(f"Read {table.filename}" + (f", sheet {table.sheet!r}" if table.sheet else "") + f": {len(table.rows)} rows.")
    for note in (i for i in table.issues if i.level == INFO):
        echo(f"  {note.render()}")
    echo("Columns:")
    for mapping in columns:
        echo(f"  {table.columns[mapping.column].name!r} -> {iq.target_value(mapping, numbers, choice_numbers)}"
             + (f"  ({mapping.reason})" if mapping.reason else ""))
    counts = plan.counts
    echo(f"To store: {fresh} people ({len(plan.records) - fresh} imported before, skipped); "
         f"refused for want of consent: {len(plan.refused_rows)}; no answers: {counts.get('empty', 0)}; "
         f"repeated ids: {counts.get('duplicates', 0)}; unreadable rows: {counts.get('skipped', 0)}.")
    for level, title in ((ERROR, "Not imported"), (WARNING, "Please check")):
        found = [i for i in plan.issues if i.level == level]
        if found:
            echo(f"{title} ({len(found)}):")
            for item in found[:MAX_PRINTED]:
                echo(f"  {item.render()}")
            if len(found) > MAX_PRINTED:
                echo(f"  ... and {len(found) - MAX_PRINTED} more (the import page lists them all).")


def run(db, session_code: str, path: str, *, sheet: str | None, mapping: str | None, statement: str, version: str,
        quote_ok: bool, contact_ok: bool, source: str, language: str | None, email: str | None, dry_run: bool,
        echo: Callable, fail: Callable, max_length: int | None = None) -> None:
    """Import a file into the session with this code, or (dry run) only say what would happen; an open answer longer
    than `max_length` (CHORUS_MAX_ANSWER_LENGTH) is left out and named."""
    found = queries.session_by_code(db, session_code)
    if found is None:
        raise fail(f"There is no session with the code {session_code}.")
    if source not in queries.SOURCES:
        raise fail(f"--source must be one of {', '.join(queries.SOURCES)}.")
    if language is not None and language not in found["languages"]:
        raise fail(f"{language} is not one of this session's languages ({', '.join(found['languages'])}).")
    user = user_by_email(db, email) if email else None
    if email and user is None:
        raise fail(f"There is no staff account {email}.")
    data = Path(path).read_bytes()
    try:
        table = read_table(data, Path(path).name, sheet=sheet)
    except UnreadableFile as problem:
        raise fail(problem.issue.render()) from None
    session_q = iq.session_questions(db, found["id"])
    proposal = im.propose_mapping(table, session_q)
    columns = apply_mapping(table, session_q, proposal, read_mapping(mapping, fail), fail)
    plan = im.plan_import(table, session_q, columns, im.ConsentRule(statement, version, quote_ok, contact_ok),
                          source=source, language=language, max_length=max_length)
    if plan.blocked:
        raise fail(plan.issues[0].render() + " (map a column to consent_take_part with --mapping, or give --statement.)")
    fresh = len(plan.new_records(iq.existing_keys(db, found["id"])))
    print_plan(table, session_q, columns, plan, fresh, echo)
    if dry_run:
        echo("Dry run: nothing was stored.")
        return
    if not fresh:
        echo("Nothing new to import: every row is refused or was imported before.")
        return
    steps = iq.store_import_steps(db, found["id"], plan, filename=table.filename, data_hash=iq.file_hash(data),
                                  sheet=table.sheet, tool=table.tool.name, mapping=iq.mapping_json(table, columns, session_q),
                                  source=source, language=language or found["default_language"],
                                  user_id=user["id"] if user else None)
    run = iq.Progress(steps)
    for done, total in run:  # a line after each batch, so a 50,000-row file shows it is moving
        if total > queries.IMPORT_BATCH:
            echo(f"Stored {done:,} of {total:,} people...")
    stored = run.stored
    echo(f"Imported {stored['counts']['stored']} people and {stored['counts']['stored_answers']} answers into "
         f"{found['code']} (import {stored['id']}).")
