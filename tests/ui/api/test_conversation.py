"""A Chat Completions `messages` list read as Enclave's question and history (a pure function)."""

from __future__ import annotations

import pytest

from ui.api.conversation import question_and_history
from ui.api.errors import ApiError
from ui.api.schemas import ChatMessage


def messages(*pairs: tuple[str, object]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=content) for role, content in pairs]  # type: ignore[arg-type]


def test_the_last_user_message_is_the_question_and_the_earlier_turns_its_history():
    said = messages(("system", "Be brief."), ("user", "How many bottles?"), ("assistant", "20,000 [1]."),
                    ("user", "and in May?"))

    assert question_and_history(said) == ("and in May?", [("How many bottles?", "20,000 [1].")])


def test_text_parts_are_joined_and_unanswered_questions_go_with_the_next():
    parts = [{"type": "text", "text": "Second "}, {"type": "text", "text": "part?"}]
    said = messages(("user", "First?"), ("user", parts))

    assert question_and_history(said) == ("First?\nSecond part?", [])


@pytest.mark.parametrize("said, code", [
    (messages(("user", "Q?"), ("assistant", "A.")), "invalid_messages"),
    (messages(("system", "Only a system message.")), "invalid_messages"),
    (messages(("user", "Q?"), ("tool", "{}"), ("user", "Q2?")), "unsupported_message"),
    (messages(("user", [{"type": "image_url", "image_url": {"url": "x"}}])), "unsupported_content"),
])  # fmt: skip
def test_what_enclave_cannot_answer_is_refused_with_400(said, code):
    with pytest.raises(ApiError) as refused:
        question_and_history(said)

    assert (refused.value.status, refused.value.code) == (400, code)
