"""The `chorus` command: init, user add, demo."""
import os

from listening.accounts import user_by_email
from listening.cli import cli


def test_init_creates_the_database(runner, app):
    """`chorus init` migrates the database and says where it is."""
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "Database ready" in result.output


def test_user_add_with_a_password(runner, db):
    """`chorus user add` creates an account with the given role."""
    result = runner.invoke(cli, ["user", "add", "lead@example.org", "--role", "planner", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    assert user_by_email(db, "lead@example.org")["role"] == "planner"


def test_user_add_asks_for_a_password_without_echoing_it(runner, db):
    """Without --password the command asks twice and stores only a hash."""
    result = runner.invoke(cli, ["user", "add", "fac@example.org", "--role", "facilitator"],
                           input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    assert user_by_email(db, "fac@example.org")["password_hash"].startswith("scrypt:")


def test_user_add_refuses_bad_input_clearly(runner, db):
    """A short password, an unknown role or a duplicate email each get a clear error, no traceback."""
    short = runner.invoke(cli, ["user", "add", "a@example.org", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0 and "at least" in short.output
    role = runner.invoke(cli, ["user", "add", "a@example.org", "--role", "king", "--password", "a long password"])
    assert role.exit_code != 0 and "king" in role.output
    runner.invoke(cli, ["user", "add", "b@example.org", "--role", "admin", "--password", "a long password"])
    again = runner.invoke(cli, ["user", "add", "B@example.org", "--role", "admin", "--password", "a long password"])
    assert again.exit_code != 0 and "already" in again.output
    assert "Traceback" not in short.output + role.output + again.output


def test_demo_prints_how_to_get_in_and_makes_one_open_session(runner, db):
    """`chorus demo` prints the facilitator's login and the join URLs (listening, follow-up design), and is safe to run twice."""
    first = runner.invoke(cli, ["demo", "--no-serve"])
    second = runner.invoke(cli, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("Facilitator: facilitator@example.org ")
    assert lines[1].startswith("Join URL: http://") and "/j/" in lines[1]
    assert lines[1] == second.output.splitlines()[1]
    assert lines[2].startswith("Follow-up design session: http://") and lines[2] == second.output.splitlines()[2]
    sessions = db.execute("SELECT status, languages FROM sessions ORDER BY id").fetchall()
    assert len(sessions) == 2 and all(s[0] == "open" for s in sessions)
    assert '"es"' in sessions[0][1]


def test_commands_create_a_missing_database_folder(tmp_path, monkeypatch):
    """`chorus demo`, `init` and `serve` with CHORUS_DATABASE in folders that do not exist create them (owner-only)."""
    import stat

    from click.testing import CliRunner

    from listening import cli as chorus_cli

    monkeypatch.setattr(chorus_cli, "run_server", lambda app, **kwargs: None)
    monkeypatch.setattr(chorus_cli, "ensure_port_free", lambda host, port, command: None)  # 5000 may be in use here
    for command in (["demo", "--no-serve"], ["init"], ["serve"]):
        database = tmp_path / command[0] / "not" / "yet" / "chorus.db"
        result = CliRunner().invoke(chorus_cli.cli, command, env={"CHORUS_DATABASE": str(database)})
        assert result.exit_code == 0, (command, result.output)
        assert database.is_file(), command
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700, command


def test_a_database_path_that_cannot_be_used_is_a_one_line_error(tmp_path):
    """A folder that cannot be made, or a folder given as the database, gives one line of error and no traceback."""
    from click.testing import CliRunner

    from listening import cli as chorus_cli

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for database in (blocker / "chorus.db", tmp_path):
        for command in (["demo", "--no-serve"], ["init"], ["serve"]):
            result = CliRunner().invoke(chorus_cli.cli, command, env={"CHORUS_DATABASE": str(database)})
            assert result.exit_code == 1, (command, result.output)
            lines = [line for line in result.output.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("Error: "), (command, result.output)
            assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_serve_and_demo_run_the_job_consumer_beside_the_server_and_stop_it(tmp_path):
    """The consumer `chorus serve` and `chorus demo` start takes the database's job lock, and lets go when the server stops."""
    import fcntl
    import time

    from listening import cli as chorus_cli

    database = tmp_path / "chorus.db"
    config = {"DATABASE": str(database), "JOBS_IMMEDIATE": False}
    lock_path = f"{database}-jobs.lock"

    def locked() -> bool:
        """Tell whether another process holds the job lock."""
        if not os.path.exists(lock_path):
            return False
        with open(lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    with chorus_cli.job_consumer(config):
        deadline = time.monotonic() + 60
        while not locked() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert locked()
    assert not locked()


def test_help_lists_every_command_without_building_the_app(app, monkeypatch):
    """`chorus --help` lists Chorus's and the plugins' commands without building the app, which registers none of its own."""
    from click.testing import CliRunner

    from listening import cli as chorus_cli

    assert list(app.cli.commands) == []  # so building it to list commands would add nothing

    built = []
    monkeypatch.setattr("listening.app.create_app", lambda *args, **kwargs: built.append(args))
    result = CliRunner().invoke(chorus_cli.cli, ["--help"])
    assert result.exit_code == 0, result.output
    assert built == []  # Flask swallows errors while listing, so the test counts calls
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert set(chorus_cli.cli.commands) <= listed and "limiter" in listed


def test_the_command_group_loads_neither_the_app_nor_the_themes_engine():
    """Importing the `chorus` group (all `chorus --help` needs) loads neither the app factory nor the themes engine and SciPy."""
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys, listening.cli\n"
              "print(sorted(m for m in ('listening.app', 'analysis.themes', 'scipy.sparse', 'sklearn') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_chorus_command_runs_without_loading_the_plugins_commands(monkeypatch):
    """`chorus themes` finds its command without importing the plugins' (Flask-Limiter's); a plugin's command is still found."""
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    from listening import cli as chorus_cli

    loads = []
    original = FlaskGroup._load_plugin_commands
    monkeypatch.setattr(FlaskGroup, "_load_plugin_commands", lambda self: loads.append(1) or original(self))
    result = CliRunner().invoke(chorus_cli.cli, ["themes", "--help"])
    assert result.exit_code == 0 and "--text-column" in result.output
    assert loads == []
    result = CliRunner().invoke(chorus_cli.cli, ["limiter", "--help"])  # loads them, unless an earlier test did
    assert result.exit_code == 0 and "Flask-Limiter" in result.output


def test_chorus_themes_and_opinions_run_without_flask():
    """`chorus themes` and `chorus opinions` need no app: main() runs them without importing Flask (issue 14), same help."""
    import subprocess
    import sys
    from pathlib import Path

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "COLUMNS": "100"}).stdout

    flask = "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'jinja2')))"
    for name in ("themes", "opinions"):
        alone = run(f"import sys\nsys.argv = ['chorus', '{name}', '--help']\nfrom listening.cli import main\n"
                    f"try:\n    main()\nexcept SystemExit:\n    pass\n{flask}")
        grouped = run(f"import sys\nfrom listening.cli import cli\n"
                      f"cli.main(args=['{name}', '--help'], prog_name='chorus', standalone_mode=False)\n{flask}")
        assert alone.startswith(f"Usage: chorus {name} [OPTIONS]")
        assert alone.rstrip().endswith("\n[]") and not grouped.rstrip().endswith("\n[]")
        assert alone.rsplit("\n", 2)[0] == grouped.rsplit("\n", 2)[0]


def test_demo_and_serve_on_a_port_in_use_say_so_in_one_line_and_change_nothing(tmp_path):
    """With the port taken (another Chorus; AirPlay on a Mac takes 5000) both commands stop at once with how to pick another,
    before the demo prints a login or resets its password, and without a second job consumer's error."""
    import socket
    import sqlite3

    from click.testing import CliRunner

    from listening import cli as chorus_cli

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        database = tmp_path / "chorus.db"
        env = {"CHORUS_DATABASE": str(database), "CHORUS_PORT": str(port)}
        CliRunner().invoke(chorus_cli.cli, ["demo", "--no-serve"], env=env)

        def password_hash() -> str:
            """Return the demo facilitator's stored password hash."""
            with sqlite3.connect(database) as conn:
                return conn.execute("SELECT password_hash FROM users WHERE email = 'facilitator@example.org'").fetchone()[0]

        before = password_hash()
        for command in (["demo"], ["serve"]):
            result = CliRunner().invoke(chorus_cli.cli, command, env=env)
            assert result.exit_code == 1, (command, result.output)
            lines = [line for line in result.output.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith(f"Error: Port {port} on 127.0.0.1 is already in use"), result.output
            assert "CHORUS_PORT=" in lines[0] and "Facilitator:" not in result.output
        assert password_hash() == before  # the password a running demo printed still works
    finally:
        taken.close()
