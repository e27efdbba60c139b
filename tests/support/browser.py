"""Headless Chromium for end-to-end tests: Debian's ``chromium`` package driven by
Playwright's sync API through ``executable_path``.

Playwright's own browser download (``playwright install``) is never used: it needs
network access to Playwright's CDN, which CI and air-gapped machines do not have, and the
system package is kept up to date by apt. Install the browser with
``apt-get install -y --no-install-recommends chromium`` (``scripts/test.sh`` does this
when run as root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium launcher; ``LABELCHECK_CHROMIUM`` overrides it (e.g. on a laptop)."""

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",  # CI runs as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",  # no update checks, safe-browsing or metrics calls
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or the Playwright package is not installed."""


def chromium_path() -> str:
    """Path of the Chromium executable; raises :class:`BrowserUnavailable` if missing."""
    path = os.environ.get("LABELCHECK_CHROMIUM", CHROMIUM)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise BrowserUnavailable(
            f"Chromium not found at {path}: install it with `apt-get install -y "
            "--no-install-recommends chromium` (or point LABELCHECK_CHROMIUM at a "
            "Chromium/Chrome binary); Playwright's browser download is not used")
    return path


def check_available() -> str:
    """Path of Chromium, after checking that Playwright is importable; raises
    :class:`BrowserUnavailable` naming what to install."""
    path = chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise BrowserUnavailable(
            "the `playwright` Python package is not installed: "
            "pip install -e '.[test]'") from exc
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start Playwright and launch headless Chromium; close both on exit."""
    path = check_available()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
