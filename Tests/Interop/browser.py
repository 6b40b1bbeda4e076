"""Headless Chromium for the interop tests: Debian's `chromium` package (at /usr/bin/chromium or
$GATEHOUSE_CHROMIUM), driven with Playwright, never a browser Playwright downloads."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium from the system ($GATEHOUSE_CHROMIUM or /usr/bin/chromium, never a
    Playwright download), for every test that drives a browser. Raises RuntimeError with the
    reason when Playwright or Chromium is missing or the browser cannot start."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise RuntimeError(f"Playwright is not installed ({error}); pip install -r Tests/Interop/requirements.txt") from error
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package (scripts/interop.sh does, "
            "with apt-get install chromium) or set GATEHOUSE_CHROMIUM to a Chromium binary"
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Loopback only: no proxy from the environment may sit between the browser and the servers.
            args=["--no-proxy-server", "--disable-gpu", "--disable-dev-shm-usage"],
            timeout=30_000,
        )
    except PlaywrightError as error:
        playwright.stop()
        raise RuntimeError(f"could not launch Chromium at {CHROMIUM} with Playwright:\n{error}") from error
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


def keep_to_loopback(target: Any) -> None:
    """Aborts every request of a Playwright Page or BrowserContext that leaves 127.0.0.1/localhost.
    The mock's pages link a stylesheet on cdn.jsdelivr.net; without network that request could
    hold up the page's load event until the navigation times out."""

    def route(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            route.abort()

    target.route("**/*", route)
