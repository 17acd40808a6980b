"""Time the planners' synthesis on a large session: engine run, re-run, review page, reports and exports.

Usage: python bench/synthesis_speed.py [ANSWERS]   (default 5000). Prints one line per step.
It builds a throwaway database in a temporary folder from made-up answers; nothing is downloaded.
"""
from __future__ import annotations

import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHRASES = [
    "the bus to the clinic takes too long", "my doula helped me every day", "there was no interpreter",
    "nobody listened to my pain", "WIC helped with food", "I lost Medicaid after the birth",
    "I could not take time off work", "childcare during appointments", "the nurse home visits helped",
    "long waits at the clinic", "stress about money and rent", "my family helped with meals",
]


def main(n: int) -> None:
    """Build a session with n open answers and time each synthesis step."""
    from analysis.review import queries as synthesis
    from analysis.review import reporting
    from listening import queries
    from listening.app import create_app
    from listening.db import connect, transaction
    from listening.migrations import migrate
    from tests.factories import make_participant, make_session

    folder = Path(tempfile.mkdtemp())
    app = create_app({"TESTING": True, "DATABASE": folder / "bench.db", "SECRET_KEY": "bench-" * 8})
    db = connect(app.config["DATABASE"])
    migrate(db)
    rng = random.Random(0)
    with app.app_context():
        session = make_session(db)
        prompts = queries.prompts_for_session(db, session["id"])
        with transaction(db):
            for i in range(n):
                person = make_participant(db, session, quote_ok=i % 2 == 0)
                text = f"{rng.choice(PHRASES)} and {rng.choice(PHRASES)} ({i})"
                queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompts[0]["id"],
                                      nonce=f"b{i}", language="en", text=text)
                queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompts[4]["id"],
                                      nonce=f"a{i}", language="en", choices=[prompts[4]["options"][i % 3]["id"]])

        def timed(label, fn):
            """Run one step and print how long it took."""
            start = time.perf_counter()
            result = fn()
            print(f"{label:<28} {time.perf_counter() - start:6.2f} s")
            return result

        timed("engine run", lambda: synthesis.run_themes(db, session["id"], user_id=None))
        timed("engine re-run", lambda: synthesis.run_themes(db, session["id"], user_id=None))
        for fmt in ("html", "docx", "md", "csv", "xlsx", "json"):
            timed(f"export {fmt}", lambda: reporting.export(db, session["id"], io.BytesIO(), fmt=fmt, language="en"))
        client = app.test_client()
        with client.session_transaction() as cookie:
            from listening.accounts import create_user

            cookie["uid"] = create_user(db, "bench@example.org", "a long password", "planner")
        timed("review page", lambda: client.get(f"/staff/review/{session['id']}"))
        timed("who was heard page", lambda: client.get(f"/staff/review/{session['id']}/heard"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
