"""Who is asking, through the app with AppTest on a real Enclave and its accounts: the pages each role may open, a
page refusing a member itself, signing out, a session ended elsewhere, and ENCLAVE_AUTH=none."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit_apps import TIMEOUT, admin, member, open_app, signed_in_app

from ui.web.session import ChatTurn
from ui.web.session_cookie import DROP_PATH

pytestmark = pytest.mark.usefixtures("keep_main_module")

PAGES = Path(__file__).resolve().parents[3] / "ui" / "web" / "app_pages"
ASK, DOCUMENTS, USERS, AUDIT = "app_pages/chat.py", "app_pages/documents.py", "app_pages/users.py", "app_pages/audit.py"


def offers(at: AppTest, page: str) -> bool:
    """Whether the navigation of the tab's last run offers the page (AppTest refuses to switch to any other)."""
    try:
        at.switch_page(page)
    except ValueError:
        return False
    return True


def test_a_member_is_offered_ask_only(accounts):
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia")

    assert at.title[0].value == "Ask your documents"
    assert at.sidebar.caption[0].value == "Signed in as **mia**"
    assert [offers(at, page) for page in (ASK, DOCUMENTS, USERS, AUDIT)] == [True, False, False, False]


def test_an_admin_is_offered_ask_documents_users_and_audit(accounts):
    admin(accounts, "root")
    at = signed_in_app(accounts, "root")

    assert at.sidebar.caption[0].value == "Signed in as **root** (admin)"
    assert at.switch_page(DOCUMENTS).run().title[0].value == "Documents"
    assert at.switch_page(USERS).run().title[0].value == "Users"
    assert at.switch_page(AUDIT).run().title[0].value == "Audit"


@pytest.mark.parametrize("page", [DOCUMENTS, USERS, AUDIT])
def test_a_member_opening_an_admin_page_by_its_address_gets_the_ask_page(accounts, page):
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia", page=page)

    assert at.title[0].value == "Ask your documents"
    assert not at.file_uploader and not at.dataframe and not at.download_button


@pytest.mark.parametrize(("page", "refusal"), [
    ("documents.py", "Only admins can add or delete documents."),
    ("users.py", "Only admins can manage accounts."),
    ("audit.py", "Only admins can read the audit trail."),
])
def test_an_admin_page_refuses_a_member_by_itself_whatever_the_navigation(accounts, page, refusal):
    at = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)
    at.session_state["user"] = member(accounts, "mia")  # as who_is_asking leaves it for the run
    at.run()

    assert [e.value for e in at.error] == [refusal]
    assert not at.title and not at.file_uploader and not at.dataframe and not at.download_button


def test_signing_out_ends_the_session_forgets_the_tab_and_has_the_browser_drop_the_cookie(accounts):
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia")
    token = at.session_state["session_token"]
    at.session_state["chat"] = [ChatTurn("user", "What did the memo say?")]

    at.sidebar.button(key="sign-out").click().run()

    assert at.title[0].value == "Sign in to Enclave"
    assert accounts.user_for_session(token) is None
    assert "chat" not in at.session_state and "session_token" not in at.session_state
    [script] = [h.proto.body for h in at.get("html")]
    assert DROP_PATH in script


def test_a_session_ended_elsewhere_sends_the_tab_to_sign_in_at_its_next_run(accounts):
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia")
    at.session_state["chat"] = [ChatTurn("user", "What did the memo say?")]

    accounts.end_session(at.session_state["session_token"])  # signed out in another tab
    at.run()

    assert at.title[0].value == "Sign in to Enclave"
    assert "chat" not in at.session_state  # the next person to sign in here sees nothing of it


def test_a_removed_account_is_signed_out_at_its_next_run(accounts):
    admin(accounts, "root")
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia")

    accounts.remove_user("mia", by="root")
    at.run()

    assert at.title[0].value == "Sign in to Enclave"


def test_a_new_group_applies_at_the_next_run(accounts):
    member(accounts, "mia")
    at = signed_in_app(accounts, "mia")

    accounts.set_groups("mia", ["hr"], by="root")
    at.run()

    assert at.session_state["user"].groups == ("everyone", "hr")


def test_with_auth_none_everyone_is_the_local_admin_without_signing_in(accounts, monkeypatch):
    monkeypatch.setenv("ENCLAVE_AUTH", "none")
    monkeypatch.setenv("ENCLAVE_DEFAULT_USER", "ana")
    at = open_app()

    assert at.title[0].value == "Ask your documents"
    assert at.sidebar.caption[0].value == "Signed in as **ana** (admin)"
    assert not at.sidebar.button  # nothing to sign out of
    assert accounts.list_users() == []  # and no account was needed


def test_auth_none_beyond_loopback_is_refused_on_the_page(accounts, beyond_loopback, monkeypatch):
    monkeypatch.setenv("ENCLAVE_AUTH", "none")
    at = open_app()

    [error] = at.error
    assert "ENCLAVE_AUTH=none" in error.value and "0.0.0.0" in error.value
    assert not at.title and not at.chat_input
