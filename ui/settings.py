"""Settings of the user-facing layer: the app's address and who may use it, and the LLM server that `enclave up`
starts with it (those fields are assistant's LLMServerSettings, which `enclave llm serve` reads alone)."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict

from assistant import LLMServerSettings
from ingest import SettingsError, describe_validation_error
from ui.errors import UnsafeSettings


class UISettings(LLMServerSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    auth: Literal["password", "none"] = Field(
        "password", description="password: everyone signs in with an account. none: no sign-in, everyone is the "
        "local admin ENCLAVE_DEFAULT_USER (a laptop used by one person; refused beyond loopback).")
    default_user: str = Field("local", description="Name of the local admin everyone is when ENCLAVE_AUTH=none.")
    secrets_file: str = Field(
        "", description="The app's secrets.toml, whose [auth] section sets up single sign-on (docs/sso.md); empty = "
        "Streamlit's: .streamlit/secrets.toml in the working folder, then in the home folder.")
    app_host: str = Field("127.0.0.1", description="Address the Streamlit app listens on.")
    app_port: int = Field(8501, ge=1, le=65535)


def load_ui_settings(**overrides: Any) -> UISettings:
    try:
        return UISettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from exc


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only. Empty (Streamlit's default when no address
    is given) means every interface."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_auth(auth: str, host: str) -> None:
    """Refuse ENCLAVE_AUTH=none beyond loopback: everyone who reaches the app would be an admin, documents and
    accounts included."""
    if auth == "none" and not is_loopback(host):
        where = host or "every interface"
        raise UnsafeSettings(f"ENCLAVE_AUTH=none lets anyone who reaches the app in as the admin, and the app listens "
                             f"on {where}: keep ENCLAVE_AUTH=password (the default; create the first admin with "
                             "`enclave users create-admin NAME --password-stdin`) or set ENCLAVE_APP_HOST=127.0.0.1")
