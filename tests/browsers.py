"""A real browser for the app's tests: Debian's Chromium driven by Playwright (no browser download), kept quiet, and
waiting for what the page shows rather than for the clock."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

# Chromium's own background services (updates, safe browsing, sync) would reach Google; the browser is the tests'
# client, not Enclave, but it stays quiet too (tests/test_egress.py records what the app's pages make it fetch).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is missing: make test installs it (apt-get install chromium)")
    return path


def shown(locator: Any, seconds: float = 240) -> None:
    """Wait until the element is on the page: a page load, an ingest or an answer on a slow CPU takes a while."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible(timeout=seconds * 1000)


def sign_in(page: Any, url: str, name: str, password: str) -> None:
    """Open the app, sign in through its form, and wait until the browser holds the cookie and the app is shown."""
    from ui.web.session_cookie import TAKE_PATH

    page.goto(url)
    shown(page.get_by_text("Sign in to Enclave"))  # the first load opens the store and loads the model
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    with page.expect_response(lambda response: response.url.endswith(TAKE_PATH)) as taken:
        page.get_by_role("button", name="Sign in").click()
    assert taken.value.status == 204, taken.value.text()
    shown(page.get_by_text("Ask your documents"))
