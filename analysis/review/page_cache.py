"""What the synthesis pages computed for a session, kept per app and keyed by the session's data version.

Reading a big session (every answer, its placement, its author's consent and "about you"
answers) and running disclosure control over it takes seconds at 100,000 residents; the result is
small (theme sizes, quotes, tables). Each entry is keyed by the session's data version
(:func:`analysis.review.queries.data_version`), which triggers bump on every write a page could
show: an answer, a withdrawal, a hidden answer, a consent, a planner's edit, a setting, a text.
So a page is recomputed after any such write and never shows what was withdrawn or hidden.
The version is read before the page's data, so an entry can only be newer than its key, never older.

While only new answers have arrived since a page was computed (m034: the data version minus the
session's arrivals has not moved), :func:`cached_refreshing` serves that page at once and computes
it again in a background thread (one at a time per page, at most every ``REFRESH_GAP`` seconds, and
never from a page older than ``MAX_STALE``); the page says when it was counted. Any other write (a
withdrawal, a hidden or changed answer, a revoked consent, a planner's edit) moves the key, and the
page is computed again in the request, so nothing removed is ever served.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable, Hashable, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_time
from flask import current_app, g

from listening.db import connect, one
from listening.i18n import current_language

from analysis.review import queries as synthesis

T = TypeVar("T")

# Entries each app keeps (a few pages in a few languages for a few sessions; each entry is small).
MAX_ENTRIES = 64
_EXTENSION = "chorus.page_cache"
# A page served while newer answers are counted is computed again at most this often (seconds)...
REFRESH_GAP = 10.0
# ...and never served once it is older than this (seconds): then the request computes it.
MAX_STALE = 15 * 60.0
# Only a page that took at least this long to compute (seconds) is served while it is computed again:
# a small session's pages are computed in the request, always current.
SLOW = 0.3


class PageCache:
    """A small least-recently-used store of computed page data, safe across a worker's threads."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        """Start empty, keeping at most `size` entries."""
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        # The last computation of each page: {(session, page...): Computed}, and the pages being computed again.
        self.latest: OrderedDict = OrderedDict()
        self.refreshing: dict[tuple, threading.Thread] = {}

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


class Computed:
    """A page's data as computed at one moment: its data version, its key without arrivals, and when."""

    def __init__(self, value, version: int, settled: int, at: float, took: float) -> None:
        """Keep the value with the versions read before it was computed, the time it began and how long it took."""
        self.value, self.version, self.settled, self.at, self.took = value, version, settled, at, took


def settled_version(db, session_id: int, version: int) -> int:
    """Return the session's data version less its arrivals (m034): it moves on every write but a new answer, person or consent."""
    found = one(db, "SELECT version FROM arrival_versions WHERE session_id = ?", (session_id,))
    return version - (found["version"] if found else 0)


def cached_refreshing(db, session_id: int, what: tuple, compute: Callable[[object], T]) -> T:
    """Return `compute(db)` for the session's current data version; when only new answers arrived since the
    page was last computed, return that computation at once and compute the page again in the background.

    A page served that way sets ``g.synthesis_counted_at`` (its time in the session's time zone, as the reader's
    language writes a time: "4:05 PM", "16:05") for the template's note.
    """
    cache = app_cache()
    version = synthesis.data_version(db, session_id)
    key = (session_id, version, *what)
    found = cache.get(key)
    if found is not None:
        return found[0]
    page = (session_id, *what)
    settled = settled_version(db, session_id, version)
    with cache.lock:
        last = cache.latest.get(page)
    now = time.time()
    if (last is not None and last.settled == settled and last.version < version and now - last.at < MAX_STALE
            and last.took >= SLOW):
        if now - last.at >= REFRESH_GAP:
            _refresh_in_background(cache, page, compute)
        zone = one(db, "SELECT timezone FROM sessions WHERE id = ?", (session_id,))
        g.synthesis_counted_at = format_time(datetime.fromtimestamp(last.at, timezone.utc), "short",
                                             tzinfo=_zone(zone["timezone"] if zone else "UTC"), locale=current_language())
        return last.value
    value = compute(db)
    _keep(cache, page, Computed(value, version, settled, now, time.time() - now))
    return value


def _zone(name: str):
    """Return a session's time zone (UTC if its name is unknown here)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        return timezone.utc


def _keep(cache: PageCache, page: tuple, computed: Computed) -> None:
    """Keep a computation under its version's key and as the page's latest (unless a newer one is kept already)."""
    cache.put((page[0], computed.version, *page[1:]), (computed.value,))
    with cache.lock:
        last = cache.latest.get(page)
        if last is None or last.version <= computed.version:
            cache.latest[page] = computed
            cache.latest.move_to_end(page)
        while len(cache.latest) > cache.size:
            cache.latest.popitem(last=False)


def _refresh_in_background(cache: PageCache, page: tuple, compute: Callable[[object], T]) -> None:
    """Compute a page again in a thread with its own connection, unless it is being computed already."""
    app = current_app._get_current_object()
    path, busy, synchronous = str(app.config["DATABASE"]), app.config["BUSY_TIMEOUT_MS"], app.config["SQLITE_SYNCHRONOUS"]

    def work() -> None:
        """Read the versions, compute, keep; a failure leaves the last computation (the next change computes in a request)."""
        db = connect(path, busy_timeout_ms=busy, synchronous=synchronous)
        try:
            with app.app_context():
                started = time.time()
                version = synthesis.data_version(db, page[0])
                settled = settled_version(db, page[0], version)
                value = compute(db)
                _keep(cache, page, Computed(value, version, settled, started, time.time() - started))
        except Exception:  # noqa: BLE001 - a background refresh must not take the worker down
            app.logger.exception("Refreshing a synthesis page in the background failed")
        finally:
            db.conn.close()
            with cache.lock:
                cache.refreshing.pop(page, None)

    with cache.lock:
        if page in cache.refreshing:
            return
        thread = cache.refreshing[page] = threading.Thread(target=work, name="chorus-page-refresh", daemon=True)
    thread.start()


def wait_for_refreshes(app=None, timeout: float = 60.0) -> None:
    """Wait until an app's (by default the current app's) background refreshes are done."""
    cache = (app or current_app).extensions.get(_EXTENSION)
    if cache is None:
        return
    with cache.lock:
        threads = list(cache.refreshing.values())
    for thread in threads:
        thread.join(timeout)
