"""Single sign-on end to end: a real OpenID Connect provider on loopback (oidc-provider-mock), the app started by
`enclave app` with a secrets file pointing at it (ENCLAVE_SECRETS_FILE), and Debian's Chromium signing in on the
provider's own page. Also the parts on their own: which [auth] sections can work, the launcher's refusal of one that
cannot, and each provider sign-in used once."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from browsers import ENCLAVE, app_environment, launched_chromium, own_page, served_app, shown, sidebar_links
from enclave_cli import invoke
from streamlit_apps import PASSWORD, data_dir_accounts

from assistant import find_free_port
from ui.commands.launcher import streamlit_command, wait_for_app
from ui.web.session_cookie import TAKE_PATH
from ui.settings import load_ui_settings
from ui.web.single_sign_on import SpentSignIns, auth_problems

ADMIN_GROUP = "enclave-admins"
# The provider's people: its sign-in page offers each by subject, with one click.
PEOPLE = {
    "ana": {"preferred_username": "ana", "email": "ana@example.org", "groups": ["finance"]},
    "olga": {"preferred_username": "olga", "email": "olga@example.org", "groups": [ADMIN_GROUP, "finance"]},
    "sam": {"preferred_username": "sam", "email": "sam@example.org", "groups": ["hr"]},
    "rita": {"preferred_username": "rita", "email": "rita@example.org", "groups": ["legal"]},
}
# Every host name the browser meets resolves to nothing, without a DNS query: the provider's pages link a stylesheet
# on a CDN, and the test machine reaches nothing off loopback. The app and the provider are reached by address.
LOOPBACK_ONLY = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def secrets_toml(app_port: int | str, provider_url: str, **changes: str) -> str:
    auth = {"redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback", "cookie_secret": secrets.token_urlsafe(32),
            "client_id": "enclave", "client_secret": secrets.token_urlsafe(16),
            "server_metadata_url": f"{provider_url}/.well-known/openid-configuration", **changes}
    return "[auth]\n" + "".join(f'{key} = "{value}"\n' for key, value in auth.items())


# -- the parts on their own ----------------------------------------------------------------------------------------


def test_a_complete_auth_section_works_and_each_gap_is_named_with_what_to_write():
    complete = {"redirect_uri": "https://enclave.corp.example/oauth2callback", "cookie_secret": "s" * 43,
                "client_id": "enclave", "client_secret": "x", "server_metadata_url": "https://idp/.well-known/x"}
    assert auth_problems(complete) == []

    problems = auth_problems({**complete, "redirect_uri": "https://enclave.corp.example/", "cookie_secret": "short",
                              "client_secret": ""})

    assert problems[0] == "client_secret is missing"
    assert "redirect_uri must be the app's address followed by /oauth2callback" in problems[1]
    assert "cookie_secret must be at least 32 random characters" in problems[2]


def test_an_auth_section_that_cannot_work_stops_the_app_before_it_starts(tmp_path):
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(secrets_toml(8501, "http://127.0.0.1:9", cookie_secret="short"))
    env = {"ENCLAVE_SECRETS_FILE": str(secrets_file), "ENCLAVE_DATA_DIR": str(tmp_path / "data"),
           "ENCLAVE_AUTH": "password", "ENCLAVE_APP_HOST": "127.0.0.1"}

    result = invoke("app", env=env)

    assert result.exit_code == 2
    assert f"single sign-on is set up in {secrets_file} ([auth]) but cannot work: cookie_secret" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_secrets_file_that_is_named_but_missing_stops_the_app(tmp_path):
    result = invoke("app", env={"ENCLAVE_SECRETS_FILE": str(tmp_path / "nowhere.toml"),
                                "ENCLAVE_DATA_DIR": str(tmp_path / "data")})

    assert result.exit_code == 2
    assert "ENCLAVE_SECRETS_FILE names" in result.stderr and "which is not a file" in result.stderr


def test_the_launcher_hands_streamlit_the_secrets_file_when_one_is_named(tmp_path):
    assert "--secrets.files" not in streamlit_command(load_ui_settings(secrets_file=""))
    command = streamlit_command(load_ui_settings(secrets_file=str(tmp_path / "secrets.toml")))
    assert command[command.index("--secrets.files") + 1] == str(tmp_path / "secrets.toml")


def test_a_provider_sign_in_is_used_once_and_not_after_its_token_expired():
    now = [1_000.0]
    spent = SpentSignIns(clock=lambda: now[0])
    claims = {"iss": "http://127.0.0.1:9", "sub": "ana", "iat": 990, "nonce": "n1", "exp": 1_300}

    assert spent.take(claims)
    assert not spent.take(dict(claims))  # the same token again: a reload, a stale cookie
    assert spent.take({**claims, "iat": 1_000, "nonce": "n2"})  # signed in at the provider again
    now[0] = 1_300.0
    assert not spent.take({**claims, "nonce": "n3"})  # expired
    assert not spent.take({key: value for key, value in claims.items() if key != "exp"})


# -- end to end ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenID Connect provider in a process of its own on a free loopback port (oidc-provider-mock: discovery,
    keys, authorization and token endpoints, signed ID tokens), with PEOPLE on its sign-in page; it insists on a
    nonce, as real ones may."""
    port = find_free_port()
    people = [arg for sub, claims in PEOPLE.items() for arg in ("--user-claims", json.dumps({"sub": sub, **claims}))]
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port),
               "--require-nonce", "true", *people]
    with open(tmp_path_factory.mktemp("provider") / "provider.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_provider(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def wait_for_provider(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds  # a bound on a start-up, not a timing assertion
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the OpenID Connect provider exited at start-up (exit code {process.returncode})")
        try:
            if httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the OpenID Connect provider did not answer at {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder without documents, whose first admin (root) has a password."""
    data = tmp_path_factory.mktemp("sso") / "data"
    with data_dir_accounts(data) as accounts:
        accounts.create_first_admin("root", PASSWORD)
    return data


def sso_settings(data_dir: Path, port: int, provider: str) -> dict[str, str]:
    """The settings of `enclave app` on this port for single sign-on: a secrets file beside the data folder (not in
    the app's working folder, so ENCLAVE_SECRETS_FILE is what finds it) naming the provider, and the admin group."""
    secrets_file = data_dir.parent / "secrets.toml"
    secrets_file.write_text(secrets_toml(port, provider))
    return {"ENCLAVE_SECRETS_FILE": str(secrets_file), "ENCLAVE_OIDC_ADMIN_GROUP": ADMIN_GROUP}


@pytest.fixture(scope="module")
def app_url(data_dir: Path, provider: str) -> Iterator[str]:
    """`enclave app` on a free loopback port, its secrets file (outside the working folder) naming the provider."""
    port = find_free_port()
    with served_app(data_dir, port, **sso_settings(data_dir, port, provider)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium(*LOOPBACK_ONLY) as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with own_page(browser) as page:
        yield page


def sign_in_at_the_provider(page: Any, app_url: str, sub: str) -> None:
    """Open the app, press its single sign-on button, pick the person on the provider's page, and come back."""
    page.goto(app_url)
    shown(page.get_by_text("Sign in to Enclave"))  # the first load opens the store and loads the model
    page.get_by_role("button", name="Sign in with single sign-on").click()
    shown(page.get_by_role("heading", name="Authorize Client"))  # the provider's own page
    page.get_by_role("button", name=sub, exact=True).click()


def signed_in_through_the_provider(page: Any, app_url: str, sub: str) -> None:
    with page.expect_response(lambda response: response.url.endswith(TAKE_PATH), timeout=240_000) as taken:
        sign_in_at_the_provider(page, app_url, sub)
    assert taken.value.status == 204, taken.value.text()
    signed_in_as(page, sub)


def signed_in_as(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    shown(page.get_by_text("Ask your documents"))
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {name}")


def on_the_sign_in_page(page: Any) -> None:
    shown(page.get_by_role("button", name="Sign in with single sign-on"))
    assert not page.get_by_text("Ask your documents").is_visible()


def records(data_dir: Path, actor: str) -> list[tuple[str, str, dict]]:
    with data_dir_accounts(data_dir) as accounts:
        return [(r.action, r.target, r.details) for r in accounts.audit.records(actor=actor)]


def test_the_first_sign_in_creates_a_member_with_the_claimed_groups_who_sees_only_ask_and_stays_signed_in(
        page, app_url, data_dir):
    signed_in_through_the_provider(page, app_url, "ana")

    assert sidebar_links(page) == []  # one page, Ask: no navigation
    with data_dir_accounts(data_dir) as accounts:
        account = accounts.get("ana")
    assert (account.role, account.groups, account.has_password) == ("member", ("everyone", "finance"), False)
    assert records(data_dir, "ana") == [
        ("user.add", "ana", {"role": "member", "groups": ["everyone", "finance"], "has_password": False,
                             "method": "sso"}),
        ("sign_in.success", "", {"method": "sso"}),
    ]

    page.reload()
    signed_in_as(page, "ana")  # the app's own session cookie
    assert [action for action, _, _ in records(data_dir, "ana")] == ["user.add", "sign_in.success"]  # no new sign-in


def test_a_member_of_the_admin_group_signs_in_as_an_admin_and_sees_the_admin_pages(page, app_url, data_dir):
    from playwright.sync_api import expect

    signed_in_through_the_provider(page, app_url, "olga")

    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as olga (admin)")
    assert sidebar_links(page) == ["Ask", "Documents", "Users", "Audit", "Feedback"]
    with data_dir_accounts(data_dir) as accounts:
        assert accounts.get("olga").role == "admin"


def test_signing_out_ends_the_session_here_and_at_the_provider(page, app_url):
    signed_in_through_the_provider(page, app_url, "sam")

    page.get_by_role("button", name="Sign out").click()
    shown(page.get_by_role("heading", name="End Session"))  # the provider's end-session page (st.logout)
    page.get_by_role("button", name="End session").click()
    on_the_sign_in_page(page)
    page.reload()
    on_the_sign_in_page(page)  # neither the app's session nor the provider's sign-in lets the browser back in


def test_a_removed_account_is_out_at_once_and_signing_in_again_is_refused_and_recorded(page, app_url, data_dir):
    signed_in_through_the_provider(page, app_url, "rita")
    with data_dir_accounts(data_dir) as accounts:
        accounts.remove_user("rita", by="root")

    page.reload()
    on_the_sign_in_page(page)  # the provider's sign-in, still in Streamlit's cookie, was used: it lets nobody in
    sign_in_at_the_provider(page, app_url, "rita")
    shown(page.get_by_text("an admin removed the account rita"))
    on_the_sign_in_page(page)
    action, _, details = records(data_dir, "rita")[-1]
    assert (action, details["method"]) == ("sign_in.failure", "sso") and "removed" in details["reason"]


def test_a_sign_in_through_the_provider_makes_the_app_contact_the_provider_and_nothing_else(provider, browser, tmp_path):
    """Under strace (tests/test_egress.py's audit): from start-up through a sign-in at the provider, the app's
    processes connect to loopback only, the provider among it, and ask no resolver for any name."""
    from infra.scripts.audit_egress import Traced

    data = tmp_path / "data"
    with data_dir_accounts(data) as accounts:
        accounts.create_first_admin("root", PASSWORD)
    port = find_free_port()
    url = f"http://127.0.0.1:{port}"
    env = app_environment(data, port, **sso_settings(data, port, provider))
    with Traced([ENCLAVE, "app"], tmp_path / "app.log", env=env, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as app:
        wait_for_app(url, app.process, timeout=300)
        context = browser.new_context()
        signed_in_through_the_provider(context.new_page(), url, "ana")
        context.close()
    report = app.report()

    assert not report.outbound, report.summary()
    assert any(attempt.port == int(provider.rsplit(":", 1)[1]) for attempt in report.loopback)
