"""The schema: ordered migrations that are safe to run twice."""
import inspect
import re

from listening import migrations as schema_module
from listening.db import connect
from listening.migrations import migrate, migrations


def test_every_migration_function_in_the_schema_module_is_registered_in_file_order():
    """A migration written without its @migrations() decorator (as a merge once left one) would never run."""
    written = [name for name, _ in sorted(
        ((name, fn) for name, fn in vars(schema_module).items() if re.fullmatch(r"m\d{3}_\w+", name) and inspect.isfunction(fn)),
        key=lambda item: item[1].__code__.co_firstlineno)]
    assert [m.name for m in migrations._migrations] == written


def test_migrations_apply_to_an_empty_database_and_again_without_change(tmp_path):
    """Applying every migration twice leaves the same schema and records each once."""
    db = connect(str(tmp_path / "m.db"))
    first = migrate(db)
    schema = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    second = migrate(db)
    assert first == [m.name for m in migrations._migrations]
    assert second == []
    assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    applied = [row[0] for row in db.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == first


def test_database_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    """Connections turn on WAL, foreign keys and a busy timeout."""
    db = connect(str(tmp_path / "p.db"), busy_timeout_ms=4321)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 4321


def test_adding_the_react_kind_keeps_every_answer_and_foreign_keys_on(tmp_path):
    """Widening the prompts table for 'react' keeps earlier prompts, options and answers and leaves foreign keys on."""
    from listening import queries
    from tests.factories import make_participant, make_session

    db = connect(str(tmp_path / "w.db"))
    migrations.apply(db, stop_before="m015_design_statements")
    found = make_session(db, prompts=[], status="draft")
    # Written as the schema before m015 stood (add_prompt now writes the `points` column m015 adds).
    prompt_id = db.execute("INSERT INTO prompts (session_id, position, kind, created_at) VALUES (?, 1, 'single', 'now')",
                           (found["id"],)).lastrowid
    option_id = db.execute("INSERT INTO options (prompt_id, position) VALUES (?, 1)", (prompt_id,)).lastrowid
    db.conn.commit()
    queries.set_status(db, found["id"], "open")
    person = make_participant(db, found)
    queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt_id,
                          nonce="n-1", language="en", choices=[option_id])
    before = db.execute("SELECT * FROM responses").fetchall(), db.execute("SELECT * FROM options").fetchall()
    assert migrate(db)[0] == "m015_design_statements"
    # Later migrations add columns (m026: responses.table_id): the columns there before keep their values.
    kept = ([tuple(r)[:len(before[0][0])] for r in db.execute("SELECT * FROM responses")],
            [tuple(r)[:len(before[1][0])] for r in db.execute("SELECT * FROM options")])
    assert kept == ([tuple(r) for r in before[0]], [tuple(r) for r in before[1]])
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    queries.add_prompt(db, found["id"], kind="react", texts={"en": "React"})
    assert [p["kind"] for p in queries.prompts_for_session(db, found["id"])][-1] == "react"
    index_names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'prompts' AND type = 'index'")}
    assert "prompts_by_session" in index_names


def test_adding_the_ideas_kind_keeps_answers_statements_and_the_cache_triggers(tmp_path):
    """m026 widens prompts for 'ideas' keeping every answer, statement and vote, the data-version triggers and foreign keys."""
    from listening import queries
    from listening import statements as st
    from tests.factories import make_participant, make_session

    db = connect(str(tmp_path / "i.db"))
    migrations.apply(db, stop_before="m026_ideas_tables")
    found = make_session(db, prompts=[{"kind": "react", "text": "React"}, {"kind": "open", "text": "Why?"}], status="draft")
    db.conn.commit()
    queries.set_status(db, found["id"], "open")
    react, open_prompt = queries.prompts_for_session(db, found["id"])
    person = make_participant(db, found)
    statement = st.add_statement(db, found["id"], react["id"], language="en", body="Evening hours")
    st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=statement, vote=1, nonce="n-v",
                 language="en")
    queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=open_prompt["id"],
                          nonce="n-1", language="en", text="Because")
    tables = ("responses", "votes", "statements", "prompts")
    before = {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert migrate(db)[0] == "m026_ideas_tables"  # and the migrations after it
    after = {t: [tuple(r)[:len(before[t][0])] for r in db.execute(f"SELECT * FROM {t}")] for t in tables}
    assert after == {t: [tuple(r) for r in before[t]] for t in tables}
    assert triggers <= {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    version = db.execute("SELECT version FROM data_versions WHERE session_id = ?", (found["id"],)).fetchone()[0]
    queries.add_prompt(db, found["id"], kind="ideas", texts={"en": "How might we?"})
    assert db.execute("SELECT version FROM data_versions WHERE session_id = ?", (found["id"],)).fetchone()[0] > version
    assert [p["kind"] for p in queries.prompts_for_session(db, found["id"])][-1] == "ideas"


def test_m045_makes_the_placement_triggers_again_with_the_same_statements_and_the_bulk_flag_added(tmp_path):
    """The twelve triggers on theme_assignments keep their event, their condition and their statements word for word;
    m045 only adds "no row in bulk_placing" to when they fire."""
    db = connect(str(tmp_path / "m.db"))
    migrations.apply(db, stop_before="m045_place19")
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'theme_assignments' ORDER BY name"
    before = dict(db.execute(query).fetchall())
    migrate(db)
    after = dict(db.execute(query).fetchall())
    assert len(before) == 12 and set(after) == set(before)
    header = re.compile(r"CREATE TRIGGER (\w+)\s+(.*?)\s+ON theme_assignments\s*(?:WHEN (.*?))?\s*BEGIN (.*) END", re.S)
    flag = "NOT EXISTS (SELECT 1 FROM bulk_placing)"
    for name, sql in before.items():
        old, new = header.fullmatch(" ".join(sql.split())), header.fullmatch(" ".join(after[name].split()))
        assert (new[1], new[2]) == (old[1], old[2]), name
        assert new[3] == (f"({old[3]}) AND {flag}" if old[3] else flag), name
        assert [s.strip() for s in new[4].split(";") if s.strip()] == [s.strip() for s in old[4].split(";") if s.strip()], name
