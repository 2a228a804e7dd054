"""The assistant: retrieve → prompt → LLM stream → cited answer, for a given user."""

from assistant.answering import NOTHING_FOUND, AnswerStream, Assistant
from assistant.errors import AssistantError, LLMUnavailable, NotAllowed, RetrievalUnavailable
from assistant.llm import LLMClient
from assistant.models import Answer, Citation, Passage, User
from assistant.reranking import EmbeddedReranker, Reranker, RerankerUnavailable, ServiceReranker, open_reranker
from assistant.retrieval import Retriever, permission_filter
from assistant.service import Enclave, open_enclave
from assistant.settings import AssistantSettings, load_assistant_settings

__all__ = [
    "NOTHING_FOUND",
    "Answer",
    "AnswerStream",
    "Assistant",
    "AssistantError",
    "AssistantSettings",
    "Citation",
    "EmbeddedReranker",
    "Enclave",
    "LLMClient",
    "LLMUnavailable",
    "NotAllowed",
    "Passage",
    "Reranker",
    "RerankerUnavailable",
    "RetrievalUnavailable",
    "Retriever",
    "ServiceReranker",
    "User",
    "load_assistant_settings",
    "open_enclave",
    "open_reranker",
    "permission_filter",
]
