"""Chorus's defences at the edge: security headers and CSP, cookie flags, trusted proxies,
rate limits, and the refusal to serve with a default or missing secret key.

Rate limits (Flask-Limiter, in memory unless CHORUS_RATELIMIT_STORAGE names shared storage)
count two things for each resident action: the *device* (the address plus the random CSRF
secret its cookie holds) with a tight limit, and the *address* alone with a generous one. A
church hall of 200 phones behind one NAT address shares the address limit, so that limit is
sized for a full room; one phone (or one script) hammering the server meets its device limit
first. A phone with no cookie yet (its first scan of the QR code) has no device to count, so only
the address limit applies to it. Every route that takes a session code (the start page's form, /j/<code>, /s/<code>/...,
state.json, results) shares one more limit, per address, that counts only misses: a code that
is unknown, or one this browser may not learn exists (a draft or closed session answers as an
unknown one). Each code counts once per address in an hour, however often it is missed, so a
hall scanning a session's code before it opens does not lock itself out; guessing means new codes. A browser whose signed cookie shows it took part in that session is not guessing,
so its requests for that code are never counted or refused by it.

Counters live in a small SQLite file beside the database by default (`listening.limits_sqlite`),
so all gunicorn workers on the machine share them and every limit counts once per server;
CHORUS_RATELIMIT_STORAGE can name Redis (or `memory://`, which counts per worker) instead.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
import sqlite3
from pathlib import Path

from flask import Flask, current_app, g, request, session
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from . import limits_sqlite
from .db import DatabaseUnavailable
from .queries import normalize_code

DEFAULT_SECRET_KEY = "dev-only-change-me"
MIN_SECRET_KEY_LENGTH = 32
INSTANCE_KEY_FILE = "secret_key"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "connect-src 'self'",
])

# Each entry: endpoint -> (HTTP methods counted, per-device limit, per-address limit).
# Sized for people, not scripts: a resident answers a question every few seconds at most; a
# room of 200 phones behind one address answers ~200 questions a minute in a live session.
RATE_LIMITS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "listening.join": (("GET",), "60/minute", "1200/minute"),
    "listening.consent": (("POST",), "20/minute", "600/minute"),
    "listening.answer": (("POST",), "60/minute", "2400/minute"),
    # A vote is one tap, so votes get the answers' limits; a resident's own statement waits for the team's
    # review, so one phone may not fill that queue.
    "listening.vote": (("POST",), "60/minute", "2400/minute"),
    "listening.propose": (("POST",), "10/minute", "600/minute"),
    "listening.withdraw": (("POST",), "10/minute;50/hour", "120/minute"),
    "facilitation.login": (("POST",), "10/minute", "60/minute"),
}
# Session codes that miss (unknown, or not to be revealed), per address, across every route that
# takes a code: slows guessing without touching rooms that type real codes.
UNKNOWN_CODE_LIMIT = "30/minute;300/hour"
# A missed code counts once per address in this many seconds: thirty phones in a hall scanning a
# session's code before it opens (all behind one address) are one miss, not thirty, while a guesser
# must spend a new miss on every code tried.
MISS_MEMORY_SECONDS = 3600
# Besides the routes whose URL has a <code>, the start page takes one in its form.
CODE_FORM_ENDPOINTS = ("listening.index",)
RATELIMIT_FILE_SUFFIX = "-ratelimits.db"


class InsecureConfiguration(RuntimeError):
    """Chorus was asked to serve real people with a configuration that is not safe."""


def init_app(app: Flask) -> None:
    """Install every edge defence on `app`: proxies, key, cookies, headers, rate limits."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        # Trust X-Forwarded-For/Proto/Host from exactly this many proxies in front of us.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    load_instance_secret_key(app)
    if str(app.config.get("BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.after_request(add_security_headers)
    init_rate_limits(app)


def secret_key_problem(key: str | None) -> str | None:
    """Say what is wrong with a secret key for production use, or None if it is fine."""
    if not key:
        return "no secret key is set"
    if key == DEFAULT_SECRET_KEY:
        return "the secret key is the built-in default"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"the secret key is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def refuse_weak_secret_key(app: Flask) -> None:
    """Raise InsecureConfiguration unless the app has a strong secret key (debug and tests excepted)."""
    if app.debug or app.testing:
        return
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem:
        raise InsecureConfiguration(
            f"Chorus will not serve: {problem}. Set CHORUS_SECRET_KEY to a long random value, e.g.\n"
            "  export CHORUS_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def instance_key_path(app: Flask) -> Path:
    """Return where `chorus demo` keeps the random key it generated for this machine."""
    return Path(app.instance_path) / INSTANCE_KEY_FILE


def load_instance_secret_key(app: Flask) -> None:
    """Use the instance folder's generated key when no key was configured."""
    if app.config.get("SECRET_KEY") not in (None, "", DEFAULT_SECRET_KEY):
        return
    path = instance_key_path(app)
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            app.config["SECRET_KEY"] = key


def ensure_instance_secret_key(app: Flask) -> None:
    """Generate, store (owner-only) and use a random key if none is configured; for `chorus demo`."""
    if secret_key_problem(app.config.get("SECRET_KEY")) is None:
        return
    path = instance_key_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    app.config["SECRET_KEY"] = key


# Headers every response carries unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def add_security_headers(response):
    """Add CSP and the other protective headers to every response."""
    headers = response.headers
    present = {key.lower() for key in headers.keys()}  # one pass, not one scan of the headers per setdefault
    wanted = list(SECURITY_HEADERS)
    if request.is_secure:
        wanted.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    if not request.path.startswith("/static/"):
        # Pages carry answers and staff data: never keep them in shared or back-button caches.
        wanted.append(("Cache-Control", "no-store"))
    for key, value in wanted:
        if key.lower() not in present:
            headers.add(key, value)
    return response


def address_key() -> str:
    """Identify the client's address (after trusted proxies); an IPv6 address counts as its /64 network.

    One home, phone or hall network gets a whole /64 and may use any address in it, so counting
    single IPv6 addresses would give a guesser endless fresh ones; a /64 is the IPv6 equivalent
    of one NAT address, which the per-address limits are sized for.
    """
    address = request.remote_addr or "unknown"
    if ":" not in address:
        return address
    try:
        return str(ipaddress.IPv6Network(f"{address.split('%')[0]}/64", strict=False))
    except ValueError:
        return address


def device_key() -> str:
    """Identify one browser: its address plus a hash of the random CSRF secret in its cookie."""
    secret = session.get("csrf") or ""
    tag = hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else "fresh"
    return f"{address_key()}|{tag}"


def fresh_device() -> bool:
    """Tell whether this browser has no cookie yet: every such phone behind one address would share one
    device counter (a hall scanning the QR code at once), so only the address limit applies to it. A
    form post cannot come from a fresh browser (it needs the cookie's CSRF secret)."""
    return not session.get("csrf")


def init_rate_limits(app: Flask) -> None:
    """Wrap the resident and sign-in endpoints with their per-device and per-address limits."""
    if app.config.get("RATELIMIT_ENABLED") is None:
        app.config["RATELIMIT_ENABLED"] = not app.testing  # tests turn limits on where they test them
    storage = app.config.get("RATELIMIT_STORAGE") or default_storage_uri(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage)
    if storage.startswith(f"{limits_sqlite.SCHEME}:"):
        # Counter keys name addresses: the file keeps only their hash, keyed with our secret.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"secret": limits_sqlite.Secret(app.config.get("SECRET_KEY") or "")})
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "chorus")
    limits = {**RATE_LIMITS, **app.config.get("RATE_LIMITS", {})}
    try:
        limiter = Limiter(address_key, app=app)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"Cannot create the rate-limit counters at {storage} ({exc}). "
                                  "Check the database folder's permissions, or set CHORUS_RATELIMIT_STORAGE.") from None
    app.extensions["chorus_limiter"] = limiter  # Flask-Limiter only keeps weak references
    if not app.config["RATELIMIT_ENABLED"]:
        # Limits switched off count nothing, but each wrapper would still look its limits up on every
        # request (three per resident form post): leave the views as they are.
        return
    for endpoint, (methods, per_device, per_address) in limits.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        view = limiter.limit(per_address, key_func=address_key, methods=list(methods),
                             scope=f"{endpoint}:address")(view)
        view = limiter.limit(per_device, key_func=device_key, methods=list(methods),
                             scope=f"{endpoint}:device", exempt_when=fresh_device)(view)
        app.view_functions[endpoint] = view
    # One counter per address across every route that takes a code; only misses (404) count.
    unknown_code = limiter.shared_limit(
        app.config.get("UNKNOWN_CODE_LIMIT", UNKNOWN_CODE_LIMIT), scope="unknown-code", key_func=address_key,
        deduct_when=counts_as_a_guess, exempt_when=took_part_in_code,
    )
    for endpoint in code_endpoints(app):
        app.view_functions[endpoint] = unknown_code(app.view_functions[endpoint])


def code_endpoints(app: Flask) -> list[str]:
    """Return every endpoint that takes a session code: a <code> in its URL, or the start page's form."""
    found = {rule.endpoint for rule in app.url_map.iter_rules() if "code" in rule.arguments}
    found |= {endpoint for endpoint in CODE_FORM_ENDPOINTS if endpoint in app.view_functions}
    return sorted(found)


def counts_as_a_guess(response) -> bool:
    """Tell whether a response spends the address's guessing limit: a miss (404) on a code this address
    has not missed in the last hour. Decided once per request, for every window of the limit."""
    if "chorus_guess" not in g:
        g.chorus_guess = response.status_code == 404 and first_miss_of_code()
    return g.chorus_guess


def first_miss_of_code() -> bool:
    """Remember (in the shared counters, hashed) that this address missed this code; True the first time in an hour."""
    code = (request.view_args or {}).get("code") or request.args.get("code") or ""
    key = f"chorus/missed-code/{address_key()}|{normalize_code(str(code))[:32]}"
    return limiter_of().storage.incr(key, MISS_MEMORY_SECONDS) == 1


def took_part_in_code() -> bool:
    """Tell whether this browser's signed cookie shows it took part in the session its URL names."""
    code = (request.view_args or {}).get("code")
    return bool(code) and normalize_code(code) in (session.get("p") or {})


def default_storage_uri(app: Flask) -> str:
    """Return where counters live by default: an SQLite file beside the database, shared by all workers."""
    database = str(app.config["DATABASE"])
    if database in ("", ":memory:") or database.startswith("file:"):
        return "memory://"
    path = Path(database)
    return limits_sqlite.uri_for(path.with_name(path.stem + RATELIMIT_FILE_SUFFIX))


def limiter_of(app: Flask | None = None) -> Limiter:
    """Return the app's rate limiter."""
    return (app or current_app).extensions["chorus_limiter"]
