"""Assistant settings: the LLM server to talk to and how answers are built. Loaded once at start-up."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import AssistantError
from ingest import describe_validation_error


class AssistantSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    llm_base_url: str = Field("http://127.0.0.1:8088/v1", description="OpenAI-compatible API of the LLM server.")
    llm_model: str = Field("", description="Model name to request; empty = the first model the server lists.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the LLM server, if it wants one.")
    llm_context_window: int = Field(4096, ge=512, description="Context window of the served model, in tokens.")
    llm_max_tokens: int = Field(512, ge=16, description="Longest answer, in tokens.")
    llm_timeout: float = Field(600, gt=0, description="Seconds to wait for the LLM (CPU prompts are slow).")
    llm_temperature: float = Field(0.1, ge=0, le=2)
    top_k: int = Field(4, ge=1, le=50, description="Passages given to the model per question.")
    candidates: int = Field(20, ge=1, le=500, description="Passages retrieved before the best are chosen.")
    min_relevance: float = Field(
        0.2, ge=-1, le=1, description="Cosine similarity a passage needs when it shares a word with the question."
    )
    min_semantic_relevance: float = Field(
        0.5, ge=-1, le=1, description="Cosine similarity a passage needs when it shares no word with the question."
    )
    search_method: str = Field("hybrid", description="dense, sparse or hybrid.")

    @field_validator("llm_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the http(s):// base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8088/v1")
        return value.rstrip("/")

    @field_validator("search_method")
    @classmethod
    def _check_method(cls, value: str) -> str:
        if value not in {"dense", "sparse", "hybrid"}:
            raise ValueError("must be dense, sparse or hybrid")
        return value


def load_assistant_settings(**overrides) -> AssistantSettings:
    try:
        return AssistantSettings(**overrides)
    except ValidationError as exc:
        raise AssistantError(describe_validation_error(exc)) from exc
