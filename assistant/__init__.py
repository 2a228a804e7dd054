"""The assistant: retrieve → prompt → LLM stream → cited answer, for a given user."""

from assistant.answering import NOTHING_FOUND, AnswerStream, Assistant
from assistant.errors import (
    AssistantError,
    InvalidQuestion,
    LLMServerError,
    LLMUnavailable,
    NotAllowed,
    RetrievalUnavailable,
)
from assistant.evaluation import AnswerReport, evaluate_answers, load_answer_set
from assistant.llm import LLMClient, LLMDelta
from assistant.models import Answer, Citation, Passage, Sentence, User
from assistant.originals import OriginalFile, original_file
from assistant.reranking import EmbeddedReranker, Reranker, RerankerUnavailable, ServiceReranker, open_reranker
from assistant.retrieval import Retriever, permission_filter
from assistant.service import Enclave, open_enclave
from assistant.settings import AssistantSettings, load_assistant_settings

# The LLM server Enclave starts itself loads on first use: asking a question needs only the client (PEP 562).
_LAZY = {
    "LLMServerSettings": "assistant.llm",
    "LlamaCppServer": "assistant.llm",
    "VLLMServer": "assistant.llm",
    "create_llm_server": "assistant.llm",
    "find_free_port": "assistant.llm",
    "load_llm_server_settings": "assistant.llm",
    "packaged_test_model": "assistant.llm",
    "provide_tiktoken_encodings": "assistant.llm",
    "run_llm_server": "assistant.llm",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


__all__ = [
    "NOTHING_FOUND",
    "Answer",
    "AnswerReport",
    "AnswerStream",
    "Assistant",
    "AssistantError",
    "AssistantSettings",
    "Citation",
    "EmbeddedReranker",
    "Enclave",
    "LLMClient",
    "LLMDelta",
    "LLMServerError",
    "LLMServerSettings",
    "LLMUnavailable",
    "NotAllowed",
    "OriginalFile",
    "InvalidQuestion",
    "LlamaCppServer",
    "Passage",
    "Sentence",
    "Reranker",
    "RerankerUnavailable",
    "RetrievalUnavailable",
    "Retriever",
    "ServiceReranker",
    "User",
    "VLLMServer",
    "create_llm_server",
    "evaluate_answers",
    "find_free_port",
    "load_answer_set",
    "load_assistant_settings",
    "load_llm_server_settings",
    "open_enclave",
    "open_reranker",
    "original_file",
    "packaged_test_model",
    "permission_filter",
    "provide_tiktoken_encodings",
    "run_llm_server",
]
