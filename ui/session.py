"""What every page needs: the one Enclave of this server process and the signed-in user of this session."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, NoReturn

import streamlit as st

from ui.settings import load_ui_settings
from ui.uploads import BackgroundIngest

from assistant import (
    Answer,
    AnswerStream,
    AssistantError,
    Citation,
    Enclave,
    Sentence,
    User,
    load_assistant_settings,
    open_enclave,
)
from ingest import IngestError, enforce_offline, load_settings

# Everything this app keeps in st.session_state, by key:
_USER_KEY = "user"  # User: who is signed in
_CHAT_KEY = "chat"  # list[ChatTurn]: the conversation on the Ask page
_PENDING_KEY = "pending_answer"  # AnswerStream: the answer being streamed, until it is recorded or stopped


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


def turn_from_answer(answer: Answer) -> ChatTurn:
    return ChatTurn("assistant", answer.text, tuple(answer.citations), sentences=answer.sentences,
                    retrieved=tuple(answer.retrieved), warnings=answer.warnings, reasoning=answer.reasoning,
                    stopped=answer.stopped)


def conversation_turns(history: list[ChatTurn]) -> list[tuple[str, str]]:
    """The (question, answer) pairs of the conversation so far, for a follow-up question."""
    pairs = []
    for asked, answered in zip(history, history[1:]):
        if asked.role == "user" and answered.role == "assistant" and answered.text:
            pairs.append((asked.text, answered.text))
    return pairs


def _close(enclave: Enclave) -> None:
    enclave.close()  # releases the embedded store's lock when the cache is cleared or the server stops


@st.cache_resource(show_spinner="Loading the embedding model and the document store…", on_release=_close)
def _open() -> Enclave:
    """Settings are read here, once per server process; the Enclave is shared by every session."""
    enforce_offline()
    return open_enclave(load_settings(), load_assistant_settings())


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


@st.cache_resource(show_spinner=False)
def write_lock() -> threading.Lock:
    """One ingest or removal at a time across all sessions: they share one store and one registry."""
    return threading.Lock()


def current_user() -> User:
    """The user of this browser session. Until sign-in exists it is one local admin, named by
    ENCLAVE_DEFAULT_USER (default "local"); a login page will set st.session_state["user"] instead."""
    if _USER_KEY not in st.session_state:
        name = load_ui_settings().default_user.strip() or "local"
        st.session_state[_USER_KEY] = User(name=name, groups=("everyone",), is_admin=True)
    user = st.session_state[_USER_KEY]
    if not isinstance(user, User):
        _stop_with("No signed-in user: reload the page.")
    return user


def chat_history() -> list[ChatTurn]:
    """This session's conversation (appended to in place)."""
    return st.session_state.setdefault(_CHAT_KEY, [])


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
