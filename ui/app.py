"""Enclave's Streamlit entry point (`streamlit run ui/app.py`): page set-up, the user, and the pages they may open."""

from pathlib import Path

from ingest import enforce_offline

enforce_offline()  # before anything else can load a model or phone home

import streamlit as st  # noqa: E402

from ui.session import current_user, get_enclave  # noqa: E402


# A file served by the app itself: a `:material/…:` page icon makes every browser fetch the favicon from
# fonts.gstatic.com, telling Google that someone opened Enclave (tests/test_egress.py watches the browser too).
FAVICON = Path(__file__).with_name("assets") / "favicon.svg"


# The page files live in app_pages/, not pages/: a folder named `pages` beside the entry point switches Streamlit
# to its older folder-based navigation, where opening a page's URL first runs that page alone, outside show_app().


def show_app() -> None:
    st.set_page_config(page_title="Enclave", page_icon=str(FAVICON))
    user = current_user()
    get_enclave()  # a start-up problem stops here, on whichever page was asked for

    ask = st.Page("app_pages/chat.py", title="Ask", icon=":material/chat:", default=True)
    documents = st.Page("app_pages/documents.py", title="Documents", icon=":material/folder_open:")
    pages = [ask, documents] if user.is_admin else [ask]

    with st.sidebar:
        st.caption(f"Signed in as **{user.name}**" + (" (admin)" if user.is_admin else ""))

    page = st.navigation(pages)
    st.set_page_config(layout="wide" if page == documents else "centered")  # the document table needs the width
    page.run()


# Streamlit runs this file as __main__. Ingestion's parse workers are spawned processes, and spawn re-runs the
# parent's __main__ file under the name __mp_main__: without this guard every worker would load the models
# and open the store.
if __name__ == "__main__":
    show_app()
