"""The `chorus` command: a thin Flask CLI group over the app factory and the query functions.

Commands: init, user add, demo, serve, jobs, themes, opinions, backup, restore, purge, export, import. Each is documented in the README; a test
fails if one is not.
"""
from __future__ import annotations

import functools
import os
import secrets
import sqlite3
import sys
from contextlib import contextmanager
from typing import Iterator

import click

# The app, the database layer, migrations and catalogs are imported by the commands that use them:
# `chorus themes`, `chorus opinions` and `chorus --help` on a CSV need none of them (0.4 s to import).
# Flask itself (0.15-0.2 s) loads only when the `chorus` group is built (`_group`): `chorus themes` and
# `chorus opinions` run straight from `main` without it (issue 14: `chorus themes` under 5 s).


class _CurrentApp:
    """``flask.current_app``, imported when a command first reads it (every such command runs in an app context)."""

    def __getattr__(self, attribute: str) -> object:
        from flask import current_app as app  # noqa: PLC0415 - see above

        return getattr(app, attribute)


current_app = _CurrentApp()


def with_appcontext(function):  # type: ignore[no-untyped-def]
    """``flask.cli.with_appcontext``, with Flask imported when the command runs rather than when it is defined."""

    @functools.wraps(function)
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        from flask.cli import with_appcontext as in_app_context  # noqa: PLC0415 - see above

        return in_app_context(function)(*args, **kwargs)

    return run


_COMMANDS: list[click.Command] = []  # the group's own commands, added when it is built


def command(name: str, group: bool = False):  # type: ignore[no-untyped-def]
    """``cli.command(name)`` (``cli.group(name)`` with ``group``) for the `chorus` group made later by :func:`_group`."""

    def register(function):  # type: ignore[no-untyped-def]
        made = (click.group if group else click.command)(name)(function)
        _COMMANDS.append(made)
        return made

    return register


def migrate(db) -> list[str]:  # type: ignore[no-untyped-def]
    """Apply the schema migrations the database lacks and return their names."""
    from .migrations import migrate as apply  # noqa: PLC0415 - see above

    return apply(db)


def compile_catalogs(force: bool = False) -> list[str]:
    """Compile the translation catalogs that are out of date (all with ``force``) and return their languages."""
    from .i18n import compile_catalogs as compile_all  # noqa: PLC0415 - see above

    return compile_all(force=force)


@contextmanager
def private_file(path: str) -> Iterator:
    """Open a file for writing that only its owner can read: exports hold what residents said."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode on open
    with os.fdopen(descriptor, "wb") as file:
        yield file


def open_db():
    """Open the configured database from inside an app context, or stop with a one-line error."""
    from .db import connect  # noqa: PLC0415 - see the imports above

    config = current_app.config
    try:
        return connect(config["DATABASE"], busy_timeout_ms=config["BUSY_TIMEOUT_MS"],
                       synchronous=config["SQLITE_SYNCHRONOUS"])
    except sqlite3.Error as exc:
        raise click.ClickException(f"Cannot open the database at {config['DATABASE']} ({exc}). "
                                   "Check CHORUS_DATABASE and the folder's permissions.") from None


def create_cli_app():
    """Build the app for a command; a database that cannot be placed is a one-line error, not a traceback."""
    from .app import create_app  # noqa: PLC0415 - see the imports above
    from .db import DatabaseUnavailable  # noqa: PLC0415

    try:
        return create_app()
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database and compile the translation catalogs."""
    db = open_db()
    applied = migrate(db)
    compiled = compile_catalogs(force=True)
    click.echo(f"Database ready at {current_app.config['DATABASE']}"
               + (f" (applied: {', '.join(applied)})" if applied else " (already up to date)"))
    click.echo(f"Compiled catalogs: {', '.join(compiled) or 'none'}")


@command("user", group=True)
def user_group() -> None:
    """Manage staff accounts."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "facilitator", "planner"]), required=True,
              help="admin manages users; facilitator runs sessions; planner reads and analyses.")
@click.option("--password", help="The password. Without it you are asked for one (safer: not in shell history).")
@with_appcontext
def user_add_command(email: str, role: str, password: str | None) -> None:
    """Add a staff account with a role."""
    from listening.accounts import create_user, user_by_email

    db = open_db()
    migrate(db)
    if user_by_email(db, email) is not None:
        raise click.ClickException(f"There is already an account for {email}.")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        create_user(db, email, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {role} {email}.")


@command("demo")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Start the server after setting up.")
@click.option("--host", default=None, help="Address to listen on (default CHORUS_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (default CHORUS_PORT).")
@with_appcontext
def demo_command(serve: bool, host: str | None, port: int | None) -> None:
    """Create a demo facilitator and a bilingual demo session, print how to get in, and serve."""
    from .demo import ensure_demo

    db = open_db()
    migrate(db)
    compile_catalogs()
    host = host or current_app.config["HOST"]
    port = port or current_app.config["PORT"]
    if serve:
        ensure_port_free(host, port, "demo")  # before a new password replaces the one a running demo printed
    password = secrets.token_urlsafe(9)
    if serve:
        from .security import ensure_instance_secret_key

        ensure_instance_secret_key(current_app._get_current_object())
    demo = ensure_demo(db, password=password)
    from .accounts import user_by_email
    from .demo import CONTACTS, demo_languages
    from .demo_design import ensure_demo_design

    design_code = ensure_demo_design(db, languages=demo_languages(), user_id=user_by_email(db, demo.email)["id"], contact=CONTACTS)
    base = current_app.config["BASE_URL"].rstrip("/") or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    click.echo(f"Facilitator: {demo.email} {password}")
    click.echo(f"Join URL: {base}/j/{demo.code}")
    click.echo(f"Follow-up design session: {base}/j/{design_code}")
    click.echo(f"Staff pages: {base}/staff/")
    sys.stdout.flush()
    if serve:
        with job_consumer(current_app.config):
            run_server(current_app._get_current_object(), host=host, port=port)


@command("serve")
@click.option("--host", default=None, help="Address to listen on (default CHORUS_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (default CHORUS_PORT).")
@click.option("--workers", default=None, type=int, help="Worker processes (default CHORUS_WORKERS).")
@click.option("--threads", default=None, type=int, help="Threads per worker (default CHORUS_THREADS).")
@with_appcontext
def serve_command(host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Serve Chorus with gunicorn, the production server, after bringing the database up to date."""
    db = open_db()
    migrate(db)
    compile_catalogs()
    config = current_app.config
    from .retention import purge_expired

    for purged in purge_expired(db, config["RETENTION_DAYS"]):
        click.echo(f"Retention: purged session {purged.code} ({purged.answers} answer texts, "
                   f"{purged.contacts} contact details)")
    db.conn.close()
    ensure_port_free(host or config["HOST"], port or config["PORT"], "serve")
    with job_consumer(config):
        run_server(current_app._get_current_object(), host=host or config["HOST"], port=port or config["PORT"],
                   workers=workers or config["WORKERS"], threads=threads or config["THREADS"])


@contextmanager
def job_consumer(config) -> Iterator[None]:
    """Run `chorus jobs` beside the web server (same database and queue) and stop it when the server stops."""
    import subprocess

    if config.get("JOBS_IMMEDIATE"):
        yield
        return
    env = {**os.environ, "CHORUS_DATABASE": str(config["DATABASE"])}
    child = subprocess.Popen([sys.executable, "-c", "from listening.cli import cli; cli(['jobs'])"], env=env)
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


# An idle consumer looks at the queue at least this often (Huey's own default backs off to 10 s): a job started
# on a quiet evening waited up to 10 s before it began (1 to 4 s measured, issue 19); one read of the queue file a second.
JOBS_POLL_MAX_S = 1.0


def job_consumer_of(app, workers: int | None):
    """Return the app's Huey consumer, not yet running: `workers` threads (else CHORUS_JOBS_WORKERS), no periodic
    tasks, polling an idle queue at least every JOBS_POLL_MAX_S."""
    from . import jobs

    return jobs.huey_of(app).create_consumer(workers=workers or app.config["JOBS_WORKERS"], worker_type="thread",
                                             periodic=False, max_delay=JOBS_POLL_MAX_S)


@command("jobs")
@click.option("--workers", default=None, type=int, help="Jobs run at once (default CHORUS_JOBS_WORKERS).")
@click.option("--recover/--no-recover", default=True, show_default=True,
              help="Continue theme runs left running by a stopped consumer and mark other such jobs interrupted. With Redis and consumers on several "
                   "machines, start only one with --recover.")
@with_appcontext
def jobs_command(workers: int | None, recover: bool) -> None:
    """Run the background job consumer: theme runs, live drafts and exports of big sessions."""
    import fcntl

    from . import jobs

    # One consumer per database on this machine: a second would mark the first one's running job interrupted.
    lock = open(f"{current_app.config['DATABASE']}-jobs.lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise click.ClickException("Another `chorus jobs` is already running for this database.") from None
    db = open_db()
    migrate(db)
    if recover:
        for job_id in jobs.recover(db):
            if jobs.job_by_id(db, job_id)["state"] == "interrupted":
                click.echo(f"Job {job_id} was running when the consumer stopped: marked interrupted (staff can start it again).")
            else:
                click.echo(f"Job {job_id} was running when the consumer stopped: queued again, to continue where it stopped.")
    db.conn.close()
    app = current_app._get_current_object()
    consumer = job_consumer_of(app, workers)
    click.echo(f"Chorus jobs: {workers or app.config['JOBS_WORKERS']} worker(s), queue "
               f"{app.config['REDIS_URL'] and 'in Redis' or jobs.queue_file(app.config)}")
    sys.stdout.flush()
    consumer.run()


def ensure_port_free(host: str, port: int, command: str) -> None:
    """Stop with one line if another program listens on host:port, before anything is printed, reset or started.

    Otherwise gunicorn retried for five seconds, a second job consumer reported the first, and the
    join URL printed above led to whatever held the port (on a Mac, AirPlay Receiver holds 5000).
    """
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: a port left in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"Port {port} on {host} is already in use (another `chorus demo` or `chorus serve`? On a Mac, AirPlay "
                    f"Receiver uses port 5000). Stop it, or use another port: CHORUS_PORT={port + 1} chorus {command}") from None
            raise click.ClickException(f"Cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def run_server(app, *, host: str, port: int, workers: int | None = None, threads: int | None = None) -> None:
    """Run the app under gunicorn with threaded workers."""
    from gunicorn.app.base import BaseApplication

    from .security import InsecureConfiguration, refuse_weak_secret_key

    try:
        refuse_weak_secret_key(app)
    except InsecureConfiguration as exc:
        raise click.ClickException(str(exc)) from None
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or app.config["WORKERS"],
        "threads": threads or app.config["THREADS"],
        "worker_class": "gthread",
        # A worker keeps the memory its biggest request needed; restarting it now and then hands it back
        # (the app is built before the fork, so a new worker starts in milliseconds). The jitter spreads restarts.
        "max_requests": app.config["MAX_REQUESTS"],
        "max_requests_jitter": app.config["MAX_REQUESTS"] // 10,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
    }

    class ChorusServer(BaseApplication):
        """Gunicorn, configured in code so `chorus serve` needs no config file."""

        def load_config(self) -> None:
            """Pass our options to gunicorn."""
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            """Hand gunicorn the already-built app."""
            return app

    click.echo(f"Serving Chorus on http://{host}:{port}/ (Ctrl+C to stop)")
    ChorusServer().run()


@command("backup")
@click.argument("dest", type=click.Path(dir_okay=True, file_okay=True))
@with_appcontext
def backup_command(dest: str) -> None:
    """Copy the database to DEST (a new file, or a folder for a dated file) while Chorus keeps serving."""
    from .backup import BackupError, backup

    try:
        result = backup(current_app.config["DATABASE"], dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {result.path} (integrity ok; migrations: {len(result.applied)}).")


@command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the existing database. Stop Chorus first.")
@click.option("--ledger", "ledgers", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Another erasure ledger to honour: a copy of the .erasures.jsonl file, or a newer backup "
                   "(repeatable). The ledger of the database being replaced and the file beside it are always read.")
@with_appcontext
def restore_command(src: str, force: bool, ledgers: tuple[str, ...]) -> None:
    """Check the backup SRC and bring it back as the database, honouring every withdrawal and purge made since."""
    from .backup import BackupError, restore

    try:
        result = restore(src, current_app.config["DATABASE"], force=force, ledgers=ledgers)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {src} to {current_app.config['DATABASE']} (integrity ok).")
    if result.migrated:
        click.echo(f"The backup was from an older Chorus; applied: {', '.join(result.migrated)}")
    click.echo(f"Erasure ledger: {plural(result.ledger_entries, 'entry', 'entries')}; re-applied "
               f"{plural(result.withdrawals, 'withdrawal')}, {plural(result.purges, 'retention purge')} and "
               f"{plural(result.imports_undone, 'undone import')} made after the backup.")
    for problem in result.ledger_problems:
        click.echo(f"Warning: could not read a ledger ({problem}); withdrawals it holds were not re-applied.", err=True)
    click.echo("Every staff member must sign in again. Accounts turned off or passwords changed after the backup "
               "are as they were in the backup: check them on the Accounts page.")


def plural(count: int, one: str, many: str | None = None) -> str:
    """Write a count with its noun in the singular or plural, for the operator's messages."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


@command("purge")
@click.option("--dry-run", is_flag=True, help="Only list the sessions that are due.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Purge raw answer text and contact details of sessions past their retention period (for cron)."""
    from .retention import purge_expired, sessions_due

    db = open_db()
    migrate(db)
    default_days = current_app.config["RETENTION_DAYS"]
    if dry_run:
        due = sessions_due(db, default_days)
        click.echo("\n".join(f"due: {s['code']} (closed {s['closed_at']})" for s in due) or "Nothing is due.")
        return
    purged = purge_expired(db, default_days)
    for item in purged:
        click.echo(f"Purged session {item.code}: {item.answers} answer texts, {item.contacts} contact details.")
    if not purged:
        click.echo("Nothing to purge.")


@command("export")
@click.argument("session_code")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json", "html", "docx", "md", "codebook", "votes"]),
              required=True, help="html, docx, md: the synthesis report; csv, xlsx, json: answers (internal); "
                                  "codebook: themes as CSV; votes: a design session's votes as CSV (internal).")
@click.option("--language", default=None, help="One of the session's languages (default: its main language).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True, help="File to write.")
@with_appcontext
def export_command(session_code: str, fmt: str, language: str | None, output: str) -> None:
    """Write a session's synthesis report or data export to a file, and log the export."""
    from .queries import session_by_code
    from analysis.review.reporting import export

    db = open_db()
    migrate(db)
    found = session_by_code(db, session_code)
    if found is None:
        raise click.ClickException(f"There is no session with the code {session_code}.")
    language = language or found["default_language"]
    if language not in found["languages"]:
        raise click.ClickException(f"{language} is not one of this session's languages ({', '.join(found['languages'])}).")
    with private_file(output) as file:
        name = export(db, found["id"], file, fmt=fmt, language=language)
    kind = "report" if fmt in ("html", "docx", "md") else "export (internal: not for publication)"
    click.echo(f"Wrote {fmt} {kind} of {found['code']} to {output} (suggested name {name}).")



@command("import")
@click.argument("session_code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet", default=None, help="The workbook sheet to read (default: the one holding the answers).")
@click.option("--mapping", default=None,
              help='Corrections to the proposed mapping, as JSON or a JSON file: {"column": "question:2"}; targets are '
                   'question:N, question:N:C (choice C of multiple-choice question N), ignore, consent_take_part, '
                   'consent_quote, consent_contact, language, source, time, row_id, contact_name, contact_phone, '
                   'contact_email.')
@click.option("--statement", default="", help="The consent statement that covers the whole file (when no column records consent).")
@click.option("--consent-version", "version", default="", help="That statement's version or date, e.g. 2026-03.")
@click.option("--quote-ok", is_flag=True, help="The statement also allowed quoting (when no column records it).")
@click.option("--contact-ok", is_flag=True, help="The statement also allowed contacting (when no column records it).")
@click.option("--source", default="import", show_default=True, help="Where the answers came from, unless a column says.")
@click.option("--language", default=None, help="The answers' language, unless a column says (default: decided per row).")
@click.option("--user", "email", default=None, help="The staff account recorded as importing (default: none).")
@click.option("--dry-run", is_flag=True, help="Show how the file would be read and what would be stored; store nothing.")
@with_appcontext
def import_command(session_code: str, file: str, sheet: str | None, mapping: str | None, statement: str, version: str,
                   quote_ok: bool, contact_ok: bool, source: str, language: str | None, email: str | None,
                   dry_run: bool) -> None:
    """Import a CSV or spreadsheet exported by another survey tool into a session, as the import page does."""
    from facilitation import import_cli

    db = open_db()
    migrate(db)
    import_cli.run(db, session_code, file, sheet=sheet, mapping=mapping, statement=statement, version=version,
                   quote_ok=quote_ok, contact_ok=contact_ok, source=source, language=language, email=email,
                   dry_run=dry_run, echo=click.echo, fail=click.ClickException,
                   max_length=current_app.config["MAX_ANSWER_LENGTH"])


# Commands of the analysis engine, which needs no app: run by `main` without building the group (no Flask).
_ANALYSIS = ("themes", "opinions")


def _analysis_command(name: str) -> click.Command:
    """Return `chorus themes` or `chorus opinions` from the analysis engine."""
    if name == "themes":
        from analysis.cli import themes_command  # noqa: PLC0415 - imported by the command that runs

        return themes_command
    from analysis.opinions_cli import opinions_command  # noqa: PLC0415

    return opinions_command


@functools.cache
def _group() -> click.Group:
    """Build the `chorus` command group (Flask's, so the app-context commands find the app)."""
    from flask.cli import FlaskGroup  # noqa: PLC0415 - see the imports above

    class ChorusGroup(FlaskGroup):
        """Flask's command group, except that listing the commands does not build the app.

        Flask builds the app to list the commands it registers itself; Chorus's app registers none
        (a test checks), and building it made `chorus --help` take over a second. A command that is
        not Chorus's or a plugin's is still looked up in the app, as Flask does.
        """

        def list_commands(self, ctx: click.Context) -> list[str]:
            """Return Chorus's commands and those of installed Flask plugins (Flask-Limiter's `limiter`)."""
            load_plugins = getattr(self, "_load_plugin_commands", None)
            if load_plugins is not None:
                load_plugins()
            return sorted(click.Group.list_commands(self, ctx))

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            """Return Chorus's own command without loading the plugins' (Flask-Limiter imports rich and limits: 0.1 s).

            Any other name is looked up as Flask does: plugins first, then the app.
            """
            own = click.Group.get_command(self, ctx, name)
            return own if own is not None else super().get_command(ctx, name)

    @click.group("cli", cls=ChorusGroup, create_app=create_cli_app, add_default_commands=False, add_version_option=False,
                 load_dotenv=False)
    def group() -> None:
        """Chorus: community listening sessions with consent, in every language."""

    for made in _COMMANDS:
        group.add_command(made)
    for name in _ANALYSIS:
        group.add_command(_analysis_command(name), name)
    return group


def __getattr__(name: str) -> object:
    """``listening.cli.cli``: the `chorus` group, built on first use."""
    if name == "cli":
        return _group()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the `chorus` command; a bug prints where it happened, never the data it met."""
    from .logsafe import safe_traceback

    try:
        if sys.argv[1:2] and sys.argv[1] in _ANALYSIS:  # no Flask, no app: the command on its own
            _analysis_command(sys.argv[1]).main(args=sys.argv[2:], prog_name=f"chorus {sys.argv[1]}")
        else:
            _group().main(prog_name="chorus")
    except Exception as error:  # noqa: BLE001 - the last line of defence for terminal and cron logs
        click.echo(f"Error: Chorus stopped on an unexpected {type(error).__name__}.\n{safe_traceback(error)}", err=True)
        sys.exit(1)
