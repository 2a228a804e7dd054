"""/healthz, /readyz and /metrics on the API (ui/health.py says what each answers): outside /v1, with no key, left out
of the API's reference."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ui import health

router = APIRouter(include_in_schema=False)


@router.get(health.HEALTHZ)
def healthz() -> dict[str, Any]:
    return health.health()


@router.get(health.READYZ)
def readyz(request: Request) -> JSONResponse:
    # A plain `def`: FastAPI runs it in a thread, so the checks' requests do not hold the event loop.
    status, body = health.readiness(request.app.state.enclave)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get(health.METRICS)
def metrics() -> Response:
    return Response(health.metrics(), media_type=health.METRICS_CONTENT_TYPE)
