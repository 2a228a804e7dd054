"""Ask: questions answered from the documents the user may see, streamed as they are written, with their sources."""

from __future__ import annotations

from itertools import chain
from typing import Sequence

import streamlit as st

from assistant import AssistantError, Citation
from ui.session import ChatTurn, chat_history, current_user, get_enclave


def source_label(citation: Citation) -> str:
    page = f" — page {citation.page}" if citation.page is not None else ""
    return f"[{citation.n}] {citation.document}{page}"


def show_sources(citations: Sequence[Citation]) -> None:
    for citation in citations:
        with st.expander(source_label(citation), icon=":material/description:"):
            if citation.section:
                st.caption(" › ".join(citation.section))
            st.text(citation.text)  # plain text: a passage's '#' or '*' must not turn into markdown


def show_error(message: str) -> None:
    st.error(message[:1].upper() + message[1:], icon=":material/error:")


def show_turn(turn: ChatTurn) -> None:
    with st.chat_message(turn.role):
        if turn.text:
            st.markdown(turn.text)
        if turn.error:
            show_error(turn.error)
        show_sources(turn.citations)


def answer(question: str) -> ChatTurn:
    """Stream the answer into the current chat message; return it as a turn for the history."""
    try:
        with st.spinner("Searching your documents…"):
            stream = get_enclave().assistant.ask(question, current_user())
        chunks = iter(stream)
        if stream.passages:
            # The model reads the whole prompt before its first word: on a CPU that can take half a minute.
            n = len(stream.passages)
            with st.spinner(f"Reading {n} passage{'' if n == 1 else 's'}…", show_time=True):
                first = next(chunks, "")
            chunks = chain([first], chunks)
        st.write_stream(chunks)
    except AssistantError as exc:
        show_error(str(exc))
        return ChatTurn("assistant", "", error=str(exc))
    result = stream.answer
    assert result is not None  # set once the stream is read to its end
    show_sources(result.citations)
    return ChatTurn("assistant", result.text, tuple(result.citations))


history = chat_history()
st.title("Ask your documents")
if not history and not get_enclave().ingestor.documents():
    st.info("No documents have been added yet: add some on the Documents page, then ask here.")
for turn in history:
    show_turn(turn)

if question := st.chat_input("Ask a question about your documents"):
    history.append(ChatTurn("user", question))
    show_turn(history[-1])
    with st.chat_message("assistant"):
        history.append(answer(question))

if history:
    st.sidebar.button("New conversation", icon=":material/add_comment:", on_click=history.clear)
