"""Assistant settings: the LLM server to talk to, how answers are built, and how long sign-ins last. Loaded once at
start-up."""

from __future__ import annotations

from typing import Any

import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import AssistantError
from ingest import describe_validation_error

RERANK_MODES = ("off", "embedded", "service")
RERANK_MODEL_FILE = "nomic-embed-text-v1.5.f16.gguf"  # what `make reranker` assembles into the models dir


def default_models_dir() -> Path:
    """Where set-up puts packaged models. The same ENCLAVE_MODELS_DIR the ui reads for the chat model: the
    assistant needs it for the re-ranking model and may not import ui."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "enclave" / "models"


class AssistantSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    llm_base_url: str = Field("http://127.0.0.1:8088/v1", description="OpenAI-compatible API of the LLM server.")
    llm_model: str = Field("", description="Model name to request; empty = the first model the server lists.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the LLM server, if it wants one.")
    llm_context_window: int = Field(4096, ge=512, description="Context window of the served model, in tokens.")
    llm_max_tokens: int = Field(512, ge=16, description="Longest answer, in tokens.")
    llm_timeout: float = Field(600, gt=0, description="Seconds to wait for the LLM (CPU prompts are slow).")
    # 0: the same question over the same passages gets the same answer (and the evaluation is reproducible).
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature; 0 = always the likeliest word.")
    # llama-cpp-python 0.3.36 ignores the field (its request model drops unknown keys; the answer is unchanged), so
    # "low" is safe with the packaged models and is gpt-oss's recommended effort for quick RAG answers on vLLM.
    llm_reasoning_effort: str = Field(
        "low", description="gpt-oss reasoning effort sent with each request: low, medium, high; empty = send none."
    )
    top_k: int = Field(4, ge=1, le=50, description="Passages given to the model per question.")
    candidates: int = Field(20, ge=1, le=500, description="Passages retrieved before the best are chosen.")
    # Calibrated on SciFact train (docs/relevance.md): with min_coverage 0.3 the gate keeps 91% of the answers the
    # search found and says "not found" for 11-14% of questions whose answer was removed (0% with 0.2 / 0 before).
    min_relevance: float = Field(
        0.4, ge=-1, le=1, description="Cosine similarity a passage needs when it shares a word with the question."
    )
    min_semantic_relevance: float = Field(
        0.5, ge=-1, le=1, description="Cosine similarity a passage needs when it shares no word with the question."
    )
    min_coverage: float = Field(
        0.3, ge=0, le=1, description="Share of the question's words a passage needs when it is not close in meaning."
    )
    search_method: str = Field("hybrid", description="dense, sparse or hybrid.")
    # One LLM call per question, only when the library holds another language (docs/benchmarks.md, "Questions
    # across languages").
    translate_questions: bool = Field(
        True, description="Translate each question into the library's other languages and search with those too."
    )
    translate_languages: int = Field(
        3, ge=1, le=10, description="At most this many other languages per question, those with most documents first."
    )
    rerank: str = Field("off", description="Re-ranking stage: off, embedded (in-process model) or service (HTTP).")
    # The reranker sees what the first stage found, so it can only help when the answer is among these. 20: on SciFact
    # train, 40 added 0.004 nDCG@10 for 1.6x the time (docs/benchmarks.md, "Reranking").
    rerank_candidates: int = Field(20, ge=2, le=200, description="Passages the first stage hands the re-ranker.")
    rerank_model_path: str = Field("", description="GGUF for rerank=embedded; empty = the packaged nomic model.")
    rerank_threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, description="CPU threads.")
    rerank_url: str = Field("", validate_default=True, description="Rerank endpoint of the service (vLLM, llama.cpp).")
    rerank_model: str = Field("", description="Model name sent to the service; empty = the one it serves.")
    rerank_api_key: SecretStr = Field(SecretStr(""), description="API key for the re-ranking service, if any.")
    rerank_timeout: float = Field(30, gt=0, description="Seconds to wait for the re-ranking service.")
    models_dir: Path = Field(default_factory=default_models_dir, description="Where set-up puts packaged models.")
    # A working day: a session started in the morning lasts until the evening, not overnight on a shared machine.
    session_hours: float = Field(12, gt=0, le=24 * 366, description="How long a sign-in lasts, in hours.")
    # 5 in 15 minutes: a person mistyping is never stopped for long; guessing gets some 480 tries a day per name.
    sign_in_attempts: int = Field(
        5, ge=1, le=1000, description="Failed sign-ins for one name, within the window, before the next ones wait."
    )
    sign_in_window_minutes: float = Field(
        15, gt=0, le=24 * 60, description="The window, in minutes, in which failed sign-ins for one name count."
    )
    # A year: long enough for an annual access review and most incident timelines; 0 keeps everything.
    audit_retention_days: int = Field(
        365, ge=0, le=100 * 366, description="Days audit records are kept before they are pruned; 0 = forever."
    )
    # Off: a question can name a person or quote a contract, and the trail is kept for a year, shown to every admin and
    # exported; which passages it revealed (the chunk ids) is what an access review needs.
    audit_question_text: bool = Field(
        False, description="Keep each question's text in its audit record (else only what it retrieved and cited)."
    )

    # A year, as the audit trail: a conversation goes a year after its last question, feedback a year after it was
    # given. 0 keeps both for good.
    conversation_retention_days: int = Field(
        365, ge=0, le=100 * 366,
        description="Days a conversation is kept after its last question, and feedback after it is given; 0 = forever.",
    )

    # Single sign-on (OpenID Connect through the app's .streamlit/secrets.toml): which ID token claims name the
    # account and its groups, and which group makes an admin. docs/sso.md has them for Keycloak, Entra ID and Okta.
    oidc_name_claim: str = Field(
        "preferred_username", min_length=1,
        description="ID token claim that names the account (its `email` claim when the provider sends none).")
    oidc_groups_claim: str = Field("groups", min_length=1, description="ID token claim that lists the groups.")
    oidc_admin_group: str = Field(
        "", description="Group of the groups claim whose members are admins; empty = the provider decides no roles.")

    @field_validator("llm_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the http(s):// base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8088/v1")
        return value.rstrip("/")

    @field_validator("llm_reasoning_effort")
    @classmethod
    def _check_reasoning_effort(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"", "low", "medium", "high"}:
            raise ValueError("must be low, medium or high (how long gpt-oss thinks), or empty to send none")
        return value

    @field_validator("search_method")
    @classmethod
    def _check_method(cls, value: str) -> str:
        if value not in {"dense", "sparse", "hybrid"}:
            raise ValueError("must be dense, sparse or hybrid")
        return value

    @field_validator("rerank")
    @classmethod
    def _check_rerank(cls, value: str) -> str:
        if value not in RERANK_MODES:
            raise ValueError("must be off, embedded (the packaged model, in-process) or service (ENCLAVE_RERANK_URL)")
        return value

    @field_validator("rerank_url")
    @classmethod
    def _check_rerank_url(cls, value: str, info: ValidationInfo) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be the http(s):// URL of a rerank endpoint, e.g. http://reranker:8000/rerank")
        if not value and info.data.get("rerank") == "service":
            raise ValueError("must be set when ENCLAVE_RERANK=service: the rerank endpoint, "
                             "e.g. http://reranker:8000/rerank (vLLM) or http://127.0.0.1:8080/v1/rerank (llama.cpp)")
        return value

    @property
    def rerank_gguf_path(self) -> Path:
        """The embedded re-ranker's model: ENCLAVE_RERANK_MODEL_PATH, or the packaged file in the models dir."""
        if self.rerank_model_path:
            return Path(self.rerank_model_path).expanduser()
        return self.models_dir / RERANK_MODEL_FILE


def load_assistant_settings(**overrides: Any) -> AssistantSettings:
    try:
        return AssistantSettings(**overrides)
    except ValidationError as exc:
        raise AssistantError(describe_validation_error(exc)) from exc
