"""`chorus backup` takes a consistent copy while answers are being written; `chorus restore` brings it back."""
import sqlite3
import threading

import pytest

from listening import queries
from listening.cli import cli
from listening.backup import BackupError, backup, check, restore
from listening.db import connect
from tests.factories import make_participant, make_session


def table_rows(path, table):
    """Return every row of a table in a database file, in id order."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_a_backup_taken_under_writes_restores_to_a_consistent_database(app, db, tmp_path):
    """A writer keeps answering during the backup; the copy is sound and restores to exactly itself."""
    session = make_session(db, prompts=[{"kind": "open", "text": f"Q{n}"} for n in range(3)])
    prompts = queries.prompts_for_session(db, session["id"])
    stop = threading.Event()
    written = []

    def writer():
        """Answer as fast as possible from another connection until told to stop."""
        conn = connect(app.config["DATABASE"])
        n = 0
        while not stop.is_set():
            person = make_participant(conn, session)
            for prompt in prompts:
                queries.save_response(conn, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                      nonce=f"nonce-{n}-{prompt['id']}", language="en", text=f"answer {n}")
            written.append(n)
            n += 1
        conn.conn.close()

    (tmp_path / "backups").mkdir()
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        copy = backup(app.config["DATABASE"], tmp_path / "backups", pages=4)
        while len(written) < 40:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()

    assert copy.ok and copy.path.parent == tmp_path / "backups"
    answers = table_rows(copy.path, "responses")
    people = table_rows(copy.path, "participants")
    assert 20 * 3 <= len(answers) < len(written) * 3
    # Consistent: each answer and its nonce were committed together, so the copy has both or neither,
    # and no answer points at a participant the copy lacks.
    assert len([row for row in table_rows(copy.path, "submissions") if row[2] == "answer"]) == len(answers)
    # The copy may land after a participant is saved but before any of their answers.
    assert len(people) * 3 - 3 <= len(answers) <= len(people) * 3
    conn = sqlite3.connect(str(copy.path))
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()

    target = tmp_path / "restored.db"
    restored = restore(copy.path, target)
    assert restored.ok
    for table in ("sessions", "participants", "consents", "responses", "submissions", "_sqlite_migrations"):
        assert table_rows(target, table) == table_rows(copy.path, table), table


def test_restore_refuses_to_overwrite_without_force(app, db, tmp_path):
    """The live database is only replaced when --force is given."""
    make_session(db)
    copy = backup(app.config["DATABASE"], tmp_path / "copy.db")
    with pytest.raises(BackupError, match="--force"):
        restore(copy.path, app.config["DATABASE"])
    assert restore(copy.path, app.config["DATABASE"], force=True).ok


def test_restore_refuses_a_damaged_or_foreign_file(tmp_path):
    """A file that is not a sound Chorus database is refused with the reason."""
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite database"):
        restore(junk, tmp_path / "out.db")
    empty = tmp_path / "empty.db"
    sqlite3.connect(str(empty)).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(BackupError, match="not a Chorus database"):
        restore(empty, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


def test_restore_refuses_a_backup_from_a_newer_chorus(app, tmp_path):
    """A backup with migrations this version does not know is refused."""
    copy = backup(app.config["DATABASE"], tmp_path / "copy.db")
    conn = sqlite3.connect(str(copy.path))
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('chorus', 'm999_future', 'x')")
    conn.commit()
    conn.close()
    assert check(copy.path).unknown == ("m999_future",)
    with pytest.raises(BackupError, match="newer Chorus"):
        restore(copy.path, tmp_path / "out.db")


def test_backup_never_overwrites(app, tmp_path):
    """Backing up onto an existing file is refused."""
    (tmp_path / "taken.db").write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(app.config["DATABASE"], tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "keep me"


def test_backup_and_restore_commands(runner, app, db, tmp_path):
    """The CLI commands report success, and restore needs --force over a database."""
    make_session(db)
    result = runner.invoke(cli, ["backup", str(tmp_path / "b.db")])
    assert result.exit_code == 0 and "Backed up" in result.output
    refused = runner.invoke(cli, ["restore", str(tmp_path / "b.db")])
    assert refused.exit_code == 1 and "--force" in refused.output
    forced = runner.invoke(cli, ["restore", str(tmp_path / "b.db"), "--force"])
    assert forced.exit_code == 0 and "Restored" in forced.output


def test_a_restore_leaves_no_job_file_of_the_database_it_replaces(app, db, tmp_path):
    """Export and theme-run files beside the replaced database belong to its jobs: the restored copy reuses their ids
    (a 'done' export of the backup would be served another job's file), so a restore deletes them."""
    from listening import erasures

    make_session(db)
    copy = backup(app.config["DATABASE"], tmp_path / "backups" / "b.db")
    folder = erasures.exports_folder(app.config["DATABASE"])
    folder.mkdir(mode=0o700, exist_ok=True)
    left = [erasures.export_file(app.config["DATABASE"], 7), erasures.checkpoint_file(app.config["DATABASE"], 8)]
    for path in left:
        path.write_bytes(b"another session's answers")
    (folder / "unrelated.txt").write_text("kept")
    restore(copy.path, app.config["DATABASE"], force=True)
    assert not any(path.exists() for path in left)
    assert (folder / "unrelated.txt").exists()
