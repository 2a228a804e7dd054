"""What the app's server does from start-up to shut-down: open the process's Enclave in the background (the models
load, tried again while another process holds the store), so that the first page opens at once and /readyz turns
ready without a visitor; and, when `enclave up` sets ENCLAVE_API_WITH_APP, serve the REST API beside the pages. One
process alone may hold the embedded store, so the API that API keys and the command line reach shares the pages'
Enclave and their writers' lock: its socket listens at once (a request waits in its backlog), and it answers, and the
command line finds it in the data folder (ui/run_file.py), once the Enclave is open."""

from __future__ import annotations

import socket
import sys
import threading
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

from assistant import AssistantError
from ingest import IngestError
from ui.api.server import BackgroundApi, listen
from ui.errors import UIError
from ui.logs import configure_logging
from ui.run_file import loopback_url
from ui.settings import UISettings, load_ui_settings
from ui.tracing import start_tracing

RETRY_SECONDS = 5.0


@asynccontextmanager
async def serving_api_beside(_app: Any) -> AsyncIterator[None]:
    """The app server's lifespan: its logging (ENCLAVE_LOG_FORMAT) and tracing (ENCLAVE_TRACING) set up, the Enclave
    opened, and the API served when ENCLAVE_API_WITH_APP is on; at shut-down, the API stopped, the Enclave closed and
    the spans still held sent."""
    import asyncio

    beside = start_api_beside()
    try:
        yield
    finally:
        if beside is not None:
            await asyncio.to_thread(beside.stop)


def start_api_beside() -> ApiBeside | None:
    try:
        settings = load_ui_settings()
    except IngestError as exc:  # the pages say it too, on every load
        say(f"the API is not served: {exc}")
        return None
    configure_logging(settings.log_format)
    stop_tracing = start_tracing(settings, "enclave-app")
    listening = None
    if settings.api_with_app:
        try:
            listening = listen(settings.api_host, settings.api_port)
        except UIError as exc:
            say(f"the API is not served: {exc}")
    beside = ApiBeside(settings, listening, stop_tracing)
    beside.start()
    return beside


class ApiBeside:
    """Open the process's Enclave in a thread (again every RETRY_SECONDS while it cannot), then serve the API on it
    when there is a socket to serve it on (`listening`; None: the app alone). `stop_tracing` is called last, when
    it stops."""

    def __init__(self, settings: UISettings, listening: socket.socket | None,
                 stop_tracing: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.listening = listening
        self._stop_tracing = stop_tracing
        self.url = "" if listening is None else loopback_url(*listening.getsockname()[:2])
        self._stopping = threading.Event()
        self._api: BackgroundApi | None = None
        self._thread = threading.Thread(target=self._open_and_serve, name="enclave-start", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        from ui.web.session import close_process_enclave

        self._stopping.set()
        self._thread.join(timeout=60)
        if self._api is not None:
            self._api.stop()  # closes the socket
        elif self.listening is not None:
            self.listening.close()
        close_process_enclave()  # the server is stopping: the store's lock is let go
        if self._stop_tracing is not None:
            self._stop_tracing()  # the spans still held are sent

    def _open_and_serve(self) -> None:
        from ui.web.session import WRITING, process_enclave

        while not self._stopping.is_set():
            try:
                enclave = process_enclave()
            except (IngestError, AssistantError) as exc:
                say(f"waiting for the store: {exc} (trying again in {RETRY_SECONDS:.0f} s)")
                self._stopping.wait(RETRY_SECONDS)
                continue
            if self.listening is None:
                return
            self._api = BackgroundApi(enclave, self.settings, self.listening, WRITING)
            self._api.start()
            say(f"the API is served at {self.url}/v1 (its reference at {self.url}/docs)")
            return


def say(message: str) -> None:
    print(f"Enclave: {message}", file=sys.stderr, flush=True)
