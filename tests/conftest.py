"""Shared fixtures: a fresh app and database per test, clients signed in as each role, form helpers."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
import werkzeug.routing.rules
from bs4 import BeautifulSoup

from listening import accounts, jobs
from listening.accounts import create_user, user_by_email
from listening.app import create_app
from listening.db import connect
from listening.migrations import migrate
from listening.settings import from_environment

PASSWORD = "correct horse battery"
# Staff accounts made in tests hash with scrypt at n = 2**10 instead of werkzeug's 2**15 (see
# `cheap_password_hashing`): the same algorithm, format and check, a hundredth of the work.
TEST_SCRYPT = "scrypt:1024:8:1"
_real_generate_password_hash = accounts.generate_password_hash


_instance_folder: dict[str, str] = {}


def pytest_configure(config):
    """Register this suite's markers (warnings are errors, so an unknown marker would fail), and give apps a private instance folder.

    An app built without an instance path uses the checkout's `instance/`, where the README's first
    command (`chorus demo`) leaves its generated secret key and database: tests that read it saw a
    demo's key instead of the default one and failed after the README's second command. Every app
    in this run gets a temporary instance folder instead (removed at the end).
    """
    import flask

    config.addinivalue_line(
        "markers", "production_password_cost: hash staff passwords at the production cost in this test")
    _instance_folder["path"] = tempfile.mkdtemp(prefix="chorus-instance-")
    _instance_folder["find"] = flask.Flask.auto_find_instance_path
    flask.Flask.auto_find_instance_path = lambda self: _instance_folder["path"]


def _cheap_generate_password_hash(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
    """Hash as `listening.accounts` asks, with scrypt's cost lowered to TEST_SCRYPT."""
    return _real_generate_password_hash(password, method=TEST_SCRYPT if method == "scrypt" else method,
                                        salt_length=salt_length)


@pytest.fixture(autouse=True)
def cheap_password_hashing(request, monkeypatch):
    """Hash staff passwords cheaply in every test except those marked `production_password_cost`.

    At the production cost each account a fixture makes and each sign-in took a sixth of a second
    of CPU (much more on shared cores), most of many a staff-page test. Checking is unchanged:
    `check_password_hash` reads the cost from the stored hash. The unknown-email sign-in still
    checks against the module's production-cost dummy hash.
    """
    if request.node.get_closest_marker("production_password_cost") is None:
        monkeypatch.setattr(accounts, "generate_password_hash", _cheap_generate_password_hash)


def migrated_app(database, **config):
    """Build a test app on `database`, with its schema migrated; `config` overrides the test defaults.

    A database that does not exist yet starts as a copy of the run's migrated template (see
    `copy_migrated_template`); `migrate` then finds nothing pending, as on any migrated database.
    """
    settings = {"TESTING": True, "DATABASE": database, "SECRET_KEY": "test-secret", **config}
    copy_migrated_template(settings)
    app = create_app(settings)
    share_compiled_templates(app)
    db = connect(app.config["DATABASE"])
    migrate(db)
    db.conn.close()
    return app


_template: dict[str, Path] = {}


def migrated_template() -> dict[str, Path]:
    """Return the run's template: a database with every migration applied and its empty job queue, built once.

    Migrating takes ~35 transactions, each waiting for the disk, and Huey's queue file a few
    more: about half a second per test on shared cores. The template is made by the same
    `create_app` and `migrate` as before, then closed (so the write-ahead log is folded in)
    and only ever read. `tests/test_migrations.py` and the upgrade tests still migrate from scratch.
    """
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="chorus-template-"))
        app = create_app({"TESTING": True, "DATABASE": folder / "template.db", "SECRET_KEY": "test-secret"})
        db = connect(app.config["DATABASE"])
        migrate(db)
        db.conn.close()
        jobs.huey_of(app).storage.close()
        _template.update(folder=folder, database=folder / "template.db", queue=Path(jobs.queue_file(app.config)))
    return _template


def copy_migrated_template(settings: dict) -> None:
    """Put a copy of the migrated template (and its queue, where the app would make one) at settings' database.

    Only a database that does not exist yet, in a folder that does, is copied: a test that opens
    a second app on the same file, or lets the app make the folder, gets exactly what it asked for.
    """
    if str(settings["DATABASE"]) in ("", ":memory:") or str(settings["DATABASE"]).startswith("file:"):
        return
    path = Path(settings["DATABASE"])
    if path.exists() or not path.parent.is_dir() or any(path.parent.glob(path.name + "-*")):
        return
    effective = {**from_environment(), **settings}
    template = migrated_template()
    copies = [(template["database"], path)]
    if not (effective.get("JOBS_IMMEDIATE") or effective.get("REDIS_URL") or effective.get("JOBS_FILE")):
        copies.append((template["queue"], Path(jobs.queue_file(effective))))
    for source, target in copies:
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)


_build_url = getattr(werkzeug.routing.rules.Rule, "_compile_builder", None)
_url_builders: dict[tuple, object] = {}


def _shared_url_builder(rule, append_unknown: bool = True):
    """Return werkzeug's URL builder for a rule, made once per rule shape in the run rather than once per app.

    Werkzeug writes and compiles a small Python function for each of the app's ~270 routes (two
    each) when the app is made: a tenth of a second of every test. The function depends only on
    the rule's parts, its defaults and converters, and takes the rule itself as an argument.
    """
    defaults = rule.defaults or {}
    shape = (append_unknown, rule.rule, tuple(rule._trace),
             tuple((name, type(rule._converters.get(name)).__name__, repr(value)) for name, value in sorted(defaults.items())),
             tuple((name, type(converter).__name__) for name, converter in sorted(rule._converters.items())))
    if shape not in _url_builders:
        _url_builders[shape] = _build_url(rule, append_unknown)
    return _url_builders[shape]


if _build_url is not None:  # werkzeug 2.2 and later compile a builder per rule
    werkzeug.routing.rules.Rule._compile_builder = _shared_url_builder


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once in the run, in memory, for every test app whose Jinja is set up alike.

    Each app has its own Jinja environment, so each test compiled every page it rendered again.
    Jinja's bytecode cache checks each template's source before using its compiled form.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket with the template compiled earlier in the run, if any."""
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep a template just compiled."""
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_compiled_templates: dict[tuple, CompiledTemplates] = {}


def share_compiled_templates(app) -> None:
    """Give the app the run's compiled templates for a Jinja set up like its own (extensions and options)."""
    env = app.jinja_env
    alike = (tuple(sorted(env.extensions)), env.trim_blocks, env.lstrip_blocks, env.keep_trailing_newline,
             env.optimized, getattr(env, "newstyle_gettext", None), env.finalize, env.block_start_string,
             env.variable_start_string, env.comment_start_string, env.line_statement_prefix)
    env.bytecode_cache = _compiled_templates.setdefault(alike, CompiledTemplates())


def pytest_unconfigure(config):
    """Remove the migrated template and the run's instance folder at the end of the run."""
    if _template:
        shutil.rmtree(_template["folder"], ignore_errors=True)
    if _instance_folder:
        import flask

        flask.Flask.auto_find_instance_path = _instance_folder.pop("find")
        shutil.rmtree(_instance_folder.pop("path"), ignore_errors=True)


@pytest.fixture
def app(tmp_path):
    """An app on its own temporary database, migrated."""
    return migrated_app(tmp_path / "t.db")


@pytest.fixture
def db(app):
    """A connection to the test app's database."""
    conn = connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def client(app):
    """A browser with no cookies yet."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the `chorus` command against the test app."""
    return app.test_cli_runner()


def page(response) -> BeautifulSoup:
    """Parse a response's HTML."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text_of(response) -> str:
    """Return a page's visible text with whitespace collapsed."""
    soup = page(response)
    for tag in soup(["script", "style"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ")).strip()


def form_data(response, form_index: int = -1) -> dict:
    """Return the hidden fields (CSRF token, one-time key...) of a form on the page."""
    forms = page(response).find_all("form", method=re.compile("post", re.I))
    form = forms[form_index]
    return {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}


def submit(client, url: str, fields: dict | None = None, *, get_url: str | None = None, form_index: int = -1, **kwargs):
    """Load a page, fill its form's hidden fields, add `fields` and post it."""
    shown = client.get(get_url or url, **kwargs)
    data = form_data(shown, form_index)
    data.update(fields or {})
    return client.post(url, data=data, **kwargs)


def download(client, session_id: int, fmt: str, language: str = "en"):
    """Download a report or export the way the page does: a POST with the form's token."""
    url = f"/staff/review/{session_id}/export"
    return submit(client, url, {"format": fmt, "language": language}, form_index=0)


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign a staff member in through the login form."""
    return submit(client, "/staff/login", {"email": email, "password": password})


@pytest.fixture
def make_user(db):
    """Create staff accounts: make_user('planner') returns the new account's email."""

    def make(role: str, email: str | None = None) -> str:
        """Create an account with the shared test password (once: asking again returns the same one)."""
        email = email or f"{role}@example.org"
        if user_by_email(db, email) is None:
            create_user(db, email, PASSWORD, role)
        return email

    return make


@pytest.fixture
def as_facilitator(client, make_user):
    """A client signed in as a facilitator."""
    sign_in(client, make_user("facilitator"))
    return client


@pytest.fixture
def as_planner(client, make_user):
    """A client signed in as a planner."""
    sign_in(client, make_user("planner"))
    return client


@pytest.fixture
def as_admin(client, make_user):
    """A client signed in as an admin."""
    sign_in(client, make_user("admin"))
    return client
