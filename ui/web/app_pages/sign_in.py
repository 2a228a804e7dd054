"""Sign in: through the identity provider when the app's secrets set up single sign-on, or with a name and a
password, checked by the accounts. Any wrong pair gets the same message, whether the name exists or not; after too
many failures for a name, how long to wait."""

from __future__ import annotations

import streamlit as st

from assistant import AssistantError, SignInRefused, SignInThrottled
from ui.web.identity import sign_in
from ui.web.session import get_enclave
from ui.web.single_sign_on import offer_single_sign_on

# This page's st.session_state keys (the password's is emptied as soon as it is read: it is never kept):
NAME_KEY = "sign-in.name"
PASSWORD_KEY = "sign-in.password"
ERROR_KEY = "sign-in.error"  # str: why the last attempt was refused, shown once

# One message for an unknown name, a wrong password and an account without one: which it was is not for the asker.
REFUSED = "Wrong name or password: check both and try again (an admin can set a new password)."


def submit() -> None:
    name, password = st.session_state.get(NAME_KEY, "").strip(), st.session_state.get(PASSWORD_KEY, "")
    st.session_state[PASSWORD_KEY] = ""
    if not name or not password:
        st.session_state[ERROR_KEY] = "Type your name and your password."
        return
    try:
        sign_in(get_enclave().accounts, name, password)  # the next run, which follows at once, shows the app
    except SignInThrottled as exc:
        st.session_state[ERROR_KEY] = f"Too many failed sign-ins for this name: try again in {exc.retry_after} s."
    except SignInRefused:
        st.session_state[ERROR_KEY] = REFUSED
    except AssistantError as exc:
        st.session_state[ERROR_KEY] = f"Cannot sign in right now: {exc}"


st.title("Sign in to Enclave")
offer_single_sign_on("Or, for an account with a password:")
if error := st.session_state.pop(ERROR_KEY, None):
    st.error(error, icon=":material/error:")
with st.form("sign-in"):
    st.text_input("Name", key=NAME_KEY, autocomplete="username")
    st.text_input("Password", key=PASSWORD_KEY, type="password", autocomplete="current-password")
    st.form_submit_button("Sign in", key="sign-in-submit", type="primary", icon=":material/login:", on_click=submit)
st.caption("No account yet, or forgot your password? Ask an admin.")
