"""Withdrawal really removes a person: no copy in the database files, and none brought back by a restore."""
import json
import os
import sqlite3
from pathlib import Path

import pytest

from listening import queries, retention
from listening.backup import backup, restore
from listening.cli import cli
from listening.db import connect
from listening.erasures import ledger_path
from tests.conftest import migrated_app, page, submit
from tests.factories import make_session

ANSWER = "Quetzalli drove me to the clinic on Elm Street"
CONTACT = {"contact_name": "Zenaida Okonkwo", "contact_email": "zenaida.okonkwo@example.org",
           "contact_phone": "336-555-0199"}
TRACES = (b"Quetzalli", b"Zenaida", b"okonkwo@example", b"555-0199")


def database_files(path) -> dict[str, bytes]:
    """Return the bytes of a database file and its -wal and -shm files (those that exist)."""
    found = {}
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{path}{suffix}")
        if file.exists():
            found[file.name] = file.read_bytes()
    return found


def traces_in(path) -> dict[str, list[bytes]]:
    """Return, per database file, which of the person's words or contact details its bytes still hold."""
    return {name: [t for t in TRACES if t in data or t.decode().encode("utf-16-le") in data]
            for name, data in database_files(path).items()}


def no_traces(path) -> bool:
    """Tell whether no database file holds any trace of the person."""
    return all(not found for found in traces_in(path).values())


def take_part(client, session) -> str:
    """Agree with contact details, answer the open question, and return the receipt code."""
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y", "contact_ok": "y", **CONTACT})
    submit(client, f"/s/{session['code']}/q/1", {"answer": ANSWER})
    return page(client.get(f"/s/{session['code']}/thanks")).select_one(".receipt .code").get_text(strip=True)


@pytest.fixture
def person(app, client, db):
    """A resident who gave contact details and one answer, and the receipt code they hold."""
    session = make_session(db)
    receipt = take_part(client, session)
    assert not no_traces(app.config["DATABASE"])  # the test can see the words where they are
    return session, receipt


def test_a_withdrawal_leaves_no_trace_in_the_database_or_its_write_ahead_log(app, client, db, person):
    """After withdrawing, the bytes of the database, -wal and -shm hold neither the answer nor the contact details."""
    _session, receipt = person
    assert submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"}).status_code == 200
    assert traces_in(app.config["DATABASE"]) == {name: [] for name in database_files(app.config["DATABASE"])}
    assert Path(app.config["DATABASE"] + "-wal").stat().st_size == 0


def test_restoring_a_backup_taken_before_a_withdrawal_brings_no_one_back(app, client, db, person, tmp_path):
    """Backup, withdraw, restore: the restored database and its side files hold no trace, and the person stays withdrawn."""
    session, receipt = person
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    assert any(TRACES[0] in data for data in database_files(copy.path).values())  # the backup has them
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    db.conn.close()

    restored = restore(copy.path, app.config["DATABASE"], force=True)

    assert (restored.ok, restored.withdrawals) == (True, 1)
    assert no_traces(app.config["DATABASE"])
    again = connect(app.config["DATABASE"])
    try:
        assert again.execute("SELECT count(*) FROM responses").fetchone()[0] == 0
        assert again.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
        assert queries.withdraw(again, receipt).outcome == "already"
        log = [dict(row) for row in again.execute("SELECT * FROM deletion_log WHERE kind = 'withdrawal'")]
        assert len(log) == 1 and "re-applied after restoring a backup" in log[0]["reason"]
        assert again.execute("SELECT count(*) FROM erasure_ledger").fetchone()[0] == 1  # the ledger survives
    finally:
        again.conn.close()


def test_the_ledger_keeps_no_content_and_outlives_a_lost_database(app, client, db, person, tmp_path):
    """The ledger (table and file) holds no words, contact or receipt; with the database gone, its file still protects."""
    session, receipt = person
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    ledger = ledger_path(app.config["DATABASE"])
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [(e["kind"], e["session_code"]) for e in lines] == [("withdrawal", session["code"])]
    stored = str(db.execute("SELECT * FROM erasure_ledger").fetchall()) + ledger.read_text()
    assert not [t for t in TRACES if t.decode() in stored]
    assert queries.normalize_code(receipt) not in stored
    assert oct(ledger.stat().st_mode & 0o777) == "0o600"
    db.conn.close()

    for suffix in ("", "-wal", "-shm"):  # the disk lost the database, not the ledger beside it
        Path(app.config["DATABASE"] + suffix).unlink(missing_ok=True)
    assert restore(copy.path, app.config["DATABASE"]).withdrawals == 1
    assert no_traces(app.config["DATABASE"])


def test_a_ledger_from_elsewhere_is_honoured(app, client, db, person, tmp_path):
    """On a new machine, `chorus restore --ledger` with a copy of the ledger (or a newer backup) honours it."""
    _session, receipt = person
    old = backup(app.config["DATABASE"], tmp_path / "old.db")
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    newer = backup(app.config["DATABASE"], tmp_path / "newer.db")
    (tmp_path / "elsewhere").mkdir()
    elsewhere = migrated_app(tmp_path / "elsewhere" / "chorus.db")
    runner = elsewhere.test_cli_runner()
    for ledger in (newer.path, ledger_path(app.config["DATABASE"])):
        result = runner.invoke(cli, ["restore", str(old.path), "--force", "--ledger", str(ledger)])
        assert result.exit_code == 0, result.output
        assert "re-applied 1 withdrawal, 0 retention purges and 0 undone imports" in result.output
        assert no_traces(elsewhere.config["DATABASE"])


def test_an_unreadable_or_missing_extra_ledger_is_named_and_the_databases_own_ledger_still_honoured(app, client, db, person, tmp_path):
    """`--ledger` files that are not text (a wrong file picked, a damaged copy) or not there are reported as problems;
    the restore goes on and still re-applies the withdrawal the database's own ledger holds."""
    _session, receipt = person
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    db.conn.close()
    damaged, missing = tmp_path / "ledger-copy.jsonl", tmp_path / "no-such-ledger.jsonl"
    damaged.write_bytes(b"\xff\xfe\x00\x81 not a ledger \xc3\x28")

    restored = restore(copy.path, app.config["DATABASE"], force=True, ledgers=[damaged, missing])

    assert (restored.ok, restored.withdrawals) == (True, 1)
    assert sorted(problem.split(":")[0] for problem in restored.ledger_problems) == sorted([str(damaged), str(missing)])
    assert no_traces(app.config["DATABASE"])


def test_a_lost_ledger_file_is_made_good_from_the_database_it_sat_beside(app, client, db, person, tmp_path):
    """The ledger file beside the database is gone (a copy that left it behind): the withdrawal recorded in the
    database being replaced is still re-applied, and the restore may go to a folder that does not exist yet."""
    _session, receipt = person
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    db.conn.close()
    ledger_path(app.config["DATABASE"]).unlink()

    assert restore(copy.path, app.config["DATABASE"], force=True).withdrawals == 1
    assert no_traces(app.config["DATABASE"])
    elsewhere = tmp_path / "new" / "instance" / "chorus.db"
    assert restore(copy.path, elsewhere, ledgers=[app.config["DATABASE"]]).withdrawals == 1
    assert no_traces(elsewhere)


def purged_after_a_backup(app, db, tmp_path, *, contact: dict | None):
    """One resident (with or without contact details) answers, a backup is taken, the session is closed and
    purged, and the backup is restored: return the session, its question and what the restore did."""
    session = make_session(db)
    prompt = queries.prompts_for_session(db, session["id"])[0]
    person = queries.record_consent(db, session["id"], consent_version_id=queries.current_consent(db, session["id"], "en")["id"],
                                    language="en", nonce="early-consent", quote_ok=False, contact_ok=contact is not None,
                                    contact=contact)
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="early-answer", language="en", text=ANSWER)
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    queries.set_status(db, session["id"], "closed")
    assert retention.purge_session(db, session["id"], reason="test") is not None
    db.conn.close()
    return session, prompt, restore(copy.path, app.config["DATABASE"], force=True)


def test_a_retention_purge_after_the_backup_is_honoured_but_later_answers_stay(app, db, tmp_path):
    """A purge made after a backup is re-applied on restore; text given after the purge is kept."""
    session, prompt, restored = purged_after_a_backup(app, db, tmp_path, contact={"email": "zenaida.okonkwo@example.org"})

    assert restored.purges == 1
    assert no_traces(app.config["DATABASE"])
    again = connect(app.config["DATABASE"])
    try:
        # Reopened after the restore: a new answer is not touched by the old purge.
        later = queries.record_consent(again, session["id"], consent_version_id=queries.current_consent(again, session["id"], "en")["id"],
                                       language="en", nonce="later-consent", quote_ok=False, contact_ok=False)
        queries.save_response(again, session_id=session["id"], participant_id=later.id, prompt_id=prompt["id"],
                              nonce="later-answer", language="en", text="Said after the purge")
        from listening.backup import reapply
        from listening.erasures import read_table

        assert reapply(again, read_table(again.conn)) == (0, 0, 0)
        assert again.execute("SELECT text FROM responses WHERE text IS NOT NULL").fetchall()[0][0] == "Said after the purge"
    finally:
        again.conn.close()



def test_a_purge_of_answers_from_people_who_left_no_contact_details_is_re_applied_and_logged(app, db, tmp_path):
    """Most residents leave no contact details: a purge after the backup that blanked only answers is re-applied on
    restore and, like any purge, counted, written to the deletion log and marked on the session."""
    session, _prompt, restored = purged_after_a_backup(app, db, tmp_path, contact=None)

    assert restored.purges == 1
    again = connect(app.config["DATABASE"])
    try:
        assert again.execute("SELECT count(*) FROM responses WHERE text IS NOT NULL").fetchone()[0] == 0
        logged = [dict(r) for r in again.execute("SELECT kind, detail, reason FROM deletion_log WHERE session_id = ?",
                                                 (session["id"],))]
        assert [(r["kind"], r["detail"]) for r in logged if "re-applied" in r["reason"]] == [
            ("retention_purge", "answer_texts=1 contact_details=0")]
        assert again.execute("SELECT purged_at FROM sessions WHERE id = ?", (session["id"],)).fetchone()[0]
    finally:
        again.conn.close()


def test_a_withdrawal_of_someone_not_in_the_backup_changes_nothing(app, client, db, tmp_path):
    """A ledger entry for a person who joined after the backup touches no one in the restored copy."""
    session = make_session(db)
    stays = take_part(app.test_client(), session)
    copy = backup(app.config["DATABASE"], tmp_path / "before.db")
    leaves = take_part(client, session)
    submit(client, "/withdraw", {"receipt": leaves, "confirm": "y"})
    db.conn.close()
    restored = restore(copy.path, app.config["DATABASE"], force=True)
    again = connect(app.config["DATABASE"])
    try:
        assert restored.withdrawals == 0
        assert again.execute("SELECT count(*) FROM responses").fetchone()[0] == 1
        assert queries.participant_by_receipt(again, stays)["withdrawn_at"] is None
    finally:
        again.conn.close()


def test_restoring_signs_every_staff_member_out(app, client, db, make_user, tmp_path):
    """A staff cookie from before the restore no longer works after it (it may have been revoked since the backup)."""
    from tests.conftest import sign_in

    sign_in(client, make_user("facilitator"))
    assert client.get("/staff/").status_code == 200
    copy = backup(app.config["DATABASE"], tmp_path / "b.db")
    db.conn.close()
    restore(copy.path, app.config["DATABASE"], force=True)
    assert client.get("/staff/").status_code == 302


def test_a_checkpoint_held_up_by_a_reader_is_finished_on_a_later_request(tmp_path):
    """If a long read keeps the log from being truncated after a withdrawal, the next request truncates it."""
    app = migrated_app(tmp_path / "t.db", BUSY_TIMEOUT_MS=100)
    db = connect(app.config["DATABASE"])
    session = make_session(db)
    client = app.test_client()
    receipt = take_part(client, session)
    reader = sqlite3.connect(app.config["DATABASE"])
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM responses").fetchone()  # holds an old snapshot
    submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
    reader.rollback()
    reader.close()
    client.get("/withdraw")
    assert no_traces(app.config["DATABASE"])
    assert Path(app.config["DATABASE"] + "-wal").stat().st_size == 0
    db.conn.close()


def test_database_files_backups_ledgers_and_exports_are_owner_only(app, client, db, person, runner, tmp_path):
    """Whatever the umask, the database, its -wal and -shm, backups, the ledger file and exports are created 0600."""
    session, receipt = person
    old = os.umask(0)
    try:
        fresh = connect(str(tmp_path / "fresh.db"))
        fresh.execute("CREATE TABLE t (x)")
        fresh.execute("INSERT INTO t VALUES (1)")
        files = [tmp_path / "fresh.db", tmp_path / "fresh.db-wal", tmp_path / "fresh.db-shm"]
        copy = backup(app.config["DATABASE"], tmp_path / "backups" / "b.db")
        submit(client, "/withdraw", {"receipt": receipt, "confirm": "y"})
        out = tmp_path / "answers.csv"
        assert runner.invoke(cli, ["export", session["code"], "--format", "csv", "--output", str(out)]).exit_code == 0
        restore(copy.path, tmp_path / "restored.db")
        files += [copy.path, ledger_path(app.config["DATABASE"]), out, tmp_path / "restored.db",
                  ledger_path(tmp_path / "restored.db"),
                  *(Path(app.config["DATABASE"] + suffix) for suffix in ("", "-wal", "-shm"))]
        assert {str(f): oct(f.stat().st_mode & 0o777) for f in files} == {str(f): "0o600" for f in files}
        fresh.conn.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    """A database created by an older Chorus with mode 0644 loses group and world access when opened."""
    path = tmp_path / "old.db"
    sqlite3.connect(str(path)).execute("CREATE TABLE t (x)").connection.close()
    path.chmod(0o644)
    connect(str(path)).conn.close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
