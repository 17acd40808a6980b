"""The schema: ordered migrations that are safe to run twice."""
from listening.db import connect
from listening.migrations import migrate, migrations


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
