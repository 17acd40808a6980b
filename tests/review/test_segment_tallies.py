"""The segment counts the triggers keep (m037: `heard_people`, `heard_answers`, `heard_profiles`) that "who was heard"
reads never drift from counting the answers: after every write the app makes (a resident changing an "about you"
answer included), a restore, and any SQL write of answers, people, placements and questions, cascades included."""
from __future__ import annotations

import json
import random
import sqlite3

from analysis.review import queries as synthesis
from analysis.review import tallies
from facilitation import live_queries as lq
from listening import queries, retention
from listening.backup import backup, restore
from listening.db import connect
from listening.migrations import m037_segments19
from tests.factories import make_participant, make_session
from tests.review.conftest import answer
from tests.review.test_tallies import assert_heard_same_as_full_load


def traces_of(db, person_id: int) -> list:
    """Return the kept profiles of a person (none once they withdrew)."""
    return db.execute("SELECT * FROM heard_profiles WHERE participant_id = ?", (person_id,)).fetchall()


def test_every_write_the_app_makes_keeps_the_segment_counts_exact_and_the_page_equal(app, themed, db, tmp_path):
    """A resident's "about you" answer given, changed, skipped and hidden; withdrawals by receipt and by staff; staff entry;
    moves, a merge and a re-run; a backup restored after a withdrawal; a retention purge: a recount and the full load agree."""
    sid = themed.session["id"]
    planner = themed.planner_id
    open_prompt = themed.prompts[0]
    about = next(p for p in themed.prompts if p["kind"] == "about")
    single = next(p for p in themed.prompts if p["kind"] == "single")
    options = [o["id"] for o in about["options"]]
    assert tallies.recount(db) == {}
    person = make_participant(db, themed.session, quote_ok=True, language="es")
    answer(db, themed.session, person, single, choices=[single["options"][1]["id"]], language="es")
    leaving = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, leaving, open_prompt, text="I will leave about the bus")
    answer(db, themed.session, leaving, about, choices=[options[0]])
    db.conn.commit()
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    members = synthesis.current_members(db, sid)
    first = sorted(members[themes[0]["id"]])
    author = db.execute("SELECT participant_id FROM responses WHERE id = ?", (first[0],)).fetchone()[0]

    sent = iter(range(100))

    def about_answer(choices=None, **values) -> None:
        """The resident answers the "about you" question again."""
        queries.save_response(db, session_id=sid, participant_id=person.id, prompt_id=about["id"],
                              nonce=f"about-{next(sent)}", language="es", choices=choices, **values)

    def about_id() -> int:
        """Return the id of the resident's "about you" answer."""
        return db.execute("SELECT id FROM responses WHERE participant_id = ? AND prompt_id = ?", (person.id, about["id"])).fetchone()[0]

    def staff_entry() -> None:
        """A facilitator types in a paper card's open and "about you" answers."""
        entered = lq.enter_answer(db, sid, prompt_id=open_prompt["id"], language="en", source="paper", user_id=planner,
                                  nonce="paper-1", quote_ok=True, text="The clinic is far from the bus stop")
        lq.enter_answer(db, sid, prompt_id=about["id"], language="en", source="paper", user_id=planner, nonce="paper-2",
                        participant_id=entered[0], choices=[options[1]])

    steps = [
        lambda: answer(db, themed.session, person, open_prompt, text="El autobús no llega", language="es"),
        lambda: about_answer([options[1]]),
        lambda: about_answer([options[0], options[1]]),
        lambda: about_answer(skipped=True),
        lambda: about_answer([options[1]]),
        lambda: lq.hide_response(db, sid, about_id(), user_id=planner, reason="abuse"),
        lambda: lq.restore_response(db, sid, about_id(), user_id=planner),
        staff_entry,
        lambda: queries.update_prompt(db, single["id"], kind="about"),  # a planner makes a choice question "about you"
        lambda: queries.update_prompt(db, single["id"], kind="single"),
        lambda: queries.withdraw(db, leaving.receipt),
        lambda: queries.withdraw_for(db, author, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=planner),
        lambda: synthesis.move_answer(db, sid, first[1], themes[-1]["id"], user_id=planner),
        lambda: synthesis.move_answer(db, sid, first[2], None, user_id=planner, off_topic=True),
        lambda: synthesis.merge_themes(db, sid, themes[0]["id"], themes[1]["id"], user_id=planner),
        lambda: synthesis.run_themes(db, sid, user_id=planner),
    ]
    for number, step in enumerate(steps):
        step()
        db.conn.commit()
        assert tallies.recount(db) == {}, number
        if number in (2, 8, 10):
            assert_heard_same_as_full_load(db, sid, ("en", "es", "ar") if number == 10 else ("en",))
    assert traces_of(db, person.id) and not traces_of(db, leaving.id) and not traces_of(db, author)

    # A backup taken before a withdrawal, restored: the withdrawal is made again, and the counts follow it.
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    queries.withdraw_for(db, person.id, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=planner)
    db.conn.commit()
    db.conn.close()
    assert restore(copy.path, app.config["DATABASE"], force=True).withdrawals == 1
    again = connect(app.config["DATABASE"])
    try:
        assert tallies.recount(again) == {}
        assert not traces_of(again, person.id)
        assert_heard_same_as_full_load(again, sid)
        retention.purge_session(again, sid, reason="retention period over")
        again.conn.commit()
        assert tallies.recount(again) == {}
        for table in ("heard_people", "heard_answers"):
            assert not again.execute(f"SELECT 1 FROM {table} WHERE n <= 0").fetchall()
    finally:
        again.conn.close()


def test_any_sql_write_of_about_answers_people_placements_and_questions_keeps_the_segment_counts_exact(themed, db):
    """Random writes (about answers' choices, skips and hides, answers moved between people, questions and sessions,
    people's languages, ways of taking part and withdrawals, placements, a question made "about you" and back, an "about
    you" question, people and a whole session deleted with their cascades): no drift, and no trace of anyone gone."""
    sid = themed.session["id"]
    other = make_session(db)
    stranger = make_participant(db, other)
    rng = random.Random(37)
    prompts = [p["id"] for p in themed.prompts] + [p["id"] for p in queries.prompts_for_session(db, other["id"])]
    abouts = [p for p in themed.prompts if p["kind"] == "about"] + [
        p for p in queries.prompts_for_session(db, other["id"]) if p["kind"] == "about"]
    people = [row[0] for row in db.execute("SELECT id FROM participants WHERE session_id = ?", (sid,))]
    single = next(p for p in themed.prompts if p["kind"] == "single")
    flippable = [p["id"] for p in abouts] + [single["id"]]
    for n, person in enumerate(people[:16]):  # "about you" (and single choice) answers for some, so that profiles differ
        prompt = [*abouts, single][n % (len(abouts) + 1)]
        db.execute("INSERT OR IGNORE INTO responses (session_id, participant_id, prompt_id, language, choices, created_at, "
                   "updated_at) VALUES (?, ?, ?, 'en', ?, 'now', 'now')",
                   (sid, person, prompt["id"], json.dumps([prompt["options"][n % len(prompt["options"])]["id"]])))
    db.conn.commit()
    assert tallies.recount(db) == {}
    themes = [t["id"] for t in synthesis.active_themes(db, sid)]
    choices = [None, "", "[]", "[null]", "not json", "[1, 2]", "[\"x\"]", "[[1]]", "[2.5]"] + [
        json.dumps([o["id"]]) for p in abouts for o in p["options"]]

    writes = [
        lambda r: db.execute("UPDATE responses SET choices = ? WHERE id = ?", (rng.choice(choices), r)),
        lambda r: db.execute("UPDATE responses SET skipped = 1 - skipped WHERE id = ?", (r,)),
        lambda r: db.execute("UPDATE responses SET hidden_at = CASE WHEN hidden_at IS NULL THEN 'now' END WHERE id = ?", (r,)),
        lambda r: db.execute("UPDATE responses SET text = ?, language = ? WHERE id = ?",
                             (rng.choice([None, "  ", "bus again"]), rng.choice(["en", "es"]), r)),
        lambda r: db.execute("UPDATE OR IGNORE responses SET prompt_id = ? WHERE id = ?", (rng.choice(prompts), r)),
        lambda r: db.execute("UPDATE OR IGNORE responses SET participant_id = ? WHERE id = ?",
                             (rng.choice(people + [stranger.id]), r)),
        lambda r: db.execute("UPDATE responses SET session_id = ? WHERE id = ?", (rng.choice([sid, other["id"]]), r)),
        lambda r: db.execute("UPDATE participants SET withdrawn_at = CASE WHEN withdrawn_at IS NULL THEN 'now' END "
                             "WHERE id = (SELECT participant_id FROM responses WHERE id = ?)", (r,)),
        lambda r: db.execute("UPDATE participants SET language = ?, source = ? WHERE id = (SELECT participant_id FROM responses "
                             "WHERE id = ?)", (rng.choice(["en", "es", "vi"]), rng.choice(["phone", "paper"]), r)),
        lambda r: db.execute("UPDATE participants SET session_id = ? WHERE id = (SELECT participant_id FROM responses WHERE id = ?)",
                             (rng.choice([sid, other["id"]]), r)),
        lambda r: db.execute("UPDATE theme_assignments SET theme_id = ?, status = ? WHERE response_id = ?",
                             (rng.choice(themes + [None]), rng.choice(["theme", "off_topic"]), r)),
        lambda r: db.execute("DELETE FROM theme_assignments WHERE response_id = ?", (r,)),
        lambda r: db.execute("UPDATE prompts SET kind = CASE kind WHEN 'about' THEN 'single' ELSE 'about' END WHERE id = ?",
                             (rng.choice(flippable),)),
        lambda r: db.execute("DELETE FROM responses WHERE id = ?", (r,)),
        lambda r: db.execute("DELETE FROM participants WHERE id = (SELECT participant_id FROM responses WHERE id = ?)", (r,)),
        lambda r: db.execute("INSERT OR IGNORE INTO responses (session_id, participant_id, prompt_id, language, choices, "
                             "created_at, updated_at) VALUES (?, ?, ?, 'en', ?, 'now', 'now')",
                             (sid, rng.choice(people + [stranger.id]), rng.choice(prompts), rng.choice(choices))),
    ]
    profiles: set[int] = set()
    for number in range(150):
        target = rng.choice([row[0] for row in db.execute("SELECT id FROM responses WHERE session_id IN (?, ?)", (sid, other["id"]))])
        try:
            rng.choice(writes)(target)
            if number == 75:
                db.execute("DELETE FROM prompts WHERE id = ?", (abouts[0]["id"],))  # its answers go: profiles without it
        except sqlite3.IntegrityError:  # a refused write is undone whole, its triggers' counts included
            pass
        if number % 15 == 0:
            assert tallies.recount(db) == {}, number
            profiles.add(db.execute("SELECT count(*) FROM heard_profiles").fetchone()[0])
    assert tallies.recount(db) == {}
    assert len(profiles) > 3  # the writes did change people's profiles
    db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
    assert tallies.recount(db) == {}
    withdrawn = [row[0] for row in db.execute("SELECT id FROM participants WHERE withdrawn_at IS NOT NULL")]
    assert not any(traces_of(db, person) for person in withdrawn)
    for table in ("heard_people", "heard_answers"):
        assert not db.execute(f"SELECT 1 FROM {table} WHERE session_id = ? OR n = 0", (sid,)).fetchall()


def test_the_migration_counts_what_is_there_already(themed, db):
    """Counting a session's people and answers at migration (its last step) gives what the triggers give."""
    sid = themed.session["id"]
    kept = {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
            for table in ("heard_people", "heard_answers", "heard_profiles")}
    assert kept["heard_profiles"] and kept["heard_answers"]
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_heard_tally%'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    for table in ("heard_people", "heard_answers", "heard_profiles"):
        db.execute(f"DROP TABLE {table}")
    m037_segments19(db)
    assert {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall() for table in kept} == kept
    assert tallies.recount(db) == {}
    assert_heard_same_as_full_load(db, sid)
