"""How long `chorus import` takes to store a 50,000-row Kobo-shaped export (read, map, plan, store in one transaction).

Run: ``python bench/import_speed.py [ROWS]`` (a temporary database; synthetic rows, no real residents).
Prints the seconds for reading and planning, for storing, the file's size, and a second import of the same file.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(rows: int = 50_000) -> None:
    """Import a synthetic Kobo export of `rows` rows twice into a fresh database and print the timings."""
    from facilitation import import_queries as iq
    from analysis import import_mapping as im
    from analysis.importing import read_table
    from listening.db import connect
    from tests.conftest import migrated_app
    from tests.facilitation.test_imports import make_survey_session

    folder = Path(tempfile.mkdtemp(prefix="chorus-import-bench-"))
    app = migrated_app(folder / "bench.db")
    lines = ["_uuid;_submission_time;consent/take_part;group_care/hard;group_care/easy;group_care/helped;about_you/age"]
    easy = ["very_easy", "somewhat_easy", "hard", "very_hard"]
    lines += [f"u-{i};2026-03-01T10:{i % 60:02d}:00;{'yes' if i % 10 else 'no'};answer number {i} about the bus;"
              f"{easy[i % 4]};wic doula;age_20_29" for i in range(rows)]
    data = "\n".join(lines).encode()
    with app.app_context():
        db = connect(app.config["DATABASE"])
        session = make_survey_session(db)
        for attempt in ("first", "second"):
            started = time.perf_counter()
            table = read_table(data, "big.csv")
            session_q = iq.session_questions(db, session["id"])
            proposal = im.propose_mapping(table, session_q)
            plan = im.plan_import(table, session_q, proposal.columns, im.ConsentRule())
            planned = time.perf_counter()
            stored = iq.store_import(db, session["id"], plan, filename="big.csv", data_hash=iq.file_hash(data), sheet="",
                                     tool=table.tool.name, mapping=iq.mapping_json(table, proposal.columns, session_q),
                                     source="import", language="en", user_id=None)
            done = time.perf_counter()
            print(f"{attempt} import of {rows} rows ({len(data) / 1e6:.1f} MB): read and plan {planned - started:.1f} s, "
                  f"store {done - planned:.1f} s; stored {stored['counts']['stored']} people, "
                  f"{stored['counts']['stored_answers']} answers, {stored['counts']['already']} already there, "
                  f"{stored['counts']['refused']} refused")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
