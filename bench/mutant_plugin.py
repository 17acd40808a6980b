"""A pytest plugin bench/mutants.py loads into every mutant's test run (and its baseline): speed, not strength.

Killers first: a mutant is usually killed by a test that killed one of its neighbours, so each run
notes the test that failed (CHORUS_MUTANT_KILLERS names the file) and the next runs start with the
tests that killed most. Only the order changes: with -x a killed mutant stops sooner, and a survivor
still passes every test of its target.

Staff fixtures hash a password with scrypt for every account they make and check it at every sign-in;
at werkzeug's default cost (n = 2**15) that is a sixth of a second each, most of a route-table test.
Here scrypt runs at n = 2**10: the hash still starts with "scrypt:", still refuses a wrong password,
and no target mutates werkzeug, so every test asks exactly what it asked before, only sooner.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import werkzeug.security

_generate = werkzeug.security.generate_password_hash


def cheap_scrypt(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
    """Hash as werkzeug does, with scrypt's cost lowered for the mutation run only."""
    if method == "scrypt":
        method = "scrypt:1024:8:1"
    return _generate(password, method=method, salt_length=salt_length)


werkzeug.security.generate_password_hash = cheap_scrypt


def _killers() -> Path | None:
    """The file where this run's failing tests are noted, if the harness named one."""
    name = os.environ.get("CHORUS_MUTANT_KILLERS")
    return Path(name) if name else None


def pytest_collection_modifyitems(session, config, items) -> None:
    """Put the tests that killed earlier mutants first, those that killed most at the front (a stable sort)."""
    path = _killers()
    if path is None or not path.exists():
        return
    kills = Counter(path.read_text(encoding="utf-8").split("\n"))
    items.sort(key=lambda item: -kills.get(item.nodeid, 0))


def pytest_runtest_logreport(report) -> None:
    """Note a failing test, so the next mutant's run tries it first."""
    path = _killers()
    if path is not None and report.failed:
        with path.open("a", encoding="utf-8") as out:
            out.write(report.nodeid + "\n")
