"""A withdrawn resident's words leave the planners' decision log too: a machine theme name drawn from their answer,
kept as the name a planner renamed it from, goes with their answer."""
from analysis.review import queries as synthesis
from listening import queries
from tests.conftest import text_of
from tests.factories import make_participant, make_session, user_id

CLAUSE = "the night bus skips our stop by the laundromat"


def renamed_machine_theme(db, owner: int):
    """A session whose machine theme is named with a clause of one resident's answer, renamed by a planner; returns
    (session, the resident's receipt)."""
    found = make_session(db, created_by=owner, prompts=[{"kind": "open", "text": "What helps you?"}])
    [prompt] = queries.prompts_for_session(db, found["id"])
    person = make_participant(db, found)
    queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-1",
                          language="en", text=f"Honestly {CLAUSE}, every night.")
    with db.conn:
        theme_id = db.execute(
            """INSERT INTO themes (session_id, label, machine_label, top_terms, created_at, updated_at)
               VALUES (?, ?, ?, '["bus", "stop", "night"]', '2026-12-01', '2026-12-01')""",
            (found["id"], CLAUSE.capitalize(), CLAUSE.capitalize())).lastrowid
    synthesis.rename_theme(db, found["id"], theme_id, "Night buses", user_id=None)
    return found, person.receipt


def test_a_withdrawal_takes_their_words_out_of_a_renamed_themes_old_name(db, as_planner, make_user):
    """After the resident withdraws, the History page and the stored log no longer hold the clause of their answer."""
    found, receipt = renamed_machine_theme(db, user_id(db, make_user("planner")))
    assert CLAUSE in text_of(as_planner.get(f"/staff/review/{found['id']}/history")).casefold()
    assert queries.withdraw(db, receipt).outcome == "withdrawn"
    assert CLAUSE not in text_of(as_planner.get(f"/staff/review/{found['id']}/history")).casefold()
    stored = " ".join(r[0] for r in db.execute("SELECT detail FROM theme_edits WHERE session_id = ?", (found["id"],)))
    assert "laundromat" not in stored.casefold()
    assert "Night buses" in stored  # what the planner wrote stays


def test_a_withdrawal_takes_their_words_out_of_merged_and_merged_away_themes(db, as_planner, make_user):
    """A machine theme named with a clause of their answer, merged into another (kept: shaped by a person, its name still
    the engine's; merged away: retired, still named on the History page), loses the clause on every page after they
    withdraw."""
    found = make_session(db, created_by=user_id(db, make_user("planner")), prompts=[{"kind": "open", "text": "What helps you?"}])
    [prompt] = queries.prompts_for_session(db, found["id"])
    person = make_participant(db, found)
    queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-1",
                          language="en", text=f"Honestly {CLAUSE}, every night.")
    with db.conn:
        ids = [db.execute("""INSERT INTO themes (session_id, label, machine_label, top_terms, created_at, updated_at)
                             VALUES (?, ?, ?, ?, '2026-12-01', '2026-12-01')""",
                          (found["id"], label, label, terms)).lastrowid
               for label, terms in ((CLAUSE.capitalize(), '["bus", "stop"]'), ("Our stop by the laundromat", '["laundromat"]'))]
    synthesis.merge_themes(db, found["id"], ids[0], ids[1], user_id=None)
    assert "our stop by the laundromat" in text_of(as_planner.get(f"/staff/review/{found['id']}/history")).casefold()
    assert queries.withdraw(db, person.receipt).outcome == "withdrawn"
    labels = [r[0] for r in db.execute("SELECT label FROM themes WHERE session_id = ? ORDER BY id", (found["id"],))]
    assert labels == ["Bus, stop", "Laundromat"]
    assert "our stop by the" not in text_of(as_planner.get(f"/staff/review/{found['id']}/history")).casefold()
    assert "skips our stop" not in text_of(as_planner.get(f"/staff/review/{found['id']}")).casefold()


def test_a_withdrawal_takes_their_words_out_of_a_renamed_themes_engine_label(db, as_planner, make_user):
    """A renamed theme's page still says what the engine named it ("Engine's label: ..."): that clause of their answer
    goes too when they withdraw, and the planner's name stays."""
    found, receipt = renamed_machine_theme(db, user_id(db, make_user("planner")))
    with db.conn:  # an answer of someone else keeps the theme on the page
        other = make_participant(db, found)
        [prompt] = queries.prompts_for_session(db, found["id"])
        answer = queries.save_response(db, session_id=found["id"], participant_id=other.id, prompt_id=prompt["id"],
                                       nonce="n-2", language="en", text="Buses at night are rare").response_id
        db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) "
                   "SELECT ?, ?, id, 'theme', '2026-12-01' FROM themes WHERE session_id = ?", (answer, found["id"], found["id"]))
    theme_page = f"/staff/review/{found['id']}?theme={db.execute('SELECT id FROM themes').fetchone()[0]}"
    assert CLAUSE in text_of(as_planner.get(theme_page)).casefold()
    assert queries.withdraw(db, receipt).outcome == "withdrawn"
    shown = text_of(as_planner.get(theme_page))
    assert "laundromat" not in shown.casefold() and "Night buses" in shown
