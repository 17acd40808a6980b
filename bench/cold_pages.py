"""Time the synthesis pages of a big session cold, warm, after a new answer and after a withdrawal (issue 19).

    python bench/cold_pages.py DB [--pages review theme heard publish results] [--session ID] [--save DIR]

DB is a bench database (``bench/big_session.py --keep DIR`` builds one; copy it first: this adds a
resident and withdraws one). In one process, for each page: the first request (an empty page cache),
the next (nothing changed), the first after a new resident's consent and answer (served from the last
computation while it is computed again in the background, when the page is slow), the first after the
background computation, the first after a staff withdrawal, after a hidden answer and after a planner
renames a theme (each always computed in the request: it removes or changes something). Prints
one JSON line per page: wall and CPU seconds of each request, bytes, whether the page carried the
"newer answers are being counted" note, and the process's peak memory so far. With ``--save DIR``
each page's body after the withdrawal, the hidden answer and the edit is written to DIR (to compare
two versions' pages: they differ only in form tokens and nonces).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from big_session import ADMIN, PASSWORD, make_app, peak_rss_mb  # noqa: E402

NOTE = "newer answers are being counted"


def timed(client, url: str, save: Path | None = None) -> dict:
    """Request a page; return wall and CPU seconds (CPU includes any background thread's meanwhile), bytes, note."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    body = response.get_data()
    if save is not None:
        save.write_bytes(body)
    return {"s": round(time.perf_counter() - start, 3), "cpu": round(time.process_time() - cpu, 3), "bytes": len(body),
            "status": response.status_code, "note": NOTE.encode() in body}


def main() -> None:
    """Measure each page named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--pages", nargs="+", default=["review", "theme", "heard", "publish", "results"])
    parser.add_argument("--session", type=int, default=None)
    parser.add_argument("--save", type=Path, default=None, help="write the pages after each change to this folder")
    args = parser.parse_args()
    from analysis.review import page_cache
    from analysis.review import queries as synthesis
    from listening import queries
    from listening.db import connect
    from facilitation import live_queries as lq
    from listening.migrations import migrate

    db = connect(str(args.database))
    migrate(db)
    sid = args.session or db.execute(
        "SELECT session_id FROM participants GROUP BY session_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    session = queries.session_by_id(db, sid)
    largest = db.execute("""SELECT theme_id FROM theme_assignments WHERE session_id = ? AND status = 'theme'
                            GROUP BY theme_id ORDER BY count(*) DESC LIMIT 1""", (sid,)).fetchone()[0]
    urls = {"review": f"/staff/review/{sid}", "theme": f"/staff/review/{sid}?theme={largest}",
            "heard": f"/staff/review/{sid}/heard", "publish": f"/staff/review/{sid}/publish",
            "results": f"/s/{session['code']}/results"}
    app = make_app(args.database)
    page_cache.REFRESH_GAP = 0.0  # compute again on the first request after the answer, to time the background work
    client = app.test_client()
    from bs4 import BeautifulSoup

    from listening.accounts import user_by_email

    form = BeautifulSoup(client.get("/staff/login").get_data(as_text=True), "html.parser").find("form", method="post")
    hidden = {f["name"]: f.get("value", "") for f in form.find_all("input", type="hidden")}
    client.post("/staff/login", data={**hidden, "email": ADMIN, "password": PASSWORD})
    admin = user_by_email(db, ADMIN)["id"]
    open_prompt = next(p for p in queries.prompts_for_session(db, sid)
                       if p["kind"] == "open" and p["id"] in synthesis.scope_prompt_ids(db, sid))
    statement = queries.current_consent(db, sid, session["default_language"])
    for name in args.pages:
        url = urls[name]
        found = {"page": name, "load": os.getloadavg()[0], "cold": timed(client, url), "warm": timed(client, url)}
        with app.app_context():  # the writes only: each request has its own context, as in a server
            person = queries.record_consent(db, sid, consent_version_id=statement["id"], language=session["default_language"],
                                            nonce=secrets.token_urlsafe(12), quote_ok=True, contact_ok=False, contact=None,
                                            quote_scope="screen_and_reports")
            queries.save_response(db, session_id=sid, participant_id=person.id, prompt_id=open_prompt["id"],
                                  nonce=secrets.token_urlsafe(12), language=session["default_language"],
                                  text=f"A bench answer {secrets.token_hex(4)} about the bus")
            db.conn.commit()
        found["after_answer"] = timed(client, url)
        start, cpu = time.perf_counter(), time.process_time()
        page_cache.wait_for_refreshes(app, timeout=600)
        found["background"] = {"s": round(time.perf_counter() - start, 3), "cpu": round(time.process_time() - cpu, 3)}
        found["after_refresh"] = timed(client, url)
        with app.app_context():
            queries.withdraw_for(db, person.id, reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)), by_user=admin)
            db.conn.commit()
        found["after_withdrawal"] = timed(client, url, args.save and args.save / f"{name}-after_withdrawal.html")
        with app.app_context():
            shown = db.execute("""SELECT r.id FROM responses r JOIN theme_assignments a ON a.response_id = r.id
                                  WHERE r.session_id = ? AND a.theme_id = ? AND r.hidden_at IS NULL
                                  ORDER BY a.rank LIMIT 1""", (sid, largest)).fetchone()[0]
            lq.hide_response(db, sid, shown, user_id=admin, reason="bench: hidden after a complaint")
            db.conn.commit()
        found["after_hide"] = timed(client, url, args.save and args.save / f"{name}-after_hide.html")
        with app.app_context():
            label = db.execute("SELECT label FROM themes WHERE id = ?", (largest,)).fetchone()[0]
            synthesis.rename_theme(db, sid, largest, label.rstrip("!") + "!", user_id=admin)
            db.conn.commit()
        found["after_edit"] = timed(client, url, args.save and args.save / f"{name}-after_edit.html")
        found["rss_mb"] = round(peak_rss_mb())
        print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
