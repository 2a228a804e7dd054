"""Settings of the user-facing layer: the app's and the REST API's addresses, who may use them and the API's limits,
and the LLM server that `enclave up` starts with it (those fields are assistant's LLMServerSettings, which `enclave llm serve` reads alone)."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
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
    api_host: str = Field("127.0.0.1", description="Address the REST API (`enclave api`) listens on.")
    api_port: int = Field(8000, ge=1, le=65535)
    api_with_app: bool = Field(
        False, description="Serve the REST API from the app's process too, on ENCLAVE_API_HOST:ENCLAVE_API_PORT "
        "(`enclave up` turns it on): the one way to have both on an embedded store, which one process holds.")
    worker_health_host: str = Field(
        "127.0.0.1", description="Address `enclave worker` answers /healthz and /metrics on (0.0.0.0 in a pod, for the "
        "kubelet's probes).")
    worker_health_port: int = Field(8002, ge=0, le=65535, description="Its port; 0: no health server.")
    api_requests_per_minute: int = Field(
        60, ge=1, description="Calls one API key may make a minute, in bursts of as many (a token bucket kept in the "
        "API's process: each replica counts its own).")
    api_max_request_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts, in bytes (a chat's messages and "
        "all); a larger one gets 413. Uploads to /v1/documents have their own limit.")
    api_max_upload_bytes: int = Field(
        209_715_200, ge=1024, description="Largest upload to the API's /v1/documents, in bytes (all its files and "
        "fields); a larger one gets 413.")

    log_format: Literal["text", "json"] = Field(
        "text", description="How `enclave app`, `up` and `api` write their logs to stderr: text for a terminal, json "
        "(one object a line, with the API request's id) for a log collector. Never a question, an answer or a "
        "document's text.")
    tracing: bool = Field(
        False, description="OpenTelemetry tracing (ui/tracing.py): spans of each question (its retrieval and LLM call) "
        "and each ingestion batch, sent by OTLP/HTTP to the collector OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or "
        "OTEL_EXPORTER_OTLP_ENDPOINT names, which must be set. Off: the SDK is not even imported, nothing is sent.")
    # OpenTelemetry's own names, not Enclave's: what an operator already sets for every other service.
    otlp_endpoint: str = Field(
        "", validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="The collector's base URL (http://collector:4318): traces go to its /v1/traces.")
    otlp_traces_endpoint: str = Field(
        "", validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        description="The collector's traces URL in full (http://collector:4318/v1/traces); wins over the base URL.")

    @model_validator(mode="after")
    def _tracing_needs_a_collector(self) -> UISettings:
        if self.tracing and not (self.otlp_traces_endpoint.strip() or self.otlp_endpoint.strip()):
            raise ValueError("ENCLAVE_TRACING=true needs a collector to send traces to: set "
                             "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (http://collector:4318/v1/traces) or "
                             "OTEL_EXPORTER_OTLP_ENDPOINT (http://collector:4318), or unset ENCLAVE_TRACING")
        return self


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


def check_auth(auth: str, host: str, listener: str = "the app", host_setting: str = "ENCLAVE_APP_HOST") -> None:
    """Refuse ENCLAVE_AUTH=none beyond loopback: everyone who reaches the app would be an admin, documents and
    accounts included. The REST API asks for a key whatever the setting, but a deployment that says `none` is one
    person's laptop: its API stays on loopback too (`listener`, "the API"; `host_setting`, where its address is set)."""
    if auth == "none" and not is_loopback(host):
        where = host or "every interface"
        raise UnsafeSettings(f"ENCLAVE_AUTH=none lets anyone who reaches the app in as the admin, and {listener} "
                             f"listens on {where}: keep ENCLAVE_AUTH=password (the default; create the first admin with "
                             f"`enclave users create-admin NAME --password-stdin`) or set {host_setting}=127.0.0.1")
