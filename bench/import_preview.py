"""What a page view of the import preview costs at ROWS rows: the first view reads and plans the file, later ones
render what was remembered of it.

Run: ``python bench/import_preview.py [ROWS] [VIEWS]`` (a temporary database; the synthetic Kobo-shaped rows of
bench/import_speed.py, no real residents). Prints each view's CPU and wall seconds and the load average.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(rows: int = 50_000, views: int = 5) -> None:
    """Upload a synthetic export of `rows` rows and open its preview `views` times, printing what each view took."""
    from listening.accounts import create_user
    from listening.db import connect
    from tests.conftest import migrated_app, sign_in
    from tests.facilitation.test_imports import make_survey_session, upload

    app = migrated_app(Path(tempfile.mkdtemp(prefix="chorus-preview-bench-")) / "bench.db")
    lines = ["_uuid;_submission_time;consent/take_part;group_care/hard;group_care/easy;group_care/helped;about_you/age"]
    easy = ["very_easy", "somewhat_easy", "hard", "very_hard"]
    lines += [f"u-{i};2026-03-01T10:{i % 60:02d}:00;{'yes' if i % 10 else 'no'};answer number {i} about the bus;"
              f"{easy[i % 4]};wic doula;age_20_29" for i in range(rows)]
    with app.app_context():
        db = connect(app.config["DATABASE"])
        session = make_survey_session(db, create_user(db, "bench@example.org", "bench-password-1", "facilitator"))
    client = app.test_client()
    sign_in(client, "bench@example.org", "bench-password-1")
    preview = upload(client, session, "bench.csv", "\n".join(lines).encode()).headers["Location"]
    for view in range(1, views + 1):
        cpu, wall = time.process_time(), time.perf_counter()
        status = client.get(preview).status_code
        print(f"view {view} of a {rows}-row file: {status}, {time.process_time() - cpu:.2f} s CPU, "
              f"{time.perf_counter() - wall:.2f} s wall (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
