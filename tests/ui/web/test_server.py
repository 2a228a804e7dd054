"""The app's server (`enclave app`: ui/web/server.py) with a real browser, Debian's Chromium: a sign-in outlives a reload
through its cookie; signing out, or a session that has expired, leaves the browser on the sign-in page however the
cookie looks, because the server-side session is the truth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from browsers import served_app, shown, sign_in
from streamlit_apps import PASSWORD, data_dir_accounts

from assistant import load_assistant_settings
from ui.web.session_cookie import COOKIE_NAME, DROP_PATH


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder without documents, where ana (a member) has an account."""
    data = tmp_path_factory.mktemp("server") / "data"
    with data_dir_accounts(data) as accounts:
        accounts.add_user("ana", "member", (), PASSWORD, by="root")
    return data


@pytest.fixture(scope="module")
def app_url(data_dir: Path) -> Iterator[str]:
    """`enclave app` on a free loopback port, sign-in required (the default), for the module's tests."""
    with served_app(data_dir) as url:
        yield url


def session_cookie(page: Any) -> dict[str, Any] | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def signed_in_as(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    shown(page.get_by_text("Ask your documents"))
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {name}")


def on_the_sign_in_page(page: Any) -> None:
    shown(page.get_by_text("Sign in to Enclave"))
    assert not page.get_by_text("Ask your documents").is_visible()


def test_a_signed_in_person_stays_signed_in_across_a_reload(page, app_url):
    sign_in(page, app_url, "ana", PASSWORD)

    cookie = session_cookie(page)
    assert cookie is not None
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert COOKIE_NAME not in page.evaluate("document.cookie")  # no script on the page can read it
    assert cookie["value"] not in page.url
    page.reload()
    signed_in_as(page, "ana")


def test_after_signing_out_a_reload_shows_the_sign_in_page_even_with_the_old_cookie_put_back(page, app_url):
    sign_in(page, app_url, "ana", PASSWORD)
    old = session_cookie(page)
    with page.expect_response(lambda response: response.url.endswith(DROP_PATH)) as dropped:
        page.get_by_role("button", name="Sign out").click()
    assert dropped.value.status == 204
    on_the_sign_in_page(page)
    assert session_cookie(page) is None

    page.reload()
    on_the_sign_in_page(page)
    page.context.add_cookies([{"name": COOKIE_NAME, "value": old["value"], "url": app_url}])
    page.reload()
    on_the_sign_in_page(page)  # the session ended on the server: its token signs nobody in


def cookie_for_a_session_started(ago: timedelta, data_dir: Path, app_url: str) -> dict[str, Any]:
    """A cookie holding the token of a session of ana's, started `ago` by the accounts' clock."""
    with data_dir_accounts(data_dir, clock=lambda: datetime.now(timezone.utc) - ago) as accounts:
        token = accounts.start_session(accounts.get("ana").user())
    return {"name": COOKIE_NAME, "value": token, "url": app_url, "httpOnly": True, "sameSite": "Strict"}


def test_a_live_sessions_cookie_signs_the_browser_in_without_the_form(page, app_url, data_dir):
    page.context.add_cookies([cookie_for_a_session_started(timedelta(0), data_dir, app_url)])
    page.goto(app_url)

    signed_in_as(page, "ana")


def test_an_expired_sessions_cookie_leads_to_the_sign_in_page(page, app_url, data_dir):
    lifetime = timedelta(hours=load_assistant_settings().session_hours)  # ENCLAVE_SESSION_HOURS, as the app reads it
    page.context.add_cookies([cookie_for_a_session_started(lifetime + timedelta(minutes=1), data_dir, app_url)])
    page.goto(app_url)

    on_the_sign_in_page(page)
