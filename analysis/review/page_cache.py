"""What the synthesis pages computed for a session, kept per app and keyed by the session's data version.

Reading a big session (every answer, its placement, its author's consent and "about you"
answers) and running disclosure control over it takes seconds at 100,000 residents; the result is
small (theme sizes, quotes, tables). Each entry is keyed by the session's data version
(:func:`analysis.review.queries.data_version`), which triggers bump on every write a page could
show: an answer, a withdrawal, a hidden answer, a consent, a planner's edit, a setting, a text.
So a page is recomputed after any such write and never shows what was withdrawn or hidden.
The version is read before the page's data, so an entry can only be newer than its key, never older.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from flask import current_app

from analysis.review import queries as synthesis

T = TypeVar("T")

# Entries each app keeps (a few pages in a few languages for a few sessions; each entry is small).
MAX_ENTRIES = 64
_EXTENSION = "chorus.page_cache"


class PageCache:
    """A small least-recently-used store of computed page data, safe across a worker's threads."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        """Start empty, keeping at most `size` entries."""
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable):
        """Return the entry for `key` (marking it recently used), or None."""
        with self.lock:
            if key not in self.entries:
                return None
            self.entries.move_to_end(key)
            return self.entries[key]

    def put(self, key: Hashable, value) -> None:
        """Keep `value` under `key`, dropping the least recently used entry past the size."""
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


def app_cache() -> PageCache:
    """Return this app's page cache (one per app, so two databases never share entries)."""
    return current_app.extensions.setdefault(_EXTENSION, PageCache())


def _cached(key: tuple, compute: Callable[[], T]) -> T:
    """Return the entry kept under `key`, computing and keeping it first when there is none."""
    cache = app_cache()
    found = cache.get(key)
    if found is None:
        found = (compute(),)  # wrapped, so a computed None is kept too
        cache.put(key, found)
    return found[0]


def cached(db, session_id: int, what: tuple, compute: Callable[[], T]) -> T:
    """Return `compute()` for a session's current data version, computing it only when that version has none yet."""
    return _cached((session_id, synthesis.data_version(db, session_id), *what), compute)


def cached_across(db, session_ids, what: tuple, compute: Callable[[], T]) -> T:
    """Return `compute()` for a page counting several sessions (a campaign's), computing it only when
    their data versions or the campaign tables have changed since it was last computed."""
    ids = tuple(sorted(session_ids))
    return _cached(("across", ids, synthesis.data_versions(db, ids), *what), compute)


def peek_across(db, session_ids, what: tuple):
    """Return what `cached_across` keeps for these sessions now, or None (computing nothing): a big campaign's
    page is counted by a background job instead."""
    ids = tuple(sorted(session_ids))
    found = app_cache().get(("across", ids, synthesis.data_versions(db, ids), *what))
    return None if found is None else found[0]


def keep_across(session_ids, key: tuple, what: tuple, value) -> None:
    """Keep what a background job counted for these sessions at data version `key` (read before it counted)."""
    app_cache().put(("across", tuple(sorted(session_ids)), tuple(key), *what), (value,))
