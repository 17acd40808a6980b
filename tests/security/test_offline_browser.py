"""In Chromium: an answer given with the network cut is kept on the phone and sent once when it returns."""
from __future__ import annotations

import logging
import os
import secrets
import threading

import pytest

from tests.browser.harness import CHROMIUM, INSTALL_HINT, launch
from tests.factories import make_session

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason=INSTALL_HINT)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A live Chorus (production-like: limits on) with one open self-paced session, in a thread."""
    from werkzeug.serving import make_server

    from listening.app import create_app
    from listening.db import connect
    from listening.migrations import migrate

    if not CHROMIUM.exists():
        pytest.fail(f"CI must run the browser tests. {INSTALL_HINT}")
    directory = tmp_path_factory.mktemp("offline")
    app = create_app({"DATABASE": directory / "offline.db", "SECRET_KEY": secrets.token_hex(32)})
    db = connect(app.config["DATABASE"])
    migrate(db)
    session = make_session(db, languages=("en",))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{http.server_port}", "code": session["code"], "db": db}
    http.shutdown()
    http.server_close()
    db.conn.close()


class BrowserThread:
    """Chromium driven from its own thread, so it never meets another suite's Playwright event loop.

    The browser tests keep a session-wide sync Playwright open on the main thread; a second sync
    Playwright there refuses to start. Here each scenario runs on this thread instead.
    """

    def __init__(self):
        """Start the thread and launch Chromium on it."""
        import queue

        self.jobs: queue.Queue = queue.Queue()
        ready: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        failure = ready.get(timeout=60)
        if failure is not None:
            raise failure

    def _serve(self, ready) -> None:
        """Own Playwright and Chromium; run each submitted job with the browser."""
        from playwright.sync_api import sync_playwright

        try:
            playwright = sync_playwright().start()
            chromium = launch(playwright)
        except Exception as exc:  # reported to the test that asked for the browser
            ready.put(exc)
            return
        ready.put(None)
        while True:
            job = self.jobs.get()
            if job is None:
                break
            function, done = job
            try:
                done.put((function(chromium), None))
            except BaseException as exc:  # handed back to the test thread, which re-raises it
                done.put((None, exc))
        chromium.close()
        playwright.stop()

    def run(self, function):
        """Run `function(browser)` on the browser's thread and return its result (or raise its error)."""
        import queue

        done: queue.Queue = queue.Queue()
        self.jobs.put((function, done))
        result, error = done.get(timeout=120)
        if error is not None:
            raise error
        return result

    def close(self) -> None:
        """Close Chromium and end the thread."""
        self.jobs.put(None)
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, on its own thread."""
    driver = BrowserThread()
    yield driver
    driver.close()


@pytest.fixture
def phone(browser, server):
    """Run a scenario on a phone-sized page that has agreed to take part and is on question 1."""

    def run(scenario):
        """Open a fresh phone, consent, call scenario(context, page), then close the phone."""

        def job(chromium):
            """Everything that touches the browser, on the browser's thread."""
            context = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=server["url"])
            context.set_default_timeout(10_000)
            try:
                page = context.new_page()
                page.goto(f"/s/{server['code']}/consent")
                page.check("input[name=take_part]")
                page.click("button[value=agree]")
                page.wait_for_url(f"**/s/{server['code']}/q/1")
                return scenario(context, page)
            finally:
                context.close()

        return browser.run(job)

    return run


def answers_saying(db, text: str) -> int:
    """Count stored answers with exactly this text."""
    return db.execute("SELECT count(*) FROM responses WHERE text = ?", (text,)).fetchone()[0]


def outbox(page) -> dict:
    """Return what the phone is keeping to send."""
    return page.evaluate("() => JSON.parse(localStorage.getItem('chorus-outbox') || '{}')")


def test_an_answer_given_offline_is_kept_then_sent_once_when_back_online(phone, server):
    """Offline: the answer stays on the phone with a notice; online again: it is sent once and the phone moves on."""
    phone(lambda context, page: offline_then_online(context, page, server))


def offline_then_online(context, page, server) -> None:
    """Answer with the network cut, check what is kept, restore it, check it arrived once."""
    text = f"offline answer {secrets.token_hex(4)} <b>&</b>"
    context.set_offline(True)
    page.fill("textarea[name=answer]", text)
    page.click("button[value=next]")
    page.click("button[value=next]")  # a second tap while offline replaces, never duplicates
    notice = page.locator("#offline-status")
    notice.wait_for(state="visible")
    assert "saved on this phone" in notice.inner_text()
    kept = outbox(page)
    assert len(kept) == 1 and text.replace("&", "%26").split()[0] in next(iter(kept.values()))["body"]
    assert answers_saying(server["db"], text) == 0
    assert page.url.endswith("/q/1")

    context.set_offline(False)
    page.wait_for_url("**/q/2")
    assert answers_saying(server["db"], text) == 1
    assert outbox(page) == {}

    # The same form sent again (a retry after a lost reply) is recognised by its nonce.
    page.evaluate("(kept) => localStorage.setItem('chorus-outbox', JSON.stringify(kept))", kept)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => localStorage.getItem('chorus-outbox') === null")
    assert answers_saying(server["db"], text) == 1
    assert page.url.endswith("/q/2")


def test_a_request_that_fails_on_the_way_is_kept_and_resent(phone, server):
    """When the phone thinks it is online but the request fails, the answer is kept and sent on the next try."""
    phone(lambda context, page: failed_request_then_retry(page, server))


def failed_request_then_retry(page, server) -> None:
    """Drop the answer's POST on the way, then let the retry through."""
    text = f"flaky network {secrets.token_hex(4)}"
    page.route("**/q/1", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.fill("textarea[name=answer]", text)
    page.click("button[value=next]")
    page.locator("#offline-status").wait_for(state="visible")
    assert len(outbox(page)) == 1 and answers_saying(server["db"], text) == 0
    page.unroute("**/q/1")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_url("**/q/2")
    assert answers_saying(server["db"], text) == 1


def test_online_answers_go_straight_through(phone, server):
    """With the network up, answering works as before: one answer, next question."""
    phone(lambda context, page: online_answer(page, server))


def online_answer(page, server) -> None:
    """Answer with the network up."""
    text = f"online {secrets.token_hex(4)}"
    page.fill("textarea[name=answer]", text)
    page.click("button[value=next]")
    page.wait_for_url("**/q/2")
    assert answers_saying(server["db"], text) == 1
    assert page.locator("#offline-status").is_hidden()


def test_a_vote_given_offline_is_kept_then_sent_once_when_back_online(browser, server):
    """A design session's Agree tapped with the network cut stays on the phone; online again it is stored once."""
    from listening import queries
    from listening import statements as st

    found = make_session(server["db"], languages=("en",), prompts=[{"kind": "react", "text": "What should change?"}])
    [react] = queries.prompts_for_session(server["db"], found["id"])
    statement_id = st.add_statement(server["db"], found["id"], react["id"], language="en", body="More evening clinic hours")

    def votes() -> int:
        """Count the votes stored on the statement."""
        return server["db"].execute("SELECT count(*) FROM votes WHERE statement_id = ?", (statement_id,)).fetchone()[0]

    def job(chromium):
        """Consent, vote offline, check it is kept, go online, check it arrived once."""
        context = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=server["url"])
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            page.goto(f"/s/{found['code']}/consent")
            page.check("input[name=take_part]")
            page.click("button[value=agree]")
            page.wait_for_url(f"**/s/{found['code']}/q/1")
            context.set_offline(True)
            page.click("button[name=vote][value=agree]")
            page.locator("#offline-status").wait_for(state="visible")
            kept = outbox(page)
            assert len(kept) == 1 and next(iter(kept.values()))["url"].endswith("/q/1/vote") and votes() == 0
            context.set_offline(False)
            emptied(page)
            assert votes() == 1
            page.evaluate("(kept) => localStorage.setItem('chorus-outbox', JSON.stringify(kept))", kept)
            page.evaluate("() => window.dispatchEvent(new Event('online'))")
            emptied(page)
            assert votes() == 1
        finally:
            context.close()

    browser.run(job)


def emptied(page, seconds: float = 10) -> None:
    """Wait until the phone's outbox is empty. Sending it reloads the page (the vote's answer is the same address),
    so a check can land mid-navigation; such a check is simply tried again."""
    import time

    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            page.wait_for_load_state()
            if page.evaluate("() => localStorage.getItem('chorus-outbox')") is None:
                return
        except PlaywrightError:
            pass  # the page navigated while we looked: look again
        time.sleep(0.1)
    raise AssertionError("the outbox was not sent within the time allowed")


def test_forget_me_on_a_shared_device_also_drops_answers_still_waiting_on_it(phone, server):
    """An answer kept on a shared computer while offline, not yet sent, leaves the browser when the resident asks it to
    forget them: the next person at the computer cannot read it in the browser's storage (nor send it as theirs)."""
    phone(lambda context, page: kept_then_forgotten(context, page, server))


def kept_then_forgotten(context, page, server) -> None:
    """Keep an answer offline, keep its delivery failing, press "forget me", check the browser holds nothing."""
    text = f"kept on a shared computer {secrets.token_hex(4)}"
    context.set_offline(True)
    page.fill("textarea[name=answer]", text)
    page.click("button[value=next]")
    page.locator("#offline-status").wait_for(state="visible")
    assert len(outbox(page)) == 1
    page.route("**/q/1", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    context.set_offline(False)
    page.goto(f"/s/{server['code']}/thanks")
    page.click("form[action='/forget'] button")
    page.wait_for_url("**/forget")
    page.wait_for_function("() => localStorage.getItem('chorus-outbox') === null")
    assert answers_saying(server["db"], text) == 0
