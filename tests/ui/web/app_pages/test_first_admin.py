"""The first-admin page with AppTest: while no account exists, the app opens on it; on loopback it creates the
first admin and signs them in, beyond loopback it only says how to create one on the server."""

from __future__ import annotations

import pytest
from streamlit_apps import PASSWORD, open_app, submit

pytestmark = pytest.mark.usefixtures("keep_main_module")

COMMAND = "enclave users create-admin NAME --password-stdin"


def create(at, name: str, password: str, again: str):
    return submit(at, "first-admin-submit", **{"first-admin.name": name, "first-admin.password": password,
                                                "first-admin.password-again": again})


def test_without_accounts_the_app_opens_on_the_first_admin_form_on_loopback(accounts):
    at = open_app()

    assert at.title[0].value == "Create the first admin"
    assert [t.label for t in at.text_input] == ["Name", "Password", "Password again"]
    assert not at.chat_input


def test_creating_the_first_admin_signs_them_in_as_an_admin(accounts):
    at = create(open_app(), "root", PASSWORD, PASSWORD)

    assert at.title[0].value == "Ask your documents"
    assert at.sidebar.caption[0].value == "Signed in as **root** (admin)"
    [root] = accounts.list_users()
    assert (root.name, root.role, root.has_password) == ("root", "admin", True)
    assert accounts.sign_in("root", PASSWORD).is_admin
    assert accounts.user_for_session(at.session_state["session_token"]).name == "root"


def test_two_different_passwords_create_nothing(accounts):
    at = create(open_app(), "root", PASSWORD, PASSWORD + "!")

    assert at.error[0].value == "The two passwords differ: type the same one twice."
    assert accounts.list_users() == []
    assert at.text_input(key="first-admin.password").value == ""


def test_a_password_the_policy_refuses_is_explained_and_creates_nothing(accounts):
    at = create(open_app(), "root", "short", "short")

    assert at.error[0].value.startswith("A password needs at least 8 characters")
    assert accounts.list_users() == []


def test_beyond_loopback_the_page_shows_the_command_instead_of_a_form(accounts, beyond_loopback):
    at = open_app()

    assert at.title[0].value == "Create the first admin"
    assert not at.text_input
    assert at.code[0].value == COMMAND
    assert accounts.list_users() == []


def test_once_an_account_exists_the_app_opens_on_the_sign_in_page_instead(accounts):
    accounts.create_first_admin("root", PASSWORD)

    assert open_app().title[0].value == "Sign in to Enclave"
