"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded browser).

Every page a test opens is watched: a console error, an uncaught exception or a request to
anywhere but the test server fails the test (the request is also refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent: install Debian's chromium (scripts/setup.sh does)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page and what went wrong on it."""

    def __init__(self, page: Any, origin: str):
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.outside: list[str] = []


@contextmanager
def watching(browser: Any, origin: str, **options: Any) -> Iterator[Watched]:
    """A new browser context (``options`` as for ``browser.new_context``: viewport, mobile)
    and a watched page in it; on leaving, nothing may have gone wrong on the page."""
    context = browser.new_context(**options)
    page = context.new_page()
    seen = Watched(page, origin)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/") or url.startswith("data:"):
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    try:
        yield seen
    finally:
        context.close()
    assert seen.outside == [], f"requests left the test server: {seen.outside}"
    assert seen.errors == [], f"console errors: {seen.errors}"


@pytest.fixture
def watched(browser: Any, live_server: Any) -> Iterator[Watched]:
    with watching(browser, live_server.url, viewport={"width": 1280, "height": 900}) as seen:
        yield seen


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
