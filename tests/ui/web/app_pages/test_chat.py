"""The Ask page's saved conversations with AppTest, signed in on a real Enclave (a copy of the session's ingested data
folder, the real test LLM server): a conversation is listed in the sidebar of a new tab (a reload), reopened with its
sources and continued with its history; another user sees none of it; answers are rated; renamed and deleted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
from streamlit.testing.v1 import AppTest
from streamlit_apps import data_dir_accounts, member, signed_in_app

from assistant import Accounts, Answer, AnswerStream, Citation, Conversations, User, load_assistant_settings
from assistant import open_conversations
from ingest import load_settings
from ui.web.session import ChatTurn, conversation_turns

QUESTION = "How many bottles of water were delivered?"
FOLLOW_UP = "and how many in May?"
MEMO = Citation(1, "memo-supply-delivery.pdf", 1, "memo-chunk", "20,000 bottles of water", document_id="memo")

pytestmark = pytest.mark.usefixtures("keep_main_module", "on_loopback")


@pytest.fixture
def data_dir(ingested_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_enclave: None,
             llm_server) -> Path:
    """A private copy of the ingested data folder (conversations are written to it), sign-in required, the live LLM
    with short answers, and an Enclave of the test's own."""
    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    monkeypatch.setenv("ENCLAVE_DATA_DIR", str(data))
    monkeypatch.setenv("ENCLAVE_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ENCLAVE_LLM_MAX_TOKENS", "64")
    monkeypatch.delenv("ENCLAVE_AUTH", raising=False)
    return data


@pytest.fixture
def accounts(data_dir: Path) -> Iterator[Accounts]:
    with data_dir_accounts() as opened:
        yield opened


@pytest.fixture
def store(data_dir: Path) -> Iterator[Conversations]:
    """The conversations of the data folder, opened beside the app's, as another process would."""
    opened = open_conversations(load_settings(), load_assistant_settings())
    yield opened
    opened.close()


def run(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at: AppTest, question: str) -> AppTest:
    return run(at.chat_input[0].set_value(question).run())


def listed(at: AppTest) -> dict[str, str]:
    """The conversations in the sidebar: id → label."""
    return {b.key.removeprefix("conversation-"): b.label for b in at.sidebar.button
            if (b.key or "").startswith("conversation-")}


def kept(store: Conversations, user: User) -> str:
    """A conversation of `user` with one answer, kept without the LLM."""
    conversation_id = store.start(user, QUESTION).id
    store.add_turn(user, conversation_id, QUESTION, Answer("20,000 bottles [1].", [MEMO]), model="smollm2")
    return conversation_id


def test_a_conversation_is_reopened_after_a_reload_and_continues_with_its_history(accounts, store):
    alice = member(accounts, "alice")
    live = ask(signed_in_app(accounts, "alice"), QUESTION)
    [conversation_id] = listed(live)
    live_turns = conversation_turns(live.session_state["chat"])

    at = signed_in_app(accounts, "alice")  # a new tab (a reload): nothing of the first in its session
    assert not at.chat_message
    assert listed(at)[conversation_id].startswith(QUESTION)
    run(at.sidebar.button(key=f"conversation-{conversation_id}").click().run())

    user_turn, answer_turn = at.chat_message
    assert user_turn.markdown[0].value == QUESTION
    assert answer_turn.markdown[0].value == live.chat_message[1].markdown[0].value
    assert [e.label for e in answer_turn.expander] == [e.label for e in live.chat_message[1].expander]  # its sources
    assert conversation_turns(at.session_state["chat"]) == live_turns  # the history a live session would read

    ask(at, FOLLOW_UP)

    turns = store.open(alice, conversation_id).turns
    assert [t.question for t in turns] == [QUESTION, FOLLOW_UP]
    assert turns[1].answer.query != FOLLOW_UP  # read with the first question: rewritten to stand alone
    assert len(at.chat_message) == 4 and list(listed(at)) == [conversation_id]


def test_another_user_sees_none_of_a_conversation_and_cannot_add_to_it(accounts, store):
    alice, bob = member(accounts, "alice"), member(accounts, "bob")
    alices = kept(store, alice)

    at = signed_in_app(accounts, "bob")
    assert listed(at) == {}
    # Even with alice's id in bob's session, an answer bob gets is kept in a conversation of his own.
    stream = AnswerStream([], iter(["Twenty thousand"]), lambda raw, reasoning, stopped: Answer(raw, stopped=stopped))
    next(iter(stream))
    at.session_state["chat"] = [ChatTurn("user", "How many bottles?")]
    at.session_state["conversation"] = alices
    at.session_state["pending_answer"] = stream
    run(at.run())

    [bobs] = store.list_for(bob)
    assert bobs.id != alices and at.session_state["conversation"] == bobs.id
    assert [t.question for t in store.open(alice, alices).turns] == [QUESTION]
    assert list(listed(at)) == [bobs.id]


def test_an_answer_is_rated_then_commented_and_the_admins_get_both(accounts, store):
    alice = member(accounts, "alice")
    conversation_id = kept(store, alice)
    at = signed_in_app(accounts, "alice")
    run(at.sidebar.button(key=f"conversation-{conversation_id}").click().run())

    run(at.feedback(key=f"rating-{conversation_id}-1").set_value(0).run())  # thumbs down
    [rating] = store.list_feedback(User("root", is_admin=True))
    assert (rating.user, rating.rating, rating.comment, rating.chunk_ids) == ("alice", "down", "", ("memo-chunk",))

    at.text_input(key=f"comment-{conversation_id}-1").input("May is missing")
    run(at.button(key=f"send-comment-{conversation_id}-1").click().run())

    [rating] = store.list_feedback(User("root", is_admin=True))
    assert (rating.rating, rating.comment, rating.question) == ("down", "May is missing", QUESTION)
    assert at.success[0].value == "Thank you: your feedback was sent to the admins."


def test_a_reopened_conversation_shows_the_rating_given_to_each_answer(accounts, store):
    alice = member(accounts, "alice")
    conversation_id = kept(store, alice)
    store.record_feedback(alice, conversation_id, 1, "down")

    at = signed_in_app(accounts, "alice")  # a new session: nothing of the rating in its state
    run(at.sidebar.button(key=f"conversation-{conversation_id}").click().run())
    assert at.feedback(key=f"rating-{conversation_id}-1").value == 0  # thumbs down, as given
    assert at.text_input(key=f"comment-{conversation_id}-1")  # the comment field of a rated answer

    store.record_feedback(alice, conversation_id, 1, "up")
    fresh = signed_in_app(accounts, "alice")
    run(fresh.sidebar.button(key=f"conversation-{conversation_id}").click().run())
    assert fresh.feedback(key=f"rating-{conversation_id}-1").value == 1


def test_the_open_conversation_is_renamed_then_deleted_from_the_sidebar(accounts, store):
    alice = member(accounts, "alice")
    conversation_id = kept(store, alice)
    at = signed_in_app(accounts, "alice")
    run(at.sidebar.button(key=f"conversation-{conversation_id}").click().run())

    at.sidebar.text_input(key=f"title-{conversation_id}").input("Water *deliveries*")
    run(at.sidebar.button(key="rename-conversation").click().run())
    assert listed(at)[conversation_id].startswith("Water \\*deliveries\\*")  # shown as typed, not as markdown
    assert store.list_for(alice)[0].title == "Water *deliveries*"

    run(at.sidebar.button(key="delete-conversation").click().run())
    run(at.sidebar.button(key="delete-conversation-confirm").click().run())

    assert store.list_for(alice) == [] and listed(at) == {}
    assert not at.chat_message and "conversation" not in at.session_state


def test_new_conversation_starts_an_empty_chat_and_keeps_the_saved_one(accounts, store):
    alice = member(accounts, "alice")
    conversation_id = kept(store, alice)
    at = signed_in_app(accounts, "alice")
    run(at.sidebar.button(key=f"conversation-{conversation_id}").click().run())

    run(at.sidebar.button(key="new-conversation").click().run())

    assert not at.chat_message and "conversation" not in at.session_state
    assert list(listed(at)) == [conversation_id]
    assert "new-conversation" not in [b.key for b in at.sidebar.button]  # the chat is a new one already
