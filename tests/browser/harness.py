"""Drives Chorus in a real Chromium: a live server on a free port, the browser, and page measurements.

The browser tests and `bench/page_weight.py` share it. Chromium is always Debian's
/usr/bin/chromium, never a downloaded one, and it runs with the network switched off.
"""
from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without these flags Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
INSTALL_HINT = "Browser tests need Debian's Chromium at /usr/bin/chromium: sudo apt-get install -y chromium"
# A small phone; 320 CSS px is also what a 640 px window shows at 200% zoom (WCAG 1.4.10 reflow).
PHONE = {"width": 320, "height": 640}
PAGE_BUDGET = 50 * 1024


@dataclass
class LiveServer:
    """A Chorus app served on 127.0.0.1 in a background thread, with the demo session."""

    url: str
    code: str
    email: str
    password: str
    session_id: int
    app: object
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_server(directory: Path) -> LiveServer:
    """Create a migrated temporary database with the demo session and serve it on a free port."""
    from listening.app import create_app
    from listening.db import connect, one
    from listening.demo import ensure_demo
    from listening.migrations import migrate

    app = create_app({"TESTING": False, "DATABASE": Path(directory) / "browser.db",
                      "SECRET_KEY": secrets.token_hex(16)})
    db = connect(app.config["DATABASE"])
    migrate(db)
    password = secrets.token_urlsafe(12)
    with app.app_context():
        demo = ensure_demo(db, password=password)
    session_id = one(db, "SELECT id FROM sessions WHERE code = ?", (demo.code,))["id"]
    db.conn.close()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="chorus-live-server", daemon=True)
    thread.start()
    return LiveServer(f"http://127.0.0.1:{server.server_port}", demo.code, demo.email, password,
                      session_id, app, server, thread)


def launch(playwright):
    """Launch Debian's Chromium headless with the network noise switched off."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class Transfer:
    """What one page load fetched: every request's bytes on the wire and any other origin asked for."""

    requests: list[tuple[str, int]] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return the bytes transferred (headers and bodies) for this page."""
        return sum(size for _url, size in self.requests)


class Meter:
    """Weighs each page a browser tab shows, with the HTTP cache off, and blocks any other origin."""

    def __init__(self, page, origin: str):
        """Route every request of `page` through the meter (routing also turns the cache off)."""
        self.page = page
        self.origin = origin
        self.current = Transfer()
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        """Let same-origin requests through; record and refuse the rest."""
        url = route.request.url
        if url.startswith(("data:", "blob:")) or self._same_origin(url):
            route.continue_()
        else:
            self.current.foreign.append(url)
            route.abort()

    def _same_origin(self, url: str) -> bool:
        """Tell whether `url` is on the server's own scheme, host and port."""
        mine, theirs = urlsplit(self.origin), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def start(self) -> None:
        """Forget other origins asked for so far; a new page begins."""
        self.current = Transfer()

    def take(self) -> Transfer:
        """Return what the page now shown fetched (its document and every resource) and start again."""
        self.page.wait_for_load_state("load")
        # The Performance API lists exactly this document's requests; with the cache off, a body's
        # encoded size is what crossed the network (transferSize adds headers when Chromium reports them).
        entries = self.page.evaluate(
            """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
                     .map(e => [e.name, Math.max(e.transferSize || 0, e.encodedBodySize || 0)])"""
        )
        taken, self.current = self.current, Transfer()
        taken.requests = [(url, int(size)) for url, size in entries]
        return taken

# Page weights seen by the browser tests, printed at the end of the run.
WEIGHTS: dict = {}
