"""What phones poll while a session runs live: the state query, its screen key, the
/s/<code>/state.json cache in front of the app, and how staff tell it to forget a session.

The route itself is on the residents' blueprint (`listening.views.live_state`). `StateResponses`,
installed in front of the app when that blueprint is registered, serves it from a short
per-worker cache without entering Flask or the database, and answers `If-None-Match` with 304.
The facilitator console changes the state in the database and calls `forget_state`; nothing
here knows about the console.
"""
from __future__ import annotations

import time

import sqlite_utils
from flask import current_app

from .db import one
from .queries import normalize_code

# How long a worker reuses a session's state before reading it again. Phones poll every
# ~2 s with jitter, so a change reaches every phone within about 2.5 s.
STATE_TTL_SECONDS = 0.5
STATE_SUFFIX = "/state.json"


# --- the state phones and projectors follow ----------------------------------------------


def live_state(db: sqlite_utils.Database, code: str) -> dict | None:
    """Return the small state a phone follows, from one indexed read, or None for an unknown code."""
    found = one(
        db,
        """SELECT s.id, s.code, s.mode, s.status, s.current_prompt_id, s.answering_open, s.paused,
                  s.equity_pause, s.timer_ends_at, s.state_version,
                  (SELECT count(*) FROM prompts p, prompts c WHERE c.id = s.current_prompt_id
                     AND p.session_id = s.id
                     AND (p.position < c.position OR (p.position = c.position AND p.id <= c.id))) AS number
           FROM sessions s WHERE s.code = ?""",
        (normalize_code(code),),
    )
    if found is None:
        return None
    showing = found["current_prompt_id"] is not None and found["number"] > 0
    state = {
        "v": found["state_version"],
        "status": found["status"],
        "prompt": found["number"] if showing else None,
        "open": bool(found["answering_open"] and showing and found["status"] == "open" and not found["paused"]),
        "paused": bool(found["paused"]),
        "pause": bool(found["equity_pause"]),
        "timer": found["timer_ends_at"],
    }
    state["screen"] = screen_key(state)
    return state


def screen_key(state: dict) -> str:
    """Name what a phone should be showing; when it changes, the phone moves on."""
    prompt = state["prompt"] if state["open"] else "-"
    return f"{state['status']}:{prompt}:{int(state['paused'])}"


def session_screen_key(found: dict, number: int | None) -> str:
    """Compute the same key from a session row and its current prompt's number (None if none)."""
    is_open = bool(found["answering_open"] and number and found["status"] == "open" and not found.get("paused"))
    return screen_key({"status": found["status"], "prompt": number, "open": is_open,
                       "paused": bool(found.get("paused"))})


# --- the per-worker cache in front of the app ----------------------------------------------


class StateResponses:
    """WSGI middleware that serves /s/<code>/state.json from a per-worker cache of the whole response.

    Thousands of phones poll this one URL, so a fresh cached response (headers included, as
    Flask and every after-request hook made them) is sent without entering Flask or opening
    the database; `If-None-Match` gets a 304. A miss goes through Flask once and is kept for
    STATE_TTL_SECONDS. Only 200 responses that are not marked private are kept, and never their cookies.
    """

    def __init__(self, wsgi_app, ttl: float = STATE_TTL_SECONDS):
        """Wrap an app's WSGI callable."""
        self.wsgi_app = wsgi_app
        self.ttl = ttl
        self.cache: dict[str, tuple[float, str, list, list, bytes]] = {}

    def __call__(self, environ, start_response):
        """Answer state polls from the cache when it is fresh; pass everything else through."""
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not path.startswith("/s/") or not path.endswith(STATE_SUFFIX):
            return self.wsgi_app(environ, start_response)
        code = path[3:-len(STATE_SUFFIX)]
        hit = self.cache.get(code)
        if hit is None or hit[0] <= time.monotonic():
            status, headers, body = self.fill(environ)
            cache_control = next((v for k, v in headers if k.lower() == "cache-control"), "")
            if not status.startswith("200 ") or "private" in cache_control:
                start_response(status, headers)
                return [body]
            etag = next((v for k, v in headers if k.lower() == "etag"), "")
            kept = [(k, v) for k, v in headers if k.lower() != "set-cookie"]
            bare = [(k, v) for k, v in kept if k.lower() not in ("content-type", "content-length")]
            hit = (time.monotonic() + self.ttl, etag, kept, bare, body)
            if len(self.cache) > 10_000:
                self.cache.clear()
            self.cache[code] = hit
        _expires, etag, headers, bare, body = hit
        if etag and etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            start_response("304 NOT MODIFIED", list(bare))
            return []
        start_response("200 OK", list(headers))
        return [body]

    def fill(self, environ) -> tuple[str, list, bytes]:
        """Run the request through Flask without its conditional header and collect the whole response."""
        inner = dict(environ)
        inner.pop("HTTP_IF_NONE_MATCH", None)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            """Remember the status and headers instead of sending them."""
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.wsgi_app(inner, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured["status"], captured["headers"], body

    def forget(self, code: str) -> None:
        """Drop one session's cached state so this worker's next poll sees a change at once."""
        self.cache.pop(code, None)


def install_state_responses(state) -> None:
    """Put the state cache in front of the app when the blueprint is registered."""
    middleware = StateResponses(state.app.wsgi_app)
    state.app.wsgi_app = middleware
    state.app.extensions["chorus_state_responses"] = middleware


def state_responses(app=None) -> StateResponses:
    """Return the app's state cache."""
    return (app or current_app).extensions["chorus_state_responses"]


def forget_state(code: str) -> None:
    """Drop a session's cached state in this worker after a facilitator changes it."""
    state_responses().forget(code)
