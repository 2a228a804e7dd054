"""The assistant: retrieve → prompt → LLM stream → checked, cited answer, for a given user. Knows the store only
through `ingest`'s public API; the command line and the app use only the names listed in `__all__` here.

service       one Enclave: the components built once, the assistant, and (unless read-only) the ingestor
answering     the Assistant: a question through retrieval, the prompt and the LLM to a checked answer (AnswerStream)
retrieval     hybrid search with the user's permissions inside the vector search
llamaindex    that retrieval as llama-index parts: a retriever and post-processors (re-rank, duplicates, relevance)
relevance     the relevance gate: which passages hold evidence of answering the question
reranking     the optional re-ranking stage: the packaged model in-process, or a rerank service
conversation  follow-ups: the turns that fit, the question rewritten to stand alone
overview      questions about a whole document: its opening and outline
injection     sentences of a passage that address the assistant, cut before the prompt (patterns by language apart)
prompting     the chat prompt: numbered passages as quoted data, the turns, the question, fitted to the window
verification  each sentence of an answer checked against its passages; quantities: numbers a question asks for
citations     the model's [n] markers; replies: what Enclave says itself ("not found"), in the question's language
originals     the kept file behind a citation, for users who may see it
schema        every package's tables in the database, upgraded together (`enclave db upgrade`)
llm/          the OpenAI-compatible client and the LLM servers Enclave starts itself
evaluation/   BEIR retrieval figures and answer-set figures, through the product's own paths
models, settings, errors: typed data, settings loaded once at start-up, the error tree
"""

from typing import TYPE_CHECKING

from assistant.answering import NOTHING_FOUND, AnswerStream, Assistant
from assistant.errors import (
    AssistantError,
    InvalidQuestion,
    LLMServerError,
    LLMUnavailable,
    NotAllowed,
    RetrievalUnavailable,
)
from assistant.llm import LLMClient, LLMDelta
from assistant.models import Answer, Citation, Passage, Sentence, User
from assistant.originals import OriginalFile, original_file
from assistant.reranking import EmbeddedReranker, Reranker, RerankerUnavailable, ServiceReranker, open_reranker
from assistant.retrieval import Retriever, permission_filter
from assistant.service import Enclave, open_enclave
from assistant.settings import AssistantSettings, load_assistant_settings

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from assistant.evaluation import (
        AnswerProgress,
        AnswerReport,
        EvalReport,
        QueryProgress,
        evaluate_answers,
        evaluate_beir,
        load_answer_set,
    )
    from assistant.llm import (
        LLMServerSettings,
        LlamaCppServer,
        VLLMServer,
        create_llm_server,
        find_free_port,
        load_llm_server_settings,
        packaged_test_model,
        provide_tiktoken_encodings,
        run_llm_server,
    )
    from assistant.schema import TreeStatus, TreeUpgrade, read_database_status, upgrade_database

# The LLM server Enclave starts itself loads on first use: asking a question needs only the client (PEP 562).
_LAZY = {
    # Evaluation is for the CLI and the benches: nothing of it loads to answer a question.
    "AnswerProgress": "assistant.evaluation",
    "AnswerReport": "assistant.evaluation",
    "EvalReport": "assistant.evaluation",
    "QueryProgress": "assistant.evaluation",
    "evaluate_answers": "assistant.evaluation",
    "evaluate_beir": "assistant.evaluation",
    "load_answer_set": "assistant.evaluation",
    "LLMServerSettings": "assistant.llm",
    "LlamaCppServer": "assistant.llm",
    "VLLMServer": "assistant.llm",
    "create_llm_server": "assistant.llm",
    "find_free_port": "assistant.llm",
    "load_llm_server_settings": "assistant.llm",
    "packaged_test_model": "assistant.llm",
    "provide_tiktoken_encodings": "assistant.llm",
    "run_llm_server": "assistant.llm",
    # Alembic loads with the migrations: answering a question needs none.
    "TreeStatus": "assistant.schema",
    "TreeUpgrade": "assistant.schema",
    "read_database_status": "assistant.schema",
    "upgrade_database": "assistant.schema",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


__all__ = [
    "NOTHING_FOUND",
    "Answer",
    "AnswerProgress",
    "AnswerReport",
    "AnswerStream",
    "Assistant",
    "AssistantError",
    "AssistantSettings",
    "Citation",
    "EmbeddedReranker",
    "EvalReport",
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
    "QueryProgress",
    "ServiceReranker",
    "TreeStatus",
    "TreeUpgrade",
    "User",
    "VLLMServer",
    "create_llm_server",
    "evaluate_answers",
    "evaluate_beir",
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
    "read_database_status",
    "run_llm_server",
    "upgrade_database",
]
