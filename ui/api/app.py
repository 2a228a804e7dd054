"""The API as a FastAPI application on one Enclave: its routes, the error handlers, the key check and rate limit's
state. Nothing here reads settings or opens anything: `create_app` is handed both (server.py, the tests)."""

from __future__ import annotations

import threading
import time
from typing import Callable

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from assistant import Enclave
from ui.api import chat, docs, documents, local, operations, search
from ui.api.errors import install_error_handlers
from ui.api.limits import BodyLimit, RateLimiter
from ui.logs import RequestIds
from ui.settings import UISettings

DESCRIPTION = ("Enclave's assistant in OpenAI's Chat Completions shape, its search and its documents. Every call needs "
               "an API key (`enclave keys create USER`) as `Authorization: Bearer KEY`; it sees what the key's account "
               "may see.")

# FastAPI's own OpenTelemetry: off, every part. Its auto-configuration would add OTLP exporters from the environment
# (FASTAPI_OTEL_AUTO_CONFIGURE, OTEL_EXPORTER_OTLP_ENDPOINT), and its spans name request paths: Enclave sends traces
# only when ENCLAVE_TRACING asks, and only its own spans (ui/tracing.py), which name no document.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False, "auto_configure": False,
}


def create_app(enclave: Enclave, settings: UISettings, *, clock: Callable[[], float] = time.monotonic,
               local_token: str | None = None, writing: threading.Lock | None = None) -> FastAPI:
    """The API on this Enclave (opened to write, so that uploads can come through it; its owner closes it after the
    server stops). `clock` drives the rate limit (tests pass their own). `local_token` opens /v1/local to the command
    line on this machine (None: closed). `writing` is held by every upload, deletion and batch: the app's own lock,
    when the app serves the API beside it."""
    from importlib.metadata import version

    app = FastAPI(title="Enclave", version=version("enclave"), description=DESCRIPTION, docs_url=None,
                  redoc_url=None, telemetry=NO_TELEMETRY)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_request_bytes,
                       max_upload_bytes=settings.api_max_upload_bytes)
    app.add_middleware(RequestIds)  # added last, so outermost: a request refused by the body limit has its id too
    app.state.enclave = enclave
    app.state.keys = enclave.accounts.keys
    app.state.limiter = RateLimiter(settings.api_requests_per_minute, clock)
    app.state.writing = writing or threading.Lock()  # uploads and deletions one at a time, as in the app
    app.state.local_token = local_token
    install_error_handlers(app)
    for module in (chat, search, documents, local, docs, operations):
        app.include_router(module.router)
    return app
