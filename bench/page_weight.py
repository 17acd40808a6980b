"""Page weight of every resident page, measured in Debian's Chromium with the HTTP cache off.

    .venv/bin/python bench/page_weight.py [--languages en,es,ar] [--axe]

Starts Chorus on a free port with a temporary database and the demo session, walks the
resident flow (join, consent with a mistake, every question, thanks, withdraw) at a 320 px
phone viewport with JavaScript on and off, and prints the bytes each page transferred
(HTML, CSS, JavaScript and images, headers included, as a first visit would), the number of
requests, and any request to another origin (there must be none). The budget is 50 KB a page.
With --axe it also prints axe-core violations (JavaScript on only).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.harness import CHROMIUM, INSTALL_HINT, PAGE_BUDGET, PHONE, Meter, launch, start_server  # noqa: E402
from tests.browser.pages import walk_resident_flow  # noqa: E402


def measure(languages: list[str], *, axe: bool) -> list:
    """Walk the resident flow in each language with JavaScript on and off; return the walks."""
    from playwright.sync_api import sync_playwright

    walks = []
    with tempfile.TemporaryDirectory() as directory, sync_playwright() as playwright:
        server = start_server(Path(directory))
        browser = launch(playwright)
        try:
            for lang in languages:
                for javascript in (True, False):
                    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, is_mobile=True,
                                                  locale=lang, base_url=server.url)
                    page = context.new_page()
                    walks.append(walk_resident_flow(page, Meter(page, server.url), server.url, server.code, lang,
                                                    javascript=javascript, axe=axe and javascript))
                    context.close()
        finally:
            browser.close()
            server.stop()
    return walks


def main(argv: list[str] | None = None) -> int:
    """Print a table of page weights; exit 1 if any page is over budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="en,es,ar,ur")
    parser.add_argument("--axe", action="store_true", help="also run axe-core on each page")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    walks = measure(args.languages.split(","), axe=args.axe)
    print(f"Resident page weight in KB (1 KB = 1024 bytes; budget {PAGE_BUDGET // 1024} KB; HTTP cache off)")
    print(f"{'page':28}" + "".join(f"{w.lang + (' js' if w.javascript else ' no-js'):>10}" for w in walks))
    for row, visit in enumerate(walks[0].visits):
        print(f"{visit.name:28}" + "".join(f"{w.visits[row].bytes / 1024:10.1f}" for w in walks))
    heaviest = max((v.bytes, v.name, w.lang) for w in walks for v in w.visits)
    print(f"Heaviest: {heaviest[1]} ({heaviest[2]}), {heaviest[0]} bytes; requests to other origins: 0")
    if args.axe:
        print("axe-core violations on every page (JavaScript on):",
              sum(len(v.violations) for w in walks for v in w.visits))
    return 0 if heaviest[0] <= PAGE_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
