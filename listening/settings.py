"""Every configuration setting Chorus reads: its default, its environment variable, its meaning.

The README documents each one; a test fails if a setting here is missing from it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    """One configuration setting and where it comes from."""

    name: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str


def _bool(value: str) -> bool:
    """Read a yes/no environment value."""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _languages(value: str) -> list[str]:
    """Read a comma-separated list of language codes."""
    return [part.strip() for part in value.split(",") if part.strip()]


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", "CHORUS_SECRET_KEY", "dev-only-change-me", str,
            "Signs cookies and form tokens. Set a long random value in production."),
    Setting("DATABASE", "CHORUS_DATABASE", None, str,
            "Path of the SQLite database. Default: chorus.db in the instance folder."),
    Setting("LANGUAGES", "CHORUS_LANGUAGES", None, _languages,
            "Languages the app offers, comma-separated. Default: every language with a catalog."),
    Setting("DEFAULT_LANGUAGE", "CHORUS_DEFAULT_LANGUAGE", "en", str,
            "Language used when nothing else decides."),
    Setting("TIMEZONE", "CHORUS_TIMEZONE", "America/New_York", str,
            "Default time zone for new sessions (an IANA name)."),
    Setting("BASE_URL", "CHORUS_BASE_URL", "", str,
            "Public address used in join links and QR codes, e.g. https://chorus.example.org. "
            "Default: the address the request came in on."),
    Setting("MAX_ANSWER_LENGTH", "CHORUS_MAX_ANSWER_LENGTH", 2000, int,
            "Longest open answer a resident may send, in characters."),
    Setting("SQLITE_SYNCHRONOUS", "CHORUS_SQLITE_SYNCHRONOUS", "FULL", str,
            "SQLite synchronous pragma. FULL keeps every acknowledged answer through a power cut."),
    Setting("BUSY_TIMEOUT_MS", "CHORUS_BUSY_TIMEOUT_MS", 5000, int,
            "How long a request waits for a database lock before giving up, in milliseconds."),
    Setting("SESSION_COOKIE_SECURE", "CHORUS_SECURE_COOKIES", False, _bool,
            "Send cookies only over HTTPS. Turn on behind TLS."),
    Setting("HOST", "CHORUS_HOST", "127.0.0.1", str,
            "Address `chorus serve` and `chorus demo` listen on. Use 0.0.0.0 to reach phones on the LAN."),
    Setting("PORT", "CHORUS_PORT", 5000, int, "Port `chorus serve` and `chorus demo` listen on."),
    Setting("WORKERS", "CHORUS_WORKERS", 2, int, "Gunicorn worker processes for `chorus serve`."),
    Setting("THREADS", "CHORUS_THREADS", 8, int, "Threads per gunicorn worker for `chorus serve`."),
    Setting("MAX_REQUESTS", "CHORUS_MAX_REQUESTS", 20000, int,
            "Gunicorn restarts a worker after this many requests (give or take a tenth, so workers do not restart "
            "together), handing back memory a big page or export left behind. 0: never."),
    Setting("TRUSTED_PROXIES", "CHORUS_TRUSTED_PROXIES", 0, int,
            "How many reverse proxies in front of Chorus to trust for X-Forwarded-For/-Proto/-Host. "
            "0 trusts none; 1 for a single nginx or Caddy."),
    Setting("RATELIMIT_ENABLED", "CHORUS_RATELIMIT_ENABLED", None, _bool,
            "Rate limits on join, answer, withdraw and sign-in. Default: on (off only in tests)."),
    Setting("RATELIMIT_STORAGE", "CHORUS_RATELIMIT_STORAGE", "", str,
            "Where rate-limit counters live, as a Flask-Limiter storage URI. Default: a small SQLite file "
            "beside the database (sqlite:////path/chorus-ratelimits.db), shared by every worker process; "
            "redis://localhost:6379 shares them across machines; memory:// counts per worker process."),
    Setting("RESIDENT_IDLE_MINUTES", "CHORUS_RESIDENT_IDLE_MINUTES", 30, int,
            "Minutes without a page load after which a resident's browser forgets their participation and "
            "receipt (answers stay saved). Live sessions keep phones joined while the session is open."),
    Setting("RESIDENT_FINISHED_MINUTES", "CHORUS_RESIDENT_FINISHED_MINUTES", 10, int,
            "The same, once a resident has reached the thank-you page."),
    Setting("STAFF_SESSION_HOURS", "CHORUS_STAFF_SESSION_HOURS", 12, int,
            "Hours after signing in when a staff member must sign in again."),
    Setting("RETENTION_DAYS", "CHORUS_RETENTION_DAYS", 180, int,
            "Days after a session closes before its raw answer text and contact details are purged, "
            "unless the session sets its own or is on legal hold."),
    Setting("IMPORT_MAX_MB", "CHORUS_IMPORT_MAX_MB", 20, int,
            "Largest CSV or spreadsheet a facilitator may import into a session, in megabytes "
            "(50,000 survey rows are about 10 MB)."),
    Setting("JOBS_FILE", "CHORUS_JOBS_FILE", "", str,
            "Where the background job queue (Huey) keeps its SQLite file. Default: <database>-jobs.db beside the "
            "database. Unused when CHORUS_REDIS_URL is set."),
    Setting("REDIS_URL", "CHORUS_REDIS_URL", "", str,
            "Keep the background job queue in Redis instead (e.g. redis://localhost:6379/0; needs `pip install redis`), "
            "for a deployment whose web servers and `chorus jobs` consumers run on several machines. Default: SQLite."),
    Setting("JOBS_WORKERS", "CHORUS_JOBS_WORKERS", 1, int,
            "Threads the job consumer (`chorus jobs`, started by `chorus serve` and `chorus demo`) runs jobs on. "
            "Each job is a theme run, a live draft or an export; one at a time per session whatever this says."),
    Setting("JOBS_IN_CHILD", "CHORUS_JOBS_IN_CHILD", True, _bool,
            "Run each background job in a child process of the consumer that exits when the job ends, so the "
            "consumer does not keep a big theme run's memory afterwards (a child that dies leaves its job failed). "
            "0 runs jobs in the consumer itself."),
    Setting("JOBS_IMMEDIATE", "CHORUS_JOBS_IMMEDIATE", False, _bool,
            "Run background jobs inside the request that starts them, with no queue or consumer (for tests)."),
    Setting("JOBS_THRESHOLD", "CHORUS_JOBS_THRESHOLD", 5000, int,
            "Sessions with more answers than this run theme runs, live drafts and exports as background jobs with a "
            "progress page; smaller ones run them at once in the request. 0 sends all of them to the queue."),
)


def from_environment(environ: os._Environ | dict[str, str] | None = None) -> dict[str, Any]:
    """Return the settings' defaults overridden by any environment variables that are set."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        config[setting.name] = setting.default if raw in (None, "") else setting.parse(raw)
    return config
