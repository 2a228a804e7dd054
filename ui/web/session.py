"""What every page needs: the one Enclave of this server process, the app's settings and address, and this session's
conversation. Who is asking is ui/web/identity.py's."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Literal, NoReturn

import streamlit as st

from ui.settings import UISettings, load_ui_settings
from ui.web.uploads import BackgroundIngest

from assistant import (
    Answer,
    AnswerStream,
    AssistantError,
    Citation,
    Conversation,
    Enclave,
    Sentence,
    load_assistant_settings,
    open_enclave,
)
from ingest import IngestError, enforce_offline, load_settings

# What this app keeps in st.session_state, by key (signing in keeps a few more: ui/web/identity.py):
_CHAT_KEY = "chat"  # list[ChatTurn]: the conversation on the Ask page
_PENDING_KEY = "pending_answer"  # AnswerStream: the answer being streamed, until it is recorded or stopped
_CONVERSATION_KEY = "conversation"  # str: the id of the saved conversation the chat continues; absent for a new one


@dataclass(frozen=True)
class ChatTurn:
    """One message of the conversation, kept so the page can redraw it on every rerun."""

    role: Literal["user", "assistant"]
    text: str
    citations: tuple[Citation, ...] = ()
    error: str = ""  # set when the assistant could not answer
    sentences: tuple[Sentence, ...] = ()  # the answer's sentences as checked against its sources
    retrieved: tuple[Citation, ...] = ()  # passages the model was given but the answer does not cite
    warnings: tuple[str, ...] = ()
    reasoning: str = ""
    stopped: bool = False
    n: int | None = None  # an answer's number in its saved conversation, once kept (feedback names it)
    rating: str = ""  # the rating given to a kept answer ("up" or "down"), shown selected when it is reopened


def turn_from_answer(answer: Answer) -> ChatTurn:
    return ChatTurn("assistant", answer.text, tuple(answer.citations), sentences=answer.sentences,
                    retrieved=tuple(answer.retrieved), warnings=answer.warnings, reasoning=answer.reasoning,
                    stopped=answer.stopped)


def chat_turns(conversation: Conversation) -> list[ChatTurn]:
    """A saved conversation as the chat shows it: each question, then its answer with its sources and number."""
    turns = []
    for turn in conversation.turns:
        turns += [ChatTurn("user", turn.question), replace(turn_from_answer(turn.answer), n=turn.n, rating=turn.rating)]
    return turns


def conversation_turns(history: list[ChatTurn]) -> list[tuple[str, str]]:
    """The (question, answer) pairs of the conversation so far, for a follow-up question."""
    pairs = []
    for asked, answered in zip(history, history[1:]):
        if asked.role == "user" and answered.role == "assistant" and answered.text:
            pairs.append((asked.text, answered.text))
    return pairs


_opening = threading.Lock()
_enclave: Enclave | None = None  # this server process's, once opened
WRITING = threading.Lock()  # one ingest or removal at a time in this process: pages, and the API beside the app


def process_enclave() -> Enclave:
    """The one Enclave of this server process, opened on first use: by the first page, or by the REST API served
    beside the app (ui/web/api_beside.py), which must share it (one process alone may hold the embedded store).
    Settings are read here, once per server process."""
    global _enclave
    with _opening:
        if _enclave is None:
            enforce_offline()
            _enclave = open_enclave(load_settings(), load_assistant_settings())
        return _enclave


def opened_enclave() -> Enclave | None:
    """This server process's Enclave if it is open, else None: never opens it (the readiness check asks)."""
    return _enclave


def close_process_enclave() -> None:
    """Close it (the embedded store's lock is let go); the next use opens it again."""
    global _enclave
    with _opening:
        if _enclave is not None:
            _enclave.close()
            _enclave = None


def _close(enclave: Enclave) -> None:
    close_process_enclave()  # when the cache is cleared or the server stops


@st.cache_resource(show_spinner="Loading the embedding model and the document store…", on_release=_close)
def _open() -> Enclave:
    """Shared by every session (the cache shows the spinner while it opens)."""
    return process_enclave()


def get_enclave() -> Enclave:
    """The Enclave of this server process. A start-up problem is shown on the page, and the page stops.

    Failures are not cached: the next rerun (or page load) tries again, so fixing a setting or freeing the
    store is enough.
    """
    try:
        return _open()
    except (IngestError, AssistantError) as exc:
        _stop_with(f"Enclave could not start: {exc}")


@st.cache_resource(show_spinner=False)
def background_ingest() -> BackgroundIngest:
    """The one upload batch that may run at a time in this server process, shared by all sessions."""
    return BackgroundIngest()


def write_lock() -> threading.Lock:
    """One ingest or removal at a time across all sessions, and the API beside the app: they share one store and one
    registry."""
    return WRITING


def app_settings() -> UISettings:
    """The app's own settings (who may sign in, its address), read on each run: a few environment variables, where
    the Enclave's settings are read once per process. A bad value is shown on the page, and the page stops."""
    try:
        return load_ui_settings()
    except IngestError as exc:
        _stop_with(f"Enclave could not start: {exc}")


def sentence(message: str, name: str = "") -> str:
    """An error's message (written to follow "error: " on a terminal) as a sentence on a page. A message that starts
    with the account's `name`, or a quote, keeps its first letter: a name is shown as it is."""
    keep = message.startswith(("'", '"')) or bool(name) and message.startswith(name)
    return (message if keep else message[:1].upper() + message[1:]) + ("" if message.endswith((".", "?", "!")) else ".")


def listen_address() -> str:
    """The address this server listens on: ENCLAVE_APP_HOST, which `enclave app` hands to Streamlit. Empty when
    Streamlit was started without one, and then it listens on every interface."""
    return str(st.get_option("server.address") or "")


def chat_history() -> list[ChatTurn]:
    """This session's conversation (appended to in place)."""
    return st.session_state.setdefault(_CHAT_KEY, [])


def current_conversation() -> str | None:
    """The id of the saved conversation this session's chat continues; None until its first answer is kept."""
    return st.session_state.get(_CONVERSATION_KEY)


def set_current_conversation(conversation_id: str | None) -> None:
    if conversation_id is None:
        st.session_state.pop(_CONVERSATION_KEY, None)
    else:
        st.session_state[_CONVERSATION_KEY] = conversation_id


def pending_answer() -> AnswerStream | None:
    return st.session_state.get(_PENDING_KEY)


def set_pending_answer(stream: AnswerStream | None) -> None:
    if stream is None:
        st.session_state.pop(_PENDING_KEY, None)
    else:
        st.session_state[_PENDING_KEY] = stream


def _stop_with(message: str) -> NoReturn:
    st.error(message, icon=":material/error:")
    st.stop()
