"""The signed cookie session, with each distinct cookie verified once per worker.

Flask's cookie session checks a cookie's signature on every request: it builds a new signing
serializer, derives the signing key with HMAC, checks the signature with HMAC, then decodes
base64, inflates and parses the JSON. A phone sends the same cookie with every answer and vote
(it changes only when the session changes), so this was a fifth of an answer's CPU.

`VerifiedCookieSessions` keeps, per worker, the serializer (rebuilt whenever the keys change)
and the contents of the last few thousand cookies that passed the full check, keyed by the
exact cookie text and the signing keys. A cookie seen before is trusted only if it is byte for
byte the one that was verified, under the same keys, and still within the session lifetime
(checked against the time it was signed, as the full check does); anything else goes through
Flask's own full check. So a forged, altered, expired or re-keyed cookie is refused exactly as
before. A session a request did not change is not written back (Flask's own rule, checked first).
Each request gets its own copy of the contents, never the cached one (`copied`: dicts and
lists copied level by level, the rest, immutable, shared; anything else through `copy.deepcopy`).
"""
from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Cookies remembered per worker; when full the memory starts again (a miss only costs a full check).
VERIFIED_COOKIES = 4096


# What a cookie's JSON can hold (Flask's tagged JSON included) that cannot change, so a copy may share it.
_IMMUTABLE = (str, bytes, int, float, bool, type(None), datetime, UUID)


def copied(value: Any) -> Any:
    """Return a deep copy of a cookie's contents, as copy.deepcopy would, in a fraction of its time."""
    kind = type(value)
    if kind is dict:
        return {key: copied(item) for key, item in value.items()}
    if kind is list:
        return [copied(item) for item in value]
    if kind is tuple:
        return tuple(copied(item) for item in value)
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value)


class VerifiedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, remembering which exact cookies already passed its check."""

    def __init__(self, size: int = VERIFIED_COOKIES):
        """Start with no serializer and no verified cookie."""
        self.size = size
        self._serializer: tuple[tuple, URLSafeTimedSerializer | None] | None = None
        self._verified: dict[str, tuple[int, Any]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Return the signing serializer for the app's current keys, built once per set of keys."""
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = (keys, super().get_signing_serializer(app))
            self._verified = {}  # what the old keys verified proves nothing under the new ones
            self._serializer = cached
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Return the request's session: a verified cookie's contents (copied), or an empty session."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        verified = self._verified
        seen = verified.get(value)
        if seen is not None and 0 <= int(time.time()) - seen[0] <= max_age:  # the full check's own rule
            return self.session_class(copied(seen[1]))
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(verified) >= self.size:
            verified.clear()
        verified[value] = (int(signed_at.timestamp()), data)
        return self.session_class(copied(data))

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        """Set the cookie only when Flask would: a session left as it came (most answers and votes) only adds Vary: Cookie.

        This is Flask's own rule (`should_set_cookie`, and an empty session that was not changed
        sets nothing), checked before Flask reads the seven cookie settings it would not use.
        """
        if not session.modified and not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
