"""A Chat Completions `messages` list as Enclave asks it: the last user message is the question, and the user and
assistant messages before it are the conversation's history, in (question, answer) turns, as the app's follow-ups
read theirs. System and developer messages are left out: Enclave's own instructions keep answers to the sources."""

from __future__ import annotations

from typing import Sequence

from ui.api.errors import ApiError
from ui.api.schemas import ChatMessage


def question_and_history(messages: Sequence[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question and the earlier turns; 400 when the last message is not the user's, a tool's message is there
    (Enclave calls no tools), or a message holds something other than text."""
    said = [(m.role, _text(m, n)) for n, m in enumerate(messages) if m.role not in ("system", "developer")]
    if any(role == "tool" for role, _ in said):
        raise ApiError(400, "tool messages are not supported: Enclave answers from its documents and calls no tools",
                       code="unsupported_message")
    if not said or said[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question (role `user`)", code="invalid_messages")
    history: list[tuple[str, str]] = []
    asked: list[str] = []
    for role, text in said[:-1]:
        if role == "user":
            asked.append(text)
        elif asked and text:  # an answer to the questions just before it
            history.append(("\n".join(asked), text))
            asked = []
    question = "\n".join([*asked, said[-1][1]])  # questions left unanswered are part of this one
    return question, history


def _text(message: ChatMessage, n: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    parts = []
    for part in message.content:
        if part.type != "text" or part.text is None:
            raise ApiError(400, f"messages[{n}] has a {part.type!r} part: Enclave reads text only",
                           code="unsupported_content")
        parts.append(part.text)
    return "".join(parts)
