"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright (never a
downloaded browser build). `.ci/run` installs it; elsewhere a test needing it is skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A launched headless Chromium (playwright Browser); new_page()/new_context() from it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test are
    # still synchronous, so Django's async guard is lifted for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            # Django's connections are context-local, and Playwright runs the test in a context
            # of its own: connections opened there would outlive the test (and a Postgres
            # restart of a later test) unless they are closed while it is current.
            connections.close_all()
            browser.close()


@pytest.fixture
def chromium_page(chromium: Any) -> Any:
    page = chromium.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(15_000)
    return page
