"""The cookie that keeps a person signed in across reloads and tabs: the session's token, HttpOnly (no script reads
it), SameSite=Strict, lasting as long as the session. The server-side session is the truth: the app checks the token
against it on every run, so signing out, a removed account or an expired session ends it at once, cookie or not.

A Streamlit page talks to its server over a WebSocket and cannot send an HTTP header, so the cookie is set by a route
of the app's own server (ui/web/server.py). The page that signs someone in hands the browser a one-time code, valid for a
minute, and a line of JavaScript posts it to that route, whose answer sets the cookie. The token itself never reaches
JavaScript or a URL; the code is worthless once used. The route wants a header of its own, which a page on another
site cannot send without asking first (CORS), and this server never says yes: no other site can sign a browser in.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COOKIE_NAME = "enclave_session"
HEADER = "X-Enclave-Session"
HANDOVER_SECONDS = 60.0  # the browser posts the code as soon as the page draws: a minute is plenty
TAKE_PATH = "/enclave-auth/session"  # outside Streamlit's reserved prefixes (_stcore, static, media, component)
DROP_PATH = "/enclave-auth/sign-out"


@dataclass(frozen=True)
class Handover:
    token: str
    max_age: int  # seconds the cookie lasts: the session's lifetime
    expires: float  # on the handovers' clock


class Handovers:
    """One-time codes, each standing for one session token, kept in this server process's memory. `clock` is
    monotonic seconds (tests pass their own to move it on)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, lifetime: float = HANDOVER_SECONDS) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._codes: dict[str, Handover] = {}
        self._lock = threading.Lock()  # the app's script threads issue codes, the server's event loop redeems them

    def issue(self, token: str, max_age: int) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._codes[code] = Handover(token, max_age, self._clock() + self._lifetime)
        return code

    def redeem(self, code: str) -> Handover | None:
        """The handover, once: None for an unknown, used or expired code."""
        with self._lock:
            self._forget_expired()
            return self._codes.pop(code, None)

    def _forget_expired(self) -> None:
        now = self._clock()
        for code in [c for c, h in self._codes.items() if h.expires <= now]:
            del self._codes[code]


# One per server process: the codes a page issues are redeemed by the same process's routes (Streamlit keeps each
# browser session in one process; several replicas need sticky sessions for the WebSocket anyway).
HANDOVERS = Handovers()


def routes(base_path: str, handovers: Handovers = HANDOVERS) -> list[Route]:
    """The two routes, under the app's base path (Streamlit's server.baseUrlPath, "/" by default)."""

    async def take(request: Request) -> Response:
        if request.headers.get(HEADER) != "1":
            return Response("missing header", status_code=403)
        handover = handovers.redeem((await request.body()).decode("ascii", errors="replace").strip())
        if handover is None:
            return Response("unknown or expired code: sign in again", status_code=400)
        response = Response(status_code=204, headers={"Cache-Control": "no-store"})
        response.set_cookie(COOKIE_NAME, handover.token, max_age=handover.max_age, path=cookie_path(base_path),
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    async def drop(request: Request) -> Response:
        if request.headers.get(HEADER) != "1":
            return Response("missing header", status_code=403)
        response = Response(status_code=204, headers={"Cache-Control": "no-store"})
        response.delete_cookie(COOKIE_NAME, path=cookie_path(base_path), httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response

    return [
        Route(route_path(base_path, TAKE_PATH), take, methods=["POST"]),
        Route(route_path(base_path, DROP_PATH), drop, methods=["POST"]),
    ]


def app_base_path() -> str:
    """The path the app is served under: "/" unless Streamlit's server.baseUrlPath is set (behind a proxy)."""
    return str(st.get_option("server.baseUrlPath") or "/")


def cookie_path(base_path: str) -> str:
    return "/" + base_path.strip("/")


def route_path(base_path: str, path: str) -> str:
    return cookie_path(base_path).rstrip("/") + path


def take_script(code: str, base_path: str) -> str:
    """The JavaScript that trades the code for the cookie (the page runs it once, when drawn)."""
    return _post_script(route_path(base_path, TAKE_PATH), code)


def drop_script(base_path: str) -> str:
    """The JavaScript that has the server clear the cookie, after signing out."""
    return _post_script(route_path(base_path, DROP_PATH), "")


def _post_script(url: str, body: str) -> str:
    # json.dumps makes each value a JavaScript string literal; "</" is escaped so no value can close the script tag.
    options = json.dumps({"method": "POST", "credentials": "same-origin", "cache": "no-store",
                          "headers": {HEADER: "1"}, "body": body}).replace("</", "<\\/")
    return f"<script>fetch({json.dumps(url)}, {options});</script>"
