"""Browser fixtures: one live Chorus server and one Chromium for this folder, a fresh phone-sized page per test.

They are package-scoped, so Playwright is stopped before other folders' tests start their own.

Without /usr/bin/chromium the browser tests skip with a hint on how to install it, except in CI
(the CI environment variable is set), where they fail. A failing test leaves a screenshot of
its page in test-artifacts/.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .harness import CHROMIUM, INSTALL_HINT, PAGE_BUDGET, PHONE, WEIGHTS, Meter, launch, start_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    """Skip browser tests when Chromium is missing, unless running in CI."""
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=INSTALL_HINT)
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test so the page fixture can tell a failure happened."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    """Print each resident page's transfer size, as measured in the browser by the flow tests."""
    if not WEIGHTS:
        return
    columns = sorted(WEIGHTS, key=lambda key: (key[0] != "en", key[0], not key[1]))
    names = [visit.name for visit in WEIGHTS[columns[0]]]
    terminalreporter.section(f"resident page weights in KB (budget {PAGE_BUDGET // 1024} KB, cache off)")
    header = f"{'page':28}" + "".join(f"{lang + (' js' if js else ' no-js'):>10}" for lang, js in columns)
    terminalreporter.write_line(header)
    for row, name in enumerate(names):
        cells = "".join(f"{WEIGHTS[key][row].bytes / 1024:10.1f}" for key in columns)
        terminalreporter.write_line(f"{name:28}{cells}")


@pytest.fixture(scope="package")
def live_server(tmp_path_factory):
    """A Chorus server on a free port with a temporary database and the demo session."""
    server = start_server(tmp_path_factory.mktemp("browser"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """One headless Debian Chromium for all the tests in this folder."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():  # only reached in CI: elsewhere these tests were skipped
        pytest.fail(f"CI must run the browser tests. {INSTALL_HINT}")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server, request):
    """Open phone-sized pages: open_page(javascript=True, lang=None) returns (page, meter)."""
    contexts = []

    def make(*, javascript: bool = True, lang: str | None = None, viewport: dict | None = None,
             reduced_motion: str = "no-preference", init_script: str | None = None):
        """Return a fresh page (own cookies) and the meter counting what it fetches."""
        context = browser.new_context(
            viewport=viewport or PHONE, java_script_enabled=javascript, is_mobile=True, has_touch=True,
            locale=lang or "en-US", reduced_motion=reduced_motion, base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        page = context.new_page()
        return page, Meter(page, live_server.url)

    yield make
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        for index, context in enumerate(contexts):
            for number, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{name}-{index}-{number}.png"), full_page=True)
    for context in contexts:
        context.close()
