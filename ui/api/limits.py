"""The API's limits. The request size: a body larger than ENCLAVE_API_MAX_REQUEST_BYTES is refused with 413 before it
is read (by its Content-Length) or as soon as it passes the limit (a body sent in chunks). The per-key rate limit: a
token bucket for each API key, kept in this process's memory (each API process, or replica, counts its own; a restart
starts every bucket full): a key may make ENCLAVE_API_REQUESTS_PER_MINUTE calls in a burst, then one more each time a
share of the minute has passed. An upload to /v1/documents has its own size limit, ENCLAVE_API_MAX_UPLOAD_BYTES."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.api.errors import ApiError, too_large, upload_too_large

UPLOADS = "/v1/documents"  # the path whose POST takes files: ENCLAVE_API_MAX_UPLOAD_BYTES


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was counted


class RateLimiter:
    """`take(key)` spends one call of `key`'s bucket. `clock` gives seconds (monotonic); tests pass their own."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0  # tokens a second
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # the API's worker threads share the buckets

    def take(self, key: str) -> int:
        """0 if the call may go ahead (and is counted), else the whole seconds to wait before the next one may."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(float(self.per_minute), now))
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return max(1, math.ceil((1 - bucket.tokens) / self._rate))


class BodyLimit:
    """ASGI middleware refusing a request body over `max_bytes`. Starlette's own limit (FastAPI's max_body_size) is
    not used: for a too large Content-Length it replaces whatever the app answers with a plain-text 413, and every
    error of this API is JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].rstrip("/") == UPLOADS and scope["method"] == "POST":
            limit, message = self.max_upload_bytes, upload_too_large(self.max_upload_bytes)
        else:
            limit, message = self.max_bytes, too_large(self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await ApiError(413, message, code="request_too_large").response()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            part = await receive()
            received += len(part.get("body", b""))
            if received > limit:
                raise HTTPException(413, message)  # FastAPI passes an HTTPException on as it is: errors.py words it
            return part

        await self.app(scope, counted, send)
