"""The Feedback page with AppTest on a real Enclave and its database: admins read every rating and download them as
CSV; a member is refused by the page itself, whatever the navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit_apps import TIMEOUT, admin, member, signed_in_app

from assistant import Answer, Citation, load_assistant_settings, open_conversations
from ingest import load_settings

FEEDBACK = "app_pages/feedback.py"
PAGE = Path(__file__).resolve().parents[4] / "ui" / "web" / "app_pages" / "feedback.py"

pytestmark = pytest.mark.usefixtures("keep_main_module")


@pytest.fixture
def rated(accounts):
    """mia rated two answers: one up, one down with a comment."""
    mia = member(accounts, "mia")
    store = open_conversations(load_settings(), load_assistant_settings())
    try:
        conversation_id = store.start(mia, "How many bottles?").id
        memo = Citation(1, "memo.pdf", 1, "memo-chunk", "20,000 bottles", document_id="memo")
        for question in ("How many bottles?", "and in May?"):
            store.add_turn(mia, conversation_id, question, Answer("20,000 [1].", [memo]), model="smollm2")
        store.record_feedback(mia, conversation_id, 1, "up")
        store.record_feedback(mia, conversation_id, 2, "down", "May is missing")
    finally:
        store.close()
    return conversation_id


def test_an_admin_reads_every_rating_and_downloads_them_as_csv(accounts, rated):
    admin(accounts, "root")
    at = signed_in_app(accounts, "root", page=FEEDBACK)

    assert at.title[0].value == "Feedback"
    assert at.caption[0].value == "2 ratings: 1 up, 1 down."
    table = at.dataframe[0].value
    assert list(table["Question"]) == ["and in May?", "How many bottles?"]  # the newest first
    assert list(table["Comment"]) == ["May is missing", ""]
    assert list(table["User"]) == ["mia", "mia"] and list(table["Cited chunks"]) == ["memo-chunk", "memo-chunk"]
    [download] = at.get("download_button")
    assert download.proto.label == "Download as CSV"


def test_the_page_refuses_a_member_by_itself_whatever_the_navigation(accounts, rated):
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.session_state["user"] = accounts.get("mia").user()  # as who_is_asking leaves it for the run
    at.run()

    assert [e.value for e in at.error] == ["Only admins can read the feedback on answers."]
    assert not at.title and not at.dataframe


def test_a_member_is_not_offered_the_page(accounts, rated):
    at = signed_in_app(accounts, "mia", page=FEEDBACK)

    assert at.title[0].value == "Ask your documents"
    assert not at.dataframe
