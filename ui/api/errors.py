"""Every error the API answers is JSON in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
status that fits, so an OpenAI client raises its matching exception (AuthenticationError, RateLimitError, ...) and
shows the message. The assistant's and ingest's errors are mapped here; anything unexpected is a 500 whose details
go to the log, not to the caller."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from assistant import (
    AccountError,
    AccountsUnavailable,
    AssistantError,
    AuditUnavailable,
    ConversationsUnavailable,
    InvalidQuestion,
    LLMUnavailable,
    NotAllowed,
    RetrievalUnavailable,
)
from ingest import DocumentNotFound, IngestError, SharingRefused
from ui.errors import UIError

log = logging.getLogger(__name__)

UNAVAILABLE = (LLMUnavailable, RetrievalUnavailable, AccountsUnavailable, AuditUnavailable, ConversationsUnavailable,
               IngestError)  # fmt: skip


class ApiError(UIError):
    """A request the API refuses or cannot serve: answered with `status` and the error body."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(error_body(self.message, self.type, self.code), self.status, headers=self.headers)


def too_large(max_request_bytes: int) -> str:
    return (f"the request body is larger than this API accepts ({max_request_bytes:,} bytes, "
            "ENCLAVE_API_MAX_REQUEST_BYTES): send fewer or shorter messages")


def upload_too_large(max_upload_bytes: int) -> str:
    return (f"the upload is larger than this API accepts ({max_upload_bytes:,} bytes, ENCLAVE_API_MAX_UPLOAD_BYTES): "
            "send fewer files at a time, or ask an admin to raise the limit")


def error_body(message: str, type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def api_error_of(exc: Exception) -> ApiError:
    """The status and body for an error of the layers below (also sent as the last event of a broken stream)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidQuestion):
        return ApiError(400, str(exc), code="invalid_question")
    if isinstance(exc, NotAllowed):
        return ApiError(403, str(exc), "permission_error", "not_allowed")
    if isinstance(exc, AccountError):
        return ApiError(400, str(exc))
    if isinstance(exc, DocumentNotFound):
        return ApiError(404, str(exc), code="document_not_found")
    if isinstance(exc, SharingRefused):  # another writer is changing the document
        return ApiError(409, str(exc), code="document_busy")
    if isinstance(exc, UNAVAILABLE):
        return ApiError(503, str(exc), "server_error", "service_unavailable")
    if isinstance(exc, AssistantError):
        return ApiError(500, str(exc), "server_error")
    log.error("the API failed on an unexpected error", exc_info=exc)
    return ApiError(500, "Enclave failed on an unexpected error (logged on the server with its details): try again, "
                         "and tell your admin if it persists", "server_error")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in OpenAI's shape: ours, FastAPI's (an unknown path, a body too large or malformed), and
    whatever the assistant raises."""

    async def on_api_error(_request: Request, exc: Exception) -> JSONResponse:
        return api_error_of(exc).response()

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 413:  # limits.BodyLimit's, which names the limit
            return ApiError(413, str(exc.detail), code="request_too_large").response()
        if exc.status_code == 404:
            message = f"no endpoint {request.url.path}: the API's endpoints are listed at /docs"
            return ApiError(404, message, code="not_found").response()
        if exc.status_code == 405:
            message = f"{request.url.path} does not take {request.method}: see /docs for how to call it"
            return ApiError(405, message, code="method_not_allowed", headers=exc.headers).response()
        return ApiError(exc.status_code, str(exc.detail), headers=exc.headers).response()

    async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(_describe(error) for error in exc.errors()[:5])
        return ApiError(400, f"the request is not valid: {problems}", code="invalid_request").response()

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    for error in (AssistantError, IngestError, Exception):
        app.add_exception_handler(error, on_api_error)


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where or 'the body'}: {error.get('msg', 'invalid')}"
