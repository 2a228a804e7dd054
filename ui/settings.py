"""Settings of the user-facing layer: the app's address, and the LLM server that `enclave up` starts with it
(those fields are assistant's LLMServerSettings, which `enclave llm serve` reads alone)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict

from assistant import LLMServerSettings
from ingest import SettingsError, describe_validation_error


class UISettings(LLMServerSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    default_user: str = Field("local", description="Name of the local user until sign-in exists.")
    app_host: str = Field("127.0.0.1", description="Address the Streamlit app listens on.")
    app_port: int = Field(8501, ge=1, le=65535)


def load_ui_settings(**overrides: Any) -> UISettings:
    try:
        return UISettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from exc
