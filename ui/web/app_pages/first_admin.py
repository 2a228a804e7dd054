"""Create the first admin, while there is no account at all. Only on the machine itself: an app that listens beyond
loopback could be reached by anyone before its admin, so there the page says how to create one on the server. With
single sign-on set up, a member of the provider's admin group can sign in instead, and is the first admin."""

from __future__ import annotations

import streamlit as st

from assistant import AccountError, AssistantError
from ui.web.identity import sign_in
from ui.web.session import get_enclave, listen_address, sentence
from ui.settings import is_loopback
from ui.web.single_sign_on import offer_single_sign_on

# This page's st.session_state keys (the passwords' are emptied as soon as they are read):
NAME_KEY = "first-admin.name"
PASSWORD_KEY = "first-admin.password"
AGAIN_KEY = "first-admin.password-again"
ERROR_KEY = "first-admin.error"  # str: why the last attempt was refused, shown once

COMMAND = "enclave users create-admin NAME --password-stdin"


def create() -> None:
    name = st.session_state.get(NAME_KEY, "").strip()
    password, again = st.session_state.get(PASSWORD_KEY, ""), st.session_state.get(AGAIN_KEY, "")
    st.session_state[PASSWORD_KEY] = st.session_state[AGAIN_KEY] = ""
    if password != again:
        st.session_state[ERROR_KEY] = "The two passwords differ: type the same one twice."
        return
    accounts = get_enclave().accounts
    try:
        accounts.create_first_admin(name, password)
        sign_in(accounts, name, password)
    except AccountError as exc:  # a name or password the accounts refuse, or someone else was first
        st.session_state[ERROR_KEY] = sentence(str(exc), name)
    except AssistantError as exc:
        st.session_state[ERROR_KEY] = f"Cannot create the account right now: {exc}"


st.title("Create the first admin")
if get_enclave().accounts.list_users():  # someone was first, in another tab: this page is no longer open
    st.info("The first admin exists already: reload the page to sign in.", icon=":material/info:")
    st.stop()
offer_single_sign_on("A member of the identity provider's admin group who signs in above is the first admin. Or:")
if not is_loopback(listen_address()):
    st.info("Enclave has no account yet. This app can be reached from other machines, so the first admin is created "
            "on the server itself, where Enclave runs (the password is read from the terminal, never shown):",
            icon=":material/terminal:")
    st.code(COMMAND, language="bash")
    st.caption("In the containers: `docker compose exec app " + COMMAND + "`. Then reload this page and sign in.")
    st.stop()

st.write("Enclave has no account yet. The first one is an admin: it adds documents and the other accounts.")
if error := st.session_state.pop(ERROR_KEY, None):
    st.error(error, icon=":material/error:")
with st.form("first-admin"):
    st.text_input("Name", key=NAME_KEY, autocomplete="username", help="A login name or an e-mail address.")
    st.text_input("Password", key=PASSWORD_KEY, type="password", autocomplete="new-password",
                  help="At least 8 characters, not the name. A few unrelated words make a strong one.")
    st.text_input("Password again", key=AGAIN_KEY, type="password", autocomplete="new-password")
    st.form_submit_button("Create and sign in", key="first-admin-submit", type="primary", on_click=create)
