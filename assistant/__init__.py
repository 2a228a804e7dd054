"""The assistant: retrieve → prompt → LLM stream → checked, cited answer, for a given user. Knows the store only
through `ingest`'s public API; the command line and the app use only the names listed in `__all__` here.

service       one Enclave: the components built once, the assistant, the accounts, and (unless read-only) the ingestor
accounts/     who may sign in, with which role and groups; passwords, throttled sign-in, sessions, API keys
audit/        who did what, when: append-only records in a hash chain (sign-ins, account and document changes,
              questions), verified, pruned past the retention
conversations/ each user's saved conversations, reopened and continued with their history; feedback on answers for
              the admins; both purged past the retention
migrations/   the migration tree of every table the assistant keeps (ASSISTANT_TABLES)
answering/    the Assistant: a question through retrieval, the prompt and the LLM to a checked, cited answer
prompting/    what the model is given: passages as quoted data (instructions in them cut), turns, outlines; [n] markers
retrieval/    hybrid search with the user's permissions inside the vector search, re-ranking, the relevance gate
originals     the kept file behind a citation, for users who may see it
schema        every package's tables in the database, upgraded together (`enclave db upgrade`)
llm/          the OpenAI-compatible client and the LLM servers Enclave starts itself
evaluation/   BEIR retrieval figures and answer-set figures, through the product's own paths
models, settings, errors: typed data, settings loaded once at start-up, the error tree
"""

from typing import TYPE_CHECKING

from assistant.errors import (
    AccountError,
    AccountsUnavailable,
    AssistantError,
    AuditError,
    AuditUnavailable,
    ConversationError,
    ConversationNotFound,
    ConversationsUnavailable,
    InvalidQuestion,
    LastAdmin,
    LLMServerError,
    LLMUnavailable,
    NotAllowed,
    RetrievalUnavailable,
    SignInRefused,
    SignInThrottled,
    SingleSignOnRefused,
    UnknownKey,
    UnknownUser,
    UserExists,
    WeakPassword,
)
from assistant.models import (
    Answer,
    Citation,
    Passage,
    Readiness,
    Sentence,
    User,
    answer_from_json,
    answer_to_json,
)
from assistant.originals import OriginalFile, original_file
from assistant.retrieval.search import Retriever, permission_filter
from assistant.settings import AssistantSettings, load_assistant_settings

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from assistant.answering import NOTHING_FOUND, AnswerStream, Assistant
    from assistant.llm import LLMClient, LLMDelta
    from assistant.retrieval.reranking import EmbeddedReranker, Reranker, RerankerUnavailable, ServiceReranker, open_reranker
    from assistant.service import Enclave, open_enclave
    from assistant.accounts import Account, Accounts, ApiKey, ApiKeys, KeyHolder, NewApiKey, Passwords, open_accounts
    from assistant.migrations import ASSISTANT_TABLES
    from assistant.conversations import (
        Conversation,
        Conversations,
        ConversationSummary,
        ConversationTurn,
        Feedback,
        feedback_csv,
        open_conversations,
    )
    from assistant.audit import (
        AUDIT_ACTIONS,
        AuditEntry,
        AuditRecord,
        AuditTrail,
        ChainBreak,
        ChainCheck,
        open_audit_trail,
    )
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

# Heavy parts load on first use (PEP 562), so a command that needs none of them starts quickly: `enclave users`
# opens only the database, and importing answering (llama-index) and the LLM client (openai) took 4 of its 5 s.
_LAZY = {
    "NOTHING_FOUND": "assistant.answering",
    "AnswerStream": "assistant.answering",
    "Assistant": "assistant.answering",
    "LLMClient": "assistant.llm",
    "LLMDelta": "assistant.llm",
    "EmbeddedReranker": "assistant.retrieval.reranking",
    "Reranker": "assistant.retrieval.reranking",
    "RerankerUnavailable": "assistant.retrieval.reranking",
    "ServiceReranker": "assistant.retrieval.reranking",
    "open_reranker": "assistant.retrieval.reranking",
    "Enclave": "assistant.service",
    "open_enclave": "assistant.service",
    # The LLM server Enclave starts itself: asking a question needs only the client.
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
    # The accounts and the migration tree load SQLAlchemy, argon2 and Alembic: only what signs in or migrates needs them.
    "Account": "assistant.accounts",
    "Accounts": "assistant.accounts",
    "ApiKey": "assistant.accounts",
    "ApiKeys": "assistant.accounts",
    "KeyHolder": "assistant.accounts",
    "NewApiKey": "assistant.accounts",
    "Passwords": "assistant.accounts",
    "open_accounts": "assistant.accounts",
    "ASSISTANT_TABLES": "assistant.migrations",
    # The audit trail: the command line reads it with the database alone.
    "AUDIT_ACTIONS": "assistant.audit",
    "AuditEntry": "assistant.audit",
    "AuditRecord": "assistant.audit",
    "AuditTrail": "assistant.audit",
    "ChainBreak": "assistant.audit",
    "ChainCheck": "assistant.audit",
    "open_audit_trail": "assistant.audit",
    # Conversations: the command line lists and changes them with the database alone.
    "Conversation": "assistant.conversations",
    "ConversationSummary": "assistant.conversations",
    "ConversationTurn": "assistant.conversations",
    "Conversations": "assistant.conversations",
    "Feedback": "assistant.conversations",
    "feedback_csv": "assistant.conversations",
    "open_conversations": "assistant.conversations",
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
    "ASSISTANT_TABLES",
    "AUDIT_ACTIONS",
    "NOTHING_FOUND",
    "Account",
    "AccountError",
    "Accounts",
    "AccountsUnavailable",
    "Answer",
    "AnswerProgress",
    "AnswerReport",
    "AnswerStream",
    "ApiKey",
    "ApiKeys",
    "Assistant",
    "AssistantError",
    "AssistantSettings",
    "AuditEntry",
    "AuditError",
    "AuditRecord",
    "AuditTrail",
    "AuditUnavailable",
    "ChainBreak",
    "ChainCheck",
    "Citation",
    "Conversation",
    "ConversationError",
    "ConversationNotFound",
    "ConversationSummary",
    "ConversationTurn",
    "Conversations",
    "ConversationsUnavailable",
    "EmbeddedReranker",
    "EvalReport",
    "Feedback",
    "Enclave",
    "LLMClient",
    "LLMDelta",
    "LLMServerError",
    "LLMServerSettings",
    "LLMUnavailable",
    "NotAllowed",
    "NewApiKey",
    "OriginalFile",
    "InvalidQuestion",
    "KeyHolder",
    "LastAdmin",
    "LlamaCppServer",
    "Passwords",
    "SignInRefused",
    "SignInThrottled",
    "SingleSignOnRefused",
    "UnknownKey",
    "UnknownUser",
    "UserExists",
    "WeakPassword",
    "open_accounts",
    "open_audit_trail",
    "open_conversations",
    "Passage",
    "Sentence",
    "Reranker",
    "RerankerUnavailable",
    "RetrievalUnavailable",
    "Retriever",
    "QueryProgress",
    "Readiness",
    "ServiceReranker",
    "TreeStatus",
    "TreeUpgrade",
    "User",
    "answer_from_json",
    "answer_to_json",
    "VLLMServer",
    "create_llm_server",
    "evaluate_answers",
    "evaluate_beir",
    "feedback_csv",
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
