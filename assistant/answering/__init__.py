"""Answering: a question through retrieval, the prompt and the LLM to an answer whose every sentence is checked.

assistant     the Assistant: retrieve → prompt → stream → check → cite (AnswerStream), and the not-found path
verification  each sentence of an answer checked against its passages
quantities    numbers a question asks for, and whether the answer gives one
replies       what Enclave says itself ("not found"), in the question's language, and a model's declines
"""

from assistant.answering.assistant import AnswerStream, Assistant, fixed_answer
from assistant.answering.quantities import answers_quantity, asks_for_quantity
from assistant.answering.replies import NOTHING_FOUND, model_declined, not_found_text

__all__ = [
    "NOTHING_FOUND",
    "AnswerStream",
    "Assistant",
    "answers_quantity",
    "asks_for_quantity",
    "fixed_answer",
    "model_declined",
    "not_found_text",
]
