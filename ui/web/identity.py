"""Who is asking, on every run of the app: the person signed in to this browser session, checked against their
server-side session each time, so signing out in another tab, a removed account or an expired session ends it at
once and a changed role or group applies to the next click. Signing in (with a password, or through single sign-on:
ui/web/single_sign_on.py) and out, and the local admin everyone is when ENCLAVE_AUTH=none.

A session's token is kept in st.session_state for the tab that signed in, and in an HttpOnly cookie for reloads and
other tabs (ui/web/session_cookie.py): a new browser session reads it from st.context.cookies, sent with the WebSocket's
first request.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from assistant import Accounts, SingleSignOnRefused, User
from ui.web.session_cookie import COOKIE_NAME, HANDOVERS, app_base_path, drop_script, take_script
from ui.web.single_sign_on import REFUSED_KEY, returned_claims, sign_out_of_provider
from ui.settings import UISettings

# What signing in keeps in st.session_state, by key:
USER_KEY = "user"  # User: who is asking, checked at the start of this run
_TOKEN_KEY = "session_token"  # str: the token of the session this tab signed in to, or found in the cookie
_HANDOVER_KEY = "cookie_handover"  # str: a one-time code the browser trades for the cookie, on the next run
_DROP_COOKIE_KEY = "drop_cookie"  # True: the browser is to clear the cookie, on the next run
_SPENT_COOKIE_KEY = "spent_cookie"  # str: the cookie's token, already ended or signed out of: never tried again here


def who_is_asking(settings: UISettings, accounts: Accounts) -> User | None:
    """The user of this run, or None when nobody is signed in. Called first thing on every run (show_app); the pages
    then read it with current_user(). A session that ended since the last run takes the tab back to a blank state, so
    the next person to sign in here sees nothing of the last one's conversation."""
    user = local_admin(settings) if settings.auth == "none" else _session_user(accounts)
    if user is None and st.session_state.get(USER_KEY) is not None:
        _start_over()
    if user is None and settings.auth == "password":
        user = _provider_user(accounts)  # back from signing in at the identity provider
    if user is None:
        return None
    st.session_state[USER_KEY] = user
    return user


def local_admin(settings: UISettings) -> User:
    """ENCLAVE_AUTH=none: everyone is this one admin (a laptop used by one person)."""
    return User(name=settings.default_user.strip() or "local", groups=("everyone",), is_admin=True)


def sign_in(accounts: Accounts, name: str, password: str) -> User:
    """Check the password (SignInRefused, SignInThrottled) and start a session for this tab; the browser gets the
    cookie on the next run (show_cookie_scripts)."""
    user = accounts.sign_in(name, password)
    _start_session(accounts, user)
    return user


def sign_out(accounts: Accounts) -> None:
    """End the session on the server (the tab's and the cookie's, if they differ), forget everything this tab held,
    and have the browser clear the cookie on the next run."""
    cookie = st.context.cookies.get(COOKIE_NAME)
    try:
        for token in {st.session_state.get(_TOKEN_KEY), cookie} - {None}:
            accounts.end_session(str(token))
    finally:
        _start_over(drop_cookie=True)  # signed out here even when the database failed to record it
        if cookie:
            st.session_state[_SPENT_COOKIE_KEY] = cookie
        # Also at the identity provider, when signed in there through this browser. The browser leaves for its page
        # before the cookie is cleared: what stays behind is the token of a session that has ended, which signs
        # nobody in (a new browser session tries it once, and forgets it).
        sign_out_of_provider()


def show_cookie_scripts() -> None:
    """The JavaScript this run owes the browser, once: trade the code for the cookie after signing in, clear the cookie
    after signing out. Invisible; runs when drawn."""
    if code := st.session_state.pop(_HANDOVER_KEY, None):
        st.html(take_script(code, app_base_path()), unsafe_allow_javascript=True)
    if st.session_state.pop(_DROP_COOKIE_KEY, False):
        st.html(drop_script(app_base_path()), unsafe_allow_javascript=True)


def current_user() -> User:
    """Who is asking in this run (checked by who_is_asking when the run started). A page that runs without it stops."""
    user = st.session_state.get(USER_KEY)
    if not isinstance(user, User):
        _stop_with("You are not signed in: reload the page to sign in.")
    return user


def require_admin(what: str) -> User:
    """The current user if an admin; otherwise the page says so and stops. Every admin page calls it itself, whatever
    the navigation shows: a member can type a page's address."""
    user = current_user()
    if not user.is_admin:
        _stop_with(f"Only admins can {what}.")
    return user


def _session_user(accounts: Accounts) -> User | None:
    token = st.session_state.get(_TOKEN_KEY) or _cookie_token()
    if token is None:
        return None
    user = accounts.user_for_session(token)
    if user is None:  # signed out elsewhere, expired, or the account was removed
        # The cookie is left as it is: another tab may have signed in since and put a live one in its place. A stale
        # one is harmless, and tried once per browser session.
        st.session_state.pop(_TOKEN_KEY, None)
        if token == st.context.cookies.get(COOKIE_NAME):
            st.session_state[_SPENT_COOKIE_KEY] = token
        return None
    st.session_state[_TOKEN_KEY] = token
    return user


def _provider_user(accounts: Accounts) -> User | None:
    """The person the identity provider has just signed in, with a session of their own; None when nobody came back
    from it, or when the accounts refused them (why is kept for the sign-in page)."""
    claims = returned_claims()
    if claims is None:
        return None
    try:
        user = accounts.sign_in_with_sso(claims)
    except SingleSignOnRefused as exc:
        st.session_state[REFUSED_KEY] = f"Single sign-on worked, but Enclave did not let you in: {exc}."
        return None
    _start_session(accounts, user)
    return user


def _start_session(accounts: Accounts, user: User) -> None:
    """A session for this tab; the browser gets the cookie on the next run (show_cookie_scripts)."""
    token = accounts.start_session(user)
    _start_over()
    st.session_state[_TOKEN_KEY] = token
    st.session_state[USER_KEY] = user
    st.session_state[_HANDOVER_KEY] = HANDOVERS.issue(token, int(accounts.session_lifetime.total_seconds()))


def _cookie_token() -> str | None:
    token = st.context.cookies.get(COOKIE_NAME)
    if not token or token == st.session_state.get(_SPENT_COOKIE_KEY):
        return None
    return str(token)


def _start_over(drop_cookie: bool = False) -> None:
    """Forget everything this tab holds (the conversation, the forms, the last user), but not which cookie is spent."""
    spent = st.session_state.get(_SPENT_COOKIE_KEY)
    st.session_state.clear()
    if spent:
        st.session_state[_SPENT_COOKIE_KEY] = spent
    if drop_cookie:
        st.session_state[_DROP_COOKIE_KEY] = True


def _stop_with(message: str) -> NoReturn:
    st.error(message, icon=":material/lock:")
    st.stop()
