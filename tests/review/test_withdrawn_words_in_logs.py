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
