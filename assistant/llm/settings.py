"""Settings of the LLM server Enclave starts itself (`enclave llm serve`, `enclave up`): which model, where it
listens, how many threads. The client's side (the URL it talks to) is in AssistantSettings."""

from __future__ import annotations

from typing import Any

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.settings import default_models_dir
from ingest import SettingsError, describe_validation_error

PACKAGED_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class LLMServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    models_dir: Path = Field(default_factory=default_models_dir, description="Where set-up puts the packaged model.")
    llm_model_path: Path | None = Field(None, description="GGUF file for llama.cpp; empty = the packaged model.")
    llm_host: str = Field("127.0.0.1", description="Address `enclave llm serve` binds to.")
    llm_port: int = Field(8088, ge=1, le=65535)
    llm_threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    llm_context_window: int = Field(4096, ge=512)
    vllm_model: str = Field("openai/gpt-oss-20b", description="Model (hub name or local folder) vLLM serves.")
    # Clients ask for the canonical name even when vLLM loads the weights from a local folder.
    vllm_served_model_name: str = Field("openai/gpt-oss-20b", description="Model name vLLM answers to.")
    # gpt-oss allows 131,072 tokens; a smaller window leaves more GPU memory for the KV cache (vLLM recipe).
    vllm_max_model_len: int = Field(32768, ge=1024)
    vllm_gpu_memory_utilization: float = Field(0.90, gt=0.0, le=1.0)

    @property
    def gguf_path(self) -> Path:
        return self.llm_model_path or self.models_dir / PACKAGED_MODEL_FILE


def load_llm_server_settings(**overrides: Any) -> LLMServerSettings:
    try:
        return LLMServerSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from exc
