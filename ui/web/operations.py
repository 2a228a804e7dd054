"""/healthz, /readyz and /metrics on the app's own server (ui/health.py says what each answers), under its base path,
with no sign-in. The app opens its Enclave in the background as it starts (ui/web/api_beside.py): until it is open,
/readyz answers 503 "starting", and asking it does not open it."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ui import health
from ui.web.session import opened_enclave
from ui.web.session_cookie import route_path


def routes(base_path: str) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse(health.health(), headers={"Cache-Control": "no-store"})

    async def readyz(request: Request) -> Response:
        status, body = await asyncio.to_thread(health.readiness, opened_enclave())  # the checks block
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        return Response(health.metrics(), media_type=health.METRICS_CONTENT_TYPE)

    return [
        Route(route_path(base_path, health.HEALTHZ), healthz, methods=["GET"]),
        Route(route_path(base_path, health.READYZ), readyz, methods=["GET"]),
        Route(route_path(base_path, health.METRICS), metrics, methods=["GET"]),
    ]
