"""Time a large campaign: the dashboard, "who was heard" and pooled themes, and the database's size.

Usage: python bench/campaign.py [--sessions 200] [--people 100000] [--seed 0] [--skip-themes] [--db PATH]

With --db, the database is kept at PATH, and a database already there is timed again as it is.

Builds a throwaway database in a temporary folder: one campaign with 8 partners and 2 rounds,
SESSIONS sessions sharing a bank of three "about you" questions (neighbourhood, 12 places; race
and ethnicity, 9; age, 7: skewed, as a county's are), one open question and one single-choice
question (a vote), and PEOPLE residents spread over them, each consenting and answering all five
(made-up answers in English and Spanish built from 48 phrases; nothing is downloaded). Residents
are written with one INSERT per table and session (the benchmark measures reading, not the
phones' writes, which docs/load.md covers). Then, as a backbone planner through the app (test
client, one process): the campaign dashboard and "who was heard" pages, first request and warm, and
"who was heard" again after a new answer (its cache recomputed);
and the engine's pooled themes over every answer to the open question.
"""
from __future__ import annotations

import argparse
import json
import random
from collections import Counter
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHRASES = {
    "en": ["the bus does not reach the clinic", "no ride to my appointments", "bus takes two hours",
           "doula stayed with me the whole time", "a doula explained everything", "my doula helped me breastfeed",
           "clinic hours end before I leave work", "need evening appointments", "could not get time off work",
           "nurses did not listen to me", "felt judged at the hospital", "doctor rushed me",
           "food is too expensive", "we skip meals at the end of the month", "WIC helped us eat",
           "no interpreter at the clinic", "forms only in English", "my daughter had to translate",
           "rent is too high", "we moved three times", "mold in our apartment",
           "church moms group supported me", "my neighbors checked on me", "lonely after the baby came"],
    "es": ["el autobús no llega a la clínica", "no tengo transporte a mis citas", "la doula me acompañó todo el tiempo",
           "la doula me explicó todo", "necesito citas en la tarde", "no pude faltar al trabajo",
           "las enfermeras no me escucharon", "me sentí juzgada en el hospital", "la comida es muy cara",
           "no había intérprete en la clínica", "los formularios solo en inglés", "mi hija tuvo que traducir",
           "la renta es muy alta", "nos mudamos tres veces", "hay moho en el apartamento",
           "el grupo de madres de la iglesia me apoyó", "mis vecinas me ayudaron", "me sentí sola después del parto",
           "WIC nos ayudó a comer", "el médico me apuró", "nos saltamos comidas a fin de mes",
           "el autobús tarda dos horas", "mi doula me ayudó a amamantar", "el horario de la clínica es corto"],
}
NEIGHBOURHOODS = [f"Place {n}" for n in range(1, 13)]
RACE = ["American Indian", "Asian", "Black", "Hispanic", "MENA", "Pacific Islander", "White", "More than one",
        "Self-describe"]
AGE = ["Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]


def weights(n: int, rng: random.Random) -> list[float]:
    """Return skewed weights for n groups (a few large, a long tail of small ones)."""
    return [rng.paretovariate(1.2) for _ in range(n)]


def build(path: Path, sessions: int, people: int, seed: int) -> dict:
    """Fill a fresh database with one campaign of `sessions` sessions and `people` residents."""
    from listening import campaigns, queries
    from listening.accounts import create_user
    from listening.db import connect, transaction
    from listening.migrations import migrate
    from tests.factories import make_session

    rng = random.Random(seed)
    db = connect(str(path), synchronous="OFF")
    migrate(db)
    planner = create_user(db, "backbone@example.org", "correct horse battery", "planner")
    cid = campaigns.create_campaign(db, slug="state-2027", languages=["en", "es"], created_by=None,
                                    texts={"name": {"en": "State listening tour"}})
    second = campaigns.add_round(db, cid, "Round 2")
    rounds = [r["id"] for r in campaigns.rounds_of(db, cid)]
    partners = [campaigns.add_partner(db, cid, f"Partner {n}") for n in range(8)]
    campaigns.set_member(db, cid, planner, None, given_by=None)
    bank = []
    for text, options in (("Where do you live?", NEIGHBOURHOODS), ("Race or ethnicity?", RACE), ("Age?", AGE)):
        qid = campaigns.add_question(db, cid, kind="about", texts={"en": text, "es": text},
                                     options={"en": options, "es": options})
        bank.append(campaigns.bank_question(db, cid, qid))
    open_id = campaigns.add_question(db, cid, kind="open", texts={"en": "What gets in the way?", "es": "¿Qué lo impide?"})
    bank.append(campaigns.bank_question(db, cid, open_id))
    skew = {q["id"]: weights(len(q["options"]), rng) for q in bank if q["kind"] == "about"}
    per_session = [people // sessions + (1 if n < people % sessions else 0) for n in range(sessions)]
    stamp = queries.now()
    for n, size in enumerate(per_session):
        found = make_session(db, status="draft", prompts=[{"kind": "single", "text": "Vote", "options": ["A", "B", "C"]}])
        campaigns.add_session(db, cid, found["id"], round_id=rounds[n % 2], partner_id=partners[n % 8], added_by=None)
        prompt_of = {q["id"]: campaigns.copy_into_session(db, q, found) for q in bank}
        queries.set_status(db, found["id"], "open")
        version = db.execute("SELECT id, version FROM consent_versions WHERE session_id = ? AND language = 'en'",
                             (found["id"],)).fetchone()
        prompts = {p["id"]: p for p in queries.prompts_for_session(db, found["id"])}
        vote = next(p for p in prompts.values() if p["kind"] == "single")
        with transaction(db):
            for _ in range(size):
                language = "es" if rng.random() < 0.3 else "en"
                pid = db.execute("INSERT INTO participants (session_id, receipt_hash, language, created_at) VALUES (?, ?, ?, ?)",
                                 (found["id"], secrets.token_hex(16), language, stamp)).lastrowid
                db.execute("""INSERT INTO consents (participant_id, session_id, consent_version_id, version, language, method,
                              take_part, quote_ok, given_at) VALUES (?, ?, ?, ?, ?, 'self', 1, ?, ?)""",
                           (pid, found["id"], version[0], version[1], language, int(rng.random() < 0.6), stamp))
                values = []
                for q in bank:
                    prompt = prompts[prompt_of[q["id"]]]
                    if q["kind"] == "about":
                        if rng.random() < 0.05:
                            continue
                        option = rng.choices(prompt["options"][:-1], weights=skew[q["id"]])[0]
                        values.append((prompt["id"], None, json.dumps([option["id"]])))
                    else:
                        text = ", ".join(rng.sample(PHRASES[language], 2))
                        values.append((prompt["id"], text, None))
                values.append((vote["id"], None, json.dumps([rng.choice(vote["options"])["id"]])))
                db.conn.executemany("""INSERT INTO responses (session_id, participant_id, prompt_id, language, text, choices,
                                       created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                                    [(found["id"], pid, p, language, t, c, stamp, stamp) for p, t, c in values])
    db.conn.execute("ANALYZE")
    db.conn.close()
    return {"campaign": cid, "open_question": open_id, "round": second}


def timed(client, url: str, repeat: int = 5) -> tuple[float, float]:
    """Return the first and the median warm time of a GET, in milliseconds (it must answer 200)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    warm = sorted(times[1:])[len(times[1:]) // 2] if repeat > 1 else times[0]
    return times[0], warm


def people_by_kept_profile(db, prompts: dict[int, int], people: dict[int, int]) -> dict:
    """Count each session's people by their answer to one prompt ({session: prompt}) as
    `campaign_queries.people_by_answer` does, from the segment counts triggers keep (`heard_people`, m037): the
    alternative docs/scaling.md suggested, measured here (2 December: slower at 100,000 residents, so not used).

    A kept profile is a person's first choice in each "about you" answer of their session (not skipped, not
    hidden, with a choice), so the people whose profile holds the prompt are those `people_by_answer` counts
    by that choice; the rest of `people` are "not given", as there.
    """
    from analysis.review import campaign_queries as pooled

    if not prompts:
        return {}
    found = {session_id: Counter() for session_id in prompts}
    # One query for every session: its kept people (the primary key's range) whose profile holds its prompt, by the
    # choice there. The profiles are read by SQLite's JSON functions, never decoded in Python.
    wanted = json.dumps(sorted(prompts.items()))
    for row in db.execute("""SELECT h.session_id, j.value ->> '$[1]' AS choice, sum(h.n) AS n
                           FROM json_each(?) w CROSS JOIN heard_people h ON h.session_id = w.value ->> '$[0]'
                           CROSS JOIN json_each(h.profile) j
                           WHERE h.profile != '[]' AND j.value ->> '$[0]' = w.value ->> '$[1]'
                           GROUP BY 1, 2""", (wanted,)).fetchall():
        found[row[0]][str(row[1])] += row[2]
    for session_id, counted in found.items():
        counted[pooled.NOT_GIVEN] = people[session_id] - sum(counted.values())
    return found


def pooled_heard_and_exports(app, path: Path, cid: int) -> None:
    """Time the pooled "who was heard" (`heard_data`, every "about you" question) counted from the answers (as before
    2 December, and still) and from the kept segment counts (`people_by_kept_profile`, checked equal), then each campaign
    export (report built and written, as the job does), with its size and this process's peak memory."""
    import io
    import os
    import resource

    from analysis import reports
    from analysis.review import campaign_queries as pooled
    from listening import campaigns
    from listening.db import connect

    db = connect(str(path))
    found = campaigns.campaign_by_id(db, cid)
    sessions = campaigns.campaign_sessions(db, cid, ("SELECT session_id FROM campaign_sessions WHERE campaign_id = :c",
                                                     {"c": cid}))
    answers = db.execute("SELECT count(*) FROM responses WHERE session_id IN (SELECT session_id FROM campaign_sessions "
                         "WHERE campaign_id = ?)", (cid,)).fetchone()[0]
    print(f"campaign: {len(sessions)} sessions, {sum(s['people'] for s in sessions)} people, {answers} answers; "
          f"load {os.getloadavg()[0]:.1f}")
    kept, counted = people_by_kept_profile, pooled.people_by_answer
    results = {}
    for name, counter in (("from the answers", counted), ("from the kept counts", kept), ("from the answers", counted),
                          ("from the kept counts", kept)):
        pooled.people_by_answer = counter
        start = time.perf_counter()
        tables = pooled.heard_data(db, cid, sessions)[0]
        results.setdefault(name, []).append(time.perf_counter() - start)
        results[name + " tables"] = tables
    pooled.people_by_answer = counted
    assert results["from the answers tables"] == results["from the kept counts tables"], "the two counts differ"
    for name in ("from the answers", "from the kept counts"):
        print(f"pooled who was heard ({len(results[name + ' tables'])} questions), {name}: "
              + ", ".join(f"{1000 * t:.0f} ms" for t in results[name]) + f" (load {os.getloadavg()[0]:.1f})")
    with app.test_request_context():
        for fmt in ("md", "html", "docx", "codebook"):
            start, cpu = time.perf_counter(), time.process_time()
            report = pooled.campaign_report(db, found, sessions, "en", with_themes=True)
            built = time.perf_counter() - start
            buffer = io.BytesIO()
            reports.write(report, fmt, buffer, pooled.synthesis.translations_for("en"))
            print(f"campaign export {fmt}: {time.perf_counter() - start:.2f} s wall ({built:.2f} s building the report), "
                  f"{time.process_time() - cpu:.2f} s CPU, {len(buffer.getvalue()) / 1e3:.0f} KB, peak memory "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (load {os.getloadavg()[0]:.1f})")
    db.conn.close()


def main() -> None:
    """Build the campaign, then print the timings and sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-themes", action="store_true")
    parser.add_argument("--db", type=Path, help="keep the database here (and reuse one already there)")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "campaign.db"
    if path.exists():
        import sqlite3

        found = sqlite3.connect(path)
        made = {"campaign": 1, "open_question": found.execute(
            "SELECT id FROM campaign_questions WHERE kind = 'open' ORDER BY id LIMIT 1").fetchone()[0]}
        found.close()
    else:
        start = time.perf_counter()
        made = build(path, args.sessions, args.people, args.seed)
        print(f"built {args.sessions} sessions, {args.people} residents in {time.perf_counter() - start:.0f} s")
    print(f"database size: {path.stat().st_size / 1e6:.0f} MB ({path.stat().st_size / args.people:.0f} bytes a resident)")

    from analysis.review import campaign_queries as pooled
    from listening import campaigns
    from listening.app import create_app
    from listening.db import connect
    from tests.conftest import sign_in

    app = create_app({"TESTING": True, "DATABASE": path, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    assert sign_in(client, "backbone@example.org").status_code == 302
    cid = made["campaign"]
    for name, url in (("dashboard", f"/staff/campaigns/{cid}/"), ("who was heard", f"/staff/campaigns/{cid}/heard")):
        first, warm = timed(client, url)
        print(f"{name}: first {first:.0f} ms, warm median {warm:.0f} ms")
    # A new answer in one session changes its data version, so the cached page is computed again.
    db = connect(str(path))
    after = []
    for _ in range(3):
        db.execute("UPDATE data_versions SET version = version + 1 WHERE session_id = "
                   "(SELECT min(session_id) FROM campaign_sessions WHERE campaign_id = ?)", (cid,))
        db.conn.commit()
        after.append(timed(client, f"/staff/campaigns/{cid}/heard", repeat=1)[0])
    db.conn.close()
    print(f"who was heard after a new answer (recomputed): median {sorted(after)[1]:.0f} ms")
    pooled_heard_and_exports(app, path, cid)
    if not args.skip_themes:
        db = connect(str(path))
        question = campaigns.bank_question(db, cid, made["open_question"])
        ids = [row[0] for row in db.execute("SELECT session_id FROM campaign_sessions WHERE campaign_id = ?", (cid,))]
        start = time.perf_counter()
        count = pooled.run_pooled_themes(db, cid, question, ids, round_id=None)
        print(f"pooled themes over {len(pooled.pooled_answers(db, question['id'], ids))} answers: "
              f"{time.perf_counter() - start:.1f} s, {count} themes")
        db.conn.close()
    print(f"database size after: {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
