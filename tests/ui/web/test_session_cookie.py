"""The routes that set and clear the sign-in cookie, on a real Starlette app (the one st.App builds them into), and
the one-time codes they trade: a code gives its session's token once, as an HttpOnly, SameSite=Strict cookie lasting
the session; nothing is set without the app's header, for a used code, or for an expired one."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ui.web.session_cookie import COOKIE_NAME, DROP_PATH, HEADER, TAKE_PATH, Handovers, drop_script, routes, take_script

TOKEN = "the-session-token"
HOURS_12 = 12 * 3600


class Clock:
    """Monotonic seconds as the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def handovers(clock) -> Handovers:
    return Handovers(clock=clock, lifetime=60)


def client(handovers: Handovers, base_path: str = "/", https: bool = False) -> TestClient:
    return TestClient(Starlette(routes=routes(base_path, handovers)),
                      base_url="https://enclave.example" if https else "http://127.0.0.1")


def take(test_client: TestClient, code: str, path: str = TAKE_PATH, header: bool = True):
    return test_client.post(path, content=code, headers={HEADER: "1"} if header else {})


def set_cookie(response) -> str:
    [line] = response.headers.get_list("set-cookie")
    return line


def test_a_code_is_traded_once_for_an_httponly_strict_cookie_lasting_the_session(handovers):
    code = handovers.issue(TOKEN, HOURS_12)
    response = take(client(handovers), code)

    assert response.status_code == 204
    cookie = set_cookie(response)
    assert cookie.startswith(f"{COOKIE_NAME}={TOKEN};")
    assert {"HttpOnly", "SameSite=strict", "Path=/", f"Max-Age={HOURS_12}"} <= set(cookie.split("; "))
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back
    assert response.headers["cache-control"] == "no-store"


def test_a_used_code_sets_nothing(handovers):
    code = handovers.issue(TOKEN, HOURS_12)
    take(client(handovers), code)
    again = take(client(handovers), code)

    assert again.status_code == 400
    assert "set-cookie" not in again.headers


def test_an_expired_code_sets_nothing(handovers, clock):
    code = handovers.issue(TOKEN, HOURS_12)
    clock.now += 60
    response = take(client(handovers), code)

    assert response.status_code == 400
    assert "set-cookie" not in response.headers


def test_without_the_apps_header_nothing_is_set_and_the_code_stays_good(handovers):
    """A form on another site can post to the route, but cannot add the header without asking first (CORS)."""
    code = handovers.issue(TOKEN, HOURS_12)
    refused = take(client(handovers), code, header=False)

    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers
    assert take(client(handovers), code).status_code == 204


def test_over_https_the_cookie_is_secure(handovers):
    response = take(client(handovers, https=True), handovers.issue(TOKEN, HOURS_12))

    assert "Secure" in set_cookie(response).split("; ")


def test_under_a_base_path_the_routes_and_the_cookie_are_there(handovers):
    response = take(client(handovers, "/enclave/"), handovers.issue(TOKEN, HOURS_12), "/enclave" + TAKE_PATH)

    assert response.status_code == 204
    assert "Path=/enclave" in set_cookie(response).split("; ")


def test_signing_out_clears_the_cookie(handovers):
    response = client(handovers).post(DROP_PATH, headers={HEADER: "1"})

    assert response.status_code == 204
    cookie = set_cookie(response)
    assert cookie.startswith(f'{COOKIE_NAME}="";') and "Max-Age=0" in cookie.split("; ")
    assert client(handovers).post(DROP_PATH).status_code == 403


def test_the_page_script_posts_the_code_with_the_header_and_never_holds_the_token(handovers):
    code = handovers.issue(TOKEN, HOURS_12)
    script = take_script(code, "/enclave")

    assert TOKEN not in script
    assert f'fetch("/enclave{TAKE_PATH}"' in script
    assert f'"{HEADER}": "1"' in script and f'"body": "{code}"' in script
    assert re.fullmatch(r"<script>[^<]*</script>", drop_script("/"))  # one script, nothing that could close it early
