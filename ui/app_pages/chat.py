"""Ask: questions answered from the documents the user may see, streamed as they are written, checked, with their
sources; follow-ups read the conversation; an answer can be stopped."""

from __future__ import annotations

from typing import Sequence

import streamlit as st

from assistant import AssistantError, Citation
from ui.identity import current_user
from ui.session import (
    ChatTurn,
    chat_history,
    conversation_turns,
    get_enclave,
    pending_answer,
    set_pending_answer,
    turn_from_answer,
)

UNSUPPORTED_NOTE = "Highlighted sentences are not supported by the sources: check them before relying on them."


def source_label(citation: Citation) -> str:
    page = f" — page {citation.page}" if citation.page is not None else ""
    return f"[{citation.n}] {citation.document}{page}"


def show_sources(citations: Sequence[Citation], retrieved: Sequence[Citation] = (), key: str = "") -> None:
    for citation in citations:
        with st.expander(source_label(citation), icon=":material/description:"):
            show_passage(citation, key=f"{key}-{citation.n}")
    if retrieved:
        names = ", ".join(dict.fromkeys(c.document for c in retrieved))
        with st.expander(f"Also retrieved, not cited: {names}", icon=":material/manage_search:"):
            for citation in retrieved:
                st.caption(source_label(citation))
                st.text(citation.text)


def show_passage(citation: Citation, key: str) -> None:
    if citation.section:
        st.caption(" › ".join(citation.section))
    st.text(citation.text)  # plain text: a passage's '#' or '*' must not turn into markdown
    if citation.page is not None and citation.document.lower().endswith(".pdf"):
        if st.toggle(f"Show page {citation.page}", key=f"page-{key}"):
            show_page(citation)


def show_page(citation: Citation) -> None:
    """The PDF page itself, rendered on the server for a user allowed to see the document."""
    from ui.page_images import render_pdf_page

    try:
        original = get_enclave().original_file(current_user(), citation.document_id)
        st.image(render_pdf_page(original.path, citation.page or 1),
                 caption=f"{citation.document}, page {citation.page}")
    except (AssistantError, ValueError, OSError) as exc:
        st.warning(f"The page cannot be shown: {exc}", icon=":material/warning:")


def show_error(message: str) -> None:
    st.error(message[:1].upper() + message[1:], icon=":material/error:")


def marked_text(turn: ChatTurn) -> str:
    """The answer as markdown, unsupported sentences highlighted."""
    if not turn.sentences:
        return turn.text
    parts = []
    for sentence in turn.sentences:
        text = sentence.text.replace("[", "\\[")
        parts.append(sentence.with_markers(f":orange-background[{text}]" if sentence.unsupported else text)
                     + sentence.gap)
    return "".join(parts).strip()


def show_turn(turn: ChatTurn, index: int) -> None:
    with st.chat_message(turn.role):
        if turn.reasoning:
            with st.expander("Thinking", icon=":material/psychology:"):
                st.text(turn.reasoning)
        if turn.text:
            st.markdown(marked_text(turn))
        if any(s.unsupported for s in turn.sentences):
            st.caption(UNSUPPORTED_NOTE)
        if turn.stopped:
            st.caption("Stopped before the answer was complete.")
        for warning in turn.warnings:
            st.warning(warning, icon=":material/shield:")
        if turn.error:
            show_error(turn.error)
        show_sources(turn.citations, turn.retrieved, key=f"turn{index}")


def stop_answer() -> None:
    """The Stop button: keep what had arrived, marked as stopped."""
    stream = pending_answer()
    if stream is not None:
        set_pending_answer(None)
        chat_history().append(turn_from_answer(stream.stop()))


def answer(question: str) -> None:
    """Stream the answer into the current chat message, then record the checked answer and redraw."""
    history = chat_history()
    try:
        with st.spinner("Searching your documents…"):
            stream = get_enclave().assistant.ask(question, current_user(), history=conversation_turns(history[:-1]))
        set_pending_answer(stream)
        st.button("Stop", icon=":material/stop_circle:", on_click=stop_answer, key="stop")
        placeholder = st.empty()
        if stream.passages:
            # The model reads the whole prompt before its first word: on a CPU that can take half a minute.
            n = len(stream.passages)
            placeholder.markdown(f"_Reading {n} passage{'' if n == 1 else 's'}…_")
        text = ""
        for piece in stream:
            text += piece
            placeholder.markdown(text + " ▌")
    except AssistantError as exc:
        set_pending_answer(None)
        history.append(ChatTurn("assistant", "", error=str(exc)))
        return
    set_pending_answer(None)
    assert stream.answer is not None  # set once the stream is read to its end
    history.append(turn_from_answer(stream.answer))


current_user()  # stops a page run without a signed-in user (the answers are asked as them below)
history = chat_history()
if pending_answer() is not None:  # an answer was interrupted (another question, or the page left): keep it
    stop_answer()
st.title("Ask your documents")
if not history and not get_enclave().documents(current_user()):
    st.info("No documents have been added yet: add some on the Documents page, then ask here.")
for index, turn in enumerate(history):
    show_turn(turn, index)

if question := st.chat_input("Ask a question about your documents"):
    history.append(ChatTurn("user", question))
    show_turn(history[-1], len(history) - 1)
    with st.chat_message("assistant"):
        answer(question)
    st.rerun()  # draw the checked answer (markers corrected, unsupported sentences marked) in place of the stream

if history:
    st.sidebar.button("New conversation", icon=":material/add_comment:", on_click=history.clear)
