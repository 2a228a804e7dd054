"""A real browser for the app's tests: Debian's Chromium driven by Playwright (no browser download), kept quiet, and
waiting for what the page shows rather than for the clock; the app it opens, served by `enclave app` in processes of
its own on a free loopback port, on a data folder of the test's."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant import find_free_port
from ui.commands.launcher import wait_for_app

ENCLAVE = str(Path(sys.executable).with_name("enclave"))

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


def switched_on(toggle: Any, label: Any, attempts: int = 3) -> None:
    """Turn a Streamlit toggle on by clicking its `label` (its input is hidden under it), and wait until it is. A click
    that lands while the app reruns (a finished answer redraws the chat) can be lost with the element it hit: then it
    is clicked again, only while the toggle is still off."""
    from playwright.sync_api import expect

    for _ in range(attempts):
        if not toggle.is_checked():
            label.click()
        try:
            expect(toggle).to_be_checked(timeout=60_000)
            return
        except AssertionError:
            continue
    expect(toggle).to_be_checked(timeout=1)  # the failure, with what the page showed


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


def app_environment(data_dir: Path, port: int, **settings: str) -> dict[str, str]:
    """The environment of `enclave app` serving `data_dir` on `port`: this process's, without the sign-in mode and the
    address a developer's shell may set (so the defaults hold: sign-in required, loopback), with `settings` (ENCLAVE_…
    variables) on top."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_AUTH", "ENCLAVE_APP_HOST")}
    env.update(ENCLAVE_DATA_DIR=str(data_dir), ENCLAVE_APP_PORT=str(port), **settings)
    return env


@contextmanager
def served_app(data_dir: Path, port: int | None = None, **settings: str) -> Iterator[str]:
    """`enclave app` on `data_dir` (see app_environment), on `port` or a free one; yields its URL once it answers, and
    stops it after. It runs in the folder holding `data_dir`, so no `.streamlit/` or `.env` of the checkout's is
    read, and writes its output to app.log there."""
    port = port or find_free_port()
    with open(data_dir.parent / "app.log", "w") as log:
        # A session of its own: the whole group is stopped after, Streamlit's server with `enclave app`.
        app = subprocess.Popen([ENCLAVE, "app"], env=app_environment(data_dir, port, **settings), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True, cwd=data_dir.parent)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_app(url, app, timeout=180)  # the first page load opens the store and loads the model, not this
        yield url
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=60)


@contextmanager
def launched_chromium(*flags: str) -> Iterator[Any]:
    """Debian's Chromium under Playwright, quiet (CHROMIUM_FLAGS) and with any other `flags`; closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=[*CHROMIUM_FLAGS, *flags])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def own_page(browser: Any, **options: Any) -> Iterator[Any]:
    """A new page in a browser context of its own (no cookie from another test), closed after; `options` are the
    context's (a viewport)."""
    context = browser.new_context(**options)
    try:
        yield context.new_page()
    finally:
        context.close()


def sidebar_links(page: Any) -> list[str]:
    """The pages the sidebar offers, by title (each link's text is its icon's name, then the title)."""
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    return [text.strip().splitlines()[-1] for text in links]


class Screenshots:
    """What the page shows at each step of a test, saved as numbered PNGs in `folder` (01-signed-in.png, …) to look
    at when a step fails or its look changes."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page, self.folder, self.taken = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, step: str) -> Path:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{step}.png"
        self.page.screenshot(path=str(path))
        return path
