"""Small secrets kept in a browser's cookie are encrypted, not only signed.

Flask's cookie is signed, so it cannot be forged, but anyone with the browser (a shared phone,
a library computer) can read it. A receipt code lets its holder delete a person's answers, so
Chorus keeps it in the cookie only sealed with Fernet (AES-128-CBC with HMAC-SHA256, from the
well-kept `cryptography` package), under a key derived from the app's secret key with HKDF.
Changing the secret key makes sealed values unreadable, as it already signs everyone out.
"""
from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PURPOSE = b"chorus: values sealed in cookies"


@functools.lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    """Derive the sealing key from the app's secret key."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    """Encrypt and authenticate a short text for the cookie."""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(token: str | None, *, max_age_seconds: int | None = None) -> str:
    """Return a sealed text, or '' if it is missing, forged, from another key, or older than `max_age_seconds`."""
    if not token or not isinstance(token, str):
        return ""
    try:
        return _fernet(current_app.config["SECRET_KEY"]).decrypt(token.encode("ascii"), ttl=max_age_seconds).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        return ""


def seal_bytes(data: bytes) -> bytes:
    """Encrypt and authenticate bytes kept for a short while on the server (an upload waiting for confirmation)."""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(data)


def unseal_bytes(token: bytes, *, max_age_seconds: int | None = None) -> bytes | None:
    """Return sealed bytes, or None if they are forged, from another key, or older than `max_age_seconds`."""
    try:
        return _fernet(current_app.config["SECRET_KEY"]).decrypt(token, ttl=max_age_seconds)
    except (InvalidToken, ValueError):
        return None
