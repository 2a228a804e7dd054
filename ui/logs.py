"""The process's logs: Python's logging to stderr, as text for a terminal or as one JSON object a line for a log
collector (ENCLAVE_LOG_FORMAT), each line of an API request carrying its request id; and the API's middleware that
takes or makes that id (X-Request-ID), sends it back, and writes one line per request.

What is never logged: a request's body, its query string, a question, an answer, a document's text, a password, a key.
The access line names the route as declared (`/v1/documents/{document_id}`), not the path asked for."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

REQUEST_ID_HEADER = "X-Request-ID"
# The id of the API request being served, in the task (and threads) serving it; "" outside a request.
REQUEST_ID: ContextVar[str] = ContextVar("enclave_request_id", default="")
# An id taken from a caller (a proxy's) only when it is short and plain: it is written into every line of the request.
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"

access_log = logging.getLogger("enclave.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (`request_id`, and `request` as " [id]" for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        record.request_id = request_id
        record.request = f" [{request_id}]" if request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id when there is one, the fields an access
    line adds, and the exception's type and traceback when there is one."""

    EXTRA = ("method", "route", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            line["request_id"] = request_id
        line.update({name: getattr(record, name) for name in self.EXTRA if hasattr(record, name)})
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """One handler on the root logger, writing `log_format` ("text" or "json") to `stream` (stderr); replaces one
    this function set before. Returns it (the tests read what it writes)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name("enclave")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "enclave"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic says "Context impl SQLiteImpl." and each migration at INFO, on every start: `enclave db status` tells.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    return handler


def uvicorn_logging() -> dict[str, Any]:
    """uvicorn.Config's logging options once configure_logging has run: its own loggers reach the root handler, and
    its access line (the path with its query string, no request id) gives way to RequestIds' line."""
    return {"log_config": None, "access_log": False}


class RequestIds:
    """ASGI middleware: the request's id is its X-Request-ID when given (short and plain), else a new one; it is set
    for the request's log lines, sent back in the response's X-Request-ID, and its access line (method, declared route,
    status, time taken) is written just before the response's last byte is sent, or when the request ends without it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.monotonic()
        status = 500  # if the app fails before it answers
        logged = False

        def log_access() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            route = getattr(scope.get("route"), "path", "") or "(no route)"
            access_log.info("%s %s %d", scope["method"], route, status, extra={
                "method": scope["method"], "route": route, "status": status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            })  # fmt: skip

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode("ascii"))]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log_access()  # before the last byte leaves: a client holding the whole answer finds its line written
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log_access()  # a request that failed, or a client gone, before the last byte
            REQUEST_ID.reset(token)


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-request-id":
            given = value.decode("latin-1")
            if _GIVEN_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex
