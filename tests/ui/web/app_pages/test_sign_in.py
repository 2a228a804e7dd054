"""The sign-in page with AppTest, on a real Enclave and its accounts: the right password opens the app and starts a
session; a wrong one, or an unknown name, gets one message; too many failures say how long to wait."""

from __future__ import annotations

import re

import pytest
from streamlit_apps import PASSWORD, member, open_app, submit

from ui.web.session_cookie import HANDOVERS, TAKE_PATH

pytestmark = pytest.mark.usefixtures("keep_main_module")


def sign_in(at, name: str, password: str):
    return submit(at, "sign-in-submit", **{"sign-in.name": name, "sign-in.password": password})


def test_with_accounts_the_app_opens_on_the_sign_in_page_and_nothing_else(accounts):
    member(accounts)
    at = open_app()

    assert at.title[0].value == "Sign in to Enclave"
    assert not at.chat_input
    assert "user" not in at.session_state


def test_the_right_password_opens_the_app_as_that_user_with_a_session(accounts):
    member(accounts, "mia")
    at = sign_in(open_app(), "mia", PASSWORD)

    assert at.title[0].value == "Ask your documents"
    assert at.sidebar.caption[0].value == "Signed in as **mia**"
    token = at.session_state["session_token"]
    assert accounts.user_for_session(token).name == "mia"  # the server-side session is the truth
    assert all(value != PASSWORD for value in at.session_state.values())  # the password is not kept


def test_signing_in_hands_the_browser_a_one_time_code_for_the_cookie_not_the_token(accounts):
    member(accounts, "mia")
    at = sign_in(open_app(), "mia", PASSWORD)

    [script] = [h.proto.body for h in at.get("html")]
    token = at.session_state["session_token"]
    assert TAKE_PATH in script and token not in script
    code = re.search(r'"body": "([^"]+)"', script).group(1)
    assert HANDOVERS.redeem(code).token == token
    at.run()
    assert not at.get("html")  # handed over once


def test_a_wrong_password_and_an_unknown_name_get_the_same_message(accounts):
    member(accounts, "mia")
    wrong_password = sign_in(open_app(), "mia", "not the password")
    unknown_name = sign_in(open_app(), "nobody", PASSWORD)

    assert [e.value for e in wrong_password.error] == [e.value for e in unknown_name.error]
    assert wrong_password.error[0].value.startswith("Wrong name or password")
    for at in (wrong_password, unknown_name):
        assert at.title[0].value == "Sign in to Enclave"
        assert "session_token" not in at.session_state
        assert at.text_input(key="sign-in.password").value == ""  # emptied, never kept


def test_after_too_many_failures_the_page_says_how_long_to_wait_even_for_the_right_password(accounts):
    from assistant import SignInRefused

    member(accounts, "mia")
    for _ in range(5):  # ENCLAVE_SIGN_IN_ATTEMPTS' default
        with pytest.raises(SignInRefused):
            accounts.sign_in("mia", "a guess at the password")
    at = sign_in(open_app(), "mia", PASSWORD)

    [error] = at.error
    assert re.fullmatch(r"Too many failed sign-ins for this name: try again in \d+ s\.", error.value), error.value
    assert at.title[0].value == "Sign in to Enclave"


def test_a_single_sign_on_set_up_that_cannot_work_is_named_on_the_page_instead_of_its_button(accounts):
    from streamlit.testing.v1 import AppTest

    from streamlit_apps import APP, TIMEOUT

    member(accounts)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/", "cookie_secret": "short", "client_id": "enclave",
                          "client_secret": "x", "server_metadata_url": "http://127.0.0.1:9/.well-known/x"}
    at.run()

    assert not at.exception
    [problem] = [e.value for e in at.error]
    assert problem.startswith("Single sign-on cannot work: redirect_uri must be the app's address followed by "
                              "/oauth2callback")
    assert "cookie_secret must be at least 32 random characters" in problem
    assert [b.label for b in at.button] == ["Sign in"]  # the password form's, and no single sign-on
    assert at.title[0].value == "Sign in to Enclave"
