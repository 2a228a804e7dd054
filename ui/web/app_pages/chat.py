"""Ask: questions answered from the documents the user may see, streamed as they are written, checked, with their
sources; follow-ups read the conversation; an answer can be stopped. Each answer is kept in the user's saved
conversations, listed in the sidebar to reopen (and continue), rename or delete; each can be rated up or down."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import streamlit as st

from assistant import Answer, AssistantError, Citation, ConversationNotFound, ConversationSummary, User
from ui.web.identity import current_user
from ui.web.session import (
    ChatTurn,
    chat_history,
    chat_turns,
    conversation_turns,
    current_conversation,
    get_enclave,
    pending_answer,
    sentence,
    set_current_conversation,
    set_pending_answer,
    turn_from_answer,
)

UNSUPPORTED_NOTE = "Highlighted sentences are not supported by the sources: check them before relying on them."

# This page's st.session_state keys (the chat and the conversation it continues are ui/web/session.py's):
NOTICE_KEY = "chat.notice"  # (kind, message) to show once: a conversation that could not be opened, a rating sent
CONFIRM_KEY = "chat.confirm_delete"  # the conversation id waiting for "Delete for good", or absent


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
    from ui.web.page_images import render_pdf_page

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


def plain(text: str) -> str:
    """Text typed by a user (a title) shown as itself in a label that renders markdown."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!<>|~:$" else c for c in text)


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
        show_rating(turn)


def show_rating(turn: ChatTurn) -> None:
    """Thumbs up or down on a kept answer, then an optional comment; each sent to the admins as it is given."""
    conversation_id = current_conversation()
    if turn.n is None or conversation_id is None:
        return
    key = f"rating-{conversation_id}-{turn.n}"
    given = {"down": 0, "up": 1}.get(turn.rating)  # a reopened conversation shows the rating given before
    if st.feedback("thumbs", key=key, default=given, on_change=rate, args=(conversation_id, turn.n, key)) is None:
        return
    comment_key = f"comment-{conversation_id}-{turn.n}"
    with st.form(f"comment-form-{conversation_id}-{turn.n}", border=False):
        st.text_input("Comment (optional)", key=comment_key, placeholder="What was right or wrong with this answer?")
        st.form_submit_button("Send comment", key=f"send-{comment_key}", on_click=rate,
                              args=(conversation_id, turn.n, key, comment_key))


def rate(conversation_id: str, n: int, key: str, comment_key: str = "") -> None:
    value = st.session_state.get(key)
    if value is None:  # the thumb taken back: the rating given stays with the admins until rated again
        return
    comment = str(st.session_state.get(comment_key, "")) if comment_key else ""
    try:
        get_enclave().conversations.record_feedback(current_user(), conversation_id, n, "up" if value == 1 else "down",
                                                    comment)
        st.session_state[NOTICE_KEY] = ("success", "Thank you: your feedback was sent to the admins.")
    except AssistantError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"Your feedback could not be saved: {sentence(str(exc))}")


def keep(question: str, answer: Answer) -> ChatTurn:
    """The answer as a chat turn, kept as the next turn of the saved conversation (a new one for the first answer)."""
    turn = turn_from_answer(answer)
    enclave, user = get_enclave(), current_user()
    try:
        try:
            kept = enclave.keep_turn(user, current_conversation(), question, answer)
        except ConversationNotFound:  # deleted in another tab meanwhile: the answer starts a new one
            kept = enclave.keep_turn(user, None, question, answer)
    except AssistantError as exc:
        return replace(turn, warnings=(*turn.warnings, f"This answer could not be saved in your conversations: {exc}"))
    set_current_conversation(kept.conversation_id)
    return replace(turn, n=kept.n)


def stop_answer() -> None:
    """The Stop button: keep what had arrived, marked as stopped."""
    stream = pending_answer()
    if stream is not None:
        set_pending_answer(None)
        history = chat_history()
        question = history[-1].text if history and history[-1].role == "user" else ""
        history.append(keep(question, stream.stop()))


# -- the sidebar: the user's saved conversations ---------------------------------------------------------------------


def new_conversation() -> None:
    chat_history().clear()
    set_current_conversation(None)
    st.session_state.pop(CONFIRM_KEY, None)


def open_clicked(conversation_id: str) -> None:
    """Show a saved conversation with its sources; the next question continues it with its history."""
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        conversation = get_enclave().open_conversation(current_user(), conversation_id)
    except AssistantError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"The conversation cannot be opened: {sentence(str(exc))}")
        return
    chat_history()[:] = chat_turns(conversation)
    set_current_conversation(conversation.id)


def rename_clicked(conversation_id: str, key: str) -> None:
    try:
        get_enclave().conversations.rename(current_user(), conversation_id, str(st.session_state.get(key, "")))
    except AssistantError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"The conversation cannot be renamed: {sentence(str(exc))}")


def delete_clicked(conversation_id: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        get_enclave().conversations.delete(current_user(), conversation_id)
    except AssistantError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"The conversation cannot be deleted: {sentence(str(exc))}")
        return
    if current_conversation() == conversation_id:
        new_conversation()


def ask_to_delete(conversation_id: str) -> None:
    st.session_state[CONFIRM_KEY] = conversation_id


def keep_conversation() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def show_conversations(user: User) -> None:
    """The sidebar: a new conversation, the user's saved ones (the one continued last first), and the open one's
    title and delete button."""
    if chat_history() or current_conversation() is not None:  # an empty chat is a new conversation already
        st.button("New conversation", key="new-conversation", icon=":material/add_comment:",
                  on_click=new_conversation)
    try:
        listing = get_enclave().conversations.list_for(user)
    except AssistantError as exc:
        st.warning(f"Your conversations cannot be listed right now: {sentence(str(exc))}", icon=":material/warning:")
        return
    if listing:
        st.caption("Your conversations")
    current = current_conversation()
    for summary in listing:
        st.button(f"{plain(summary.title)} · {summary.updated_at:%d %b %Y}", key=f"conversation-{summary.id}",
                  type="primary" if summary.id == current else "tertiary", on_click=open_clicked, args=(summary.id,),
                  help=f"{summary.turns} questions, the last on {summary.updated_at:%Y-%m-%d %H:%M} UTC")
    opened = next((summary for summary in listing if summary.id == current), None)
    if opened is not None:
        show_opened(opened)


def show_opened(summary: ConversationSummary) -> None:
    with st.expander("This conversation", icon=":material/edit:"):
        key = f"title-{summary.id}"
        with st.form(f"rename-{summary.id}", border=False):
            st.text_input("Title", value=summary.title, key=key, max_chars=200)
            st.form_submit_button("Rename", key="rename-conversation", on_click=rename_clicked, args=(summary.id, key))
        if st.session_state.get(CONFIRM_KEY) != summary.id:
            st.button("Delete", key="delete-conversation", icon=":material/delete:", on_click=ask_to_delete,
                      args=(summary.id,))
            return
        st.warning("Delete this conversation for good?")
        st.button("Delete for good", key="delete-conversation-confirm", type="primary", on_click=delete_clicked,
                  args=(summary.id,))
        st.button("Keep it", key="keep-conversation", on_click=keep_conversation)


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
    history.append(keep(question, stream.answer))


me = current_user()  # stops a page run without a signed-in user (the answers are asked as them below)
history = chat_history()
if pending_answer() is not None:  # an answer was interrupted (another question, or the page left): keep it
    stop_answer()
with st.sidebar:
    show_conversations(me)
st.title("Ask your documents")
if notice := st.session_state.pop(NOTICE_KEY, None):
    kind, message = notice
    (st.success if kind == "success" else st.error)(message)
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
