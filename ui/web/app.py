"""Enclave's Streamlit entry point (served by ui/web/server.py): page set-up, who is asking, and the pages they may open."""

from pathlib import Path

from ingest import enforce_offline

enforce_offline()  # before anything else can load a model or phone home

import streamlit as st  # noqa: E402

from assistant import Accounts, AssistantError, User  # noqa: E402
from ui.errors import UnsafeSettings  # noqa: E402
from ui.web.identity import show_cookie_scripts, sign_out, who_is_asking  # noqa: E402
from ui.web.session import app_settings, get_enclave, listen_address  # noqa: E402
from ui.settings import check_auth  # noqa: E402

# A file served by the app itself: a `:material/…:` page icon makes every browser fetch the favicon from
# fonts.gstatic.com, telling Google that someone opened Enclave (tests/test_egress.py watches the browser too).
FAVICON = Path(__file__).with_name("assets") / "favicon.svg"

SIGN_OUT_ERROR_KEY = "sign_out_error"  # str: why the server could not record the last sign-out, shown once


# The page files live in app_pages/, not pages/: a folder named `pages` beside the entry point switches Streamlit
# to its older folder-based navigation, where opening a page's URL first runs that page alone, outside show_app().


def show_app() -> None:
    st.set_page_config(page_title="Enclave", page_icon=str(FAVICON))
    settings = app_settings()
    try:
        check_auth(settings.auth, listen_address())
    except UnsafeSettings as exc:
        st.error(f"Enclave will not start: {exc}", icon=":material/error:")
        st.stop()
    enclave = get_enclave()  # a start-up problem stops here, on whichever page was asked for
    try:
        user = who_is_asking(settings, enclave.accounts)
        pages = [door(enclave.accounts)] if user is None else pages_for(user)
    except AssistantError as exc:  # the accounts' database is unreachable: nobody can be let in
        st.error(f"Cannot check who is signed in: {exc}", icon=":material/error:")
        st.stop()

    page = st.navigation(pages, position="hidden" if user is None else "sidebar")
    if user is not None:
        show_sidebar(user, enclave.accounts, can_sign_out=settings.auth == "password")
    show_cookie_scripts()
    if error := st.session_state.pop(SIGN_OUT_ERROR_KEY, None):
        st.warning(error, icon=":material/warning:")
    wide = page.title in ("Documents", "Users", "Audit", "Feedback")  # tables need the width
    st.set_page_config(layout="wide" if wide else "centered")
    page.run()


def door(accounts: Accounts) -> st.Page:
    """The one page someone not signed in may open: sign-in, or creating the first admin while there is no account."""
    if accounts.list_users():
        return st.Page("app_pages/sign_in.py", title="Sign in", icon=":material/login:", default=True)
    return st.Page("app_pages/first_admin.py", title="Create the first admin", icon=":material/person_add:",
                   default=True)


def pages_for(user: User) -> list[st.Page]:
    """Members ask; admins also manage documents and accounts. Each admin page checks the role again itself."""
    ask = st.Page("app_pages/chat.py", title="Ask", icon=":material/chat:", default=True)
    if not user.is_admin:
        return [ask]
    return [ask, st.Page("app_pages/documents.py", title="Documents", icon=":material/folder_open:"),
            st.Page("app_pages/users.py", title="Users", icon=":material/group:"),
            st.Page("app_pages/audit.py", title="Audit", icon=":material/policy:"),
            st.Page("app_pages/feedback.py", title="Feedback", icon=":material/thumbs_up_down:")]


def show_sidebar(user: User, accounts: Accounts, can_sign_out: bool) -> None:
    with st.sidebar:
        # A name is shown as typed by whoever created the account: as text, never as markdown.
        st.caption(f"Signed in as **{escape_markdown(user.name)}**" + (" (admin)" if user.is_admin else ""))
        if can_sign_out:
            st.button("Sign out", key="sign-out", icon=":material/logout:", on_click=sign_out_clicked,
                      args=(accounts,))


def sign_out_clicked(accounts: Accounts) -> None:
    try:
        sign_out(accounts)
    except AssistantError as exc:
        st.session_state[SIGN_OUT_ERROR_KEY] = (f"Signed out of this page, but the server could not end the session "
                                                f"({exc}): close the browser to be sure.")


def escape_markdown(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!<>|~:$" else c for c in text)


# Streamlit runs this file as __main__. Ingestion's parse workers are spawned processes, and spawn re-runs the
# parent's __main__ file under the name __mp_main__: without this guard every worker would load the models
# and open the store.
if __name__ == "__main__":
    show_app()
