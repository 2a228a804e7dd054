"""The assistant: retrieve → prompt → LLM stream → cited answer, for a given user."""

from assistant.evaluation import AnswerReport, evaluate_answers, load_answer_set
from assistant.answering import NOTHING_FOUND, AnswerStream, Assistant
from assistant.errors import AssistantError, LLMUnavailable, NotAllowed, RetrievalUnavailable
from assistant.llm import LLMClient, LLMDelta
from assistant.errors import InvalidQuestion
from assistant.models import Answer, Citation, Passage, Sentence, User
from assistant.originals import OriginalFile, original_file
from assistant.reranking import EmbeddedReranker, Reranker, RerankerUnavailable, ServiceReranker, open_reranker
from assistant.retrieval import Retriever, permission_filter
from assistant.service import Enclave, open_enclave
from assistant.settings import AssistantSettings, load_assistant_settings

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
    "LLMUnavailable",
    "NotAllowed",
    "OriginalFile",
    "InvalidQuestion",
    "Passage",
    "Sentence",
    "Reranker",
    "RerankerUnavailable",
    "RetrievalUnavailable",
    "Retriever",
    "ServiceReranker",
    "User",
    "evaluate_answers",
    "load_answer_set",
    "load_assistant_settings",
    "open_enclave",
    "open_reranker",
    "original_file",
    "permission_filter",
]
