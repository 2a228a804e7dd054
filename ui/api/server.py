"""Serving the API: `enclave api` (one Enclave for the process, opened to write as the app's, served by uvicorn until
Ctrl-C or SIGTERM, then closed and its embedded store's lock let go), and `BackgroundApi`, the same served from a
thread of another process (the app's, for `enclave up`).

Either way the socket listens before uvicorn starts (a request sent at once waits in its backlog), and for an
embedded store the data folder's run file (ui/run_file.py) tells the command line on this machine where the API is,
from the moment it listens until it stops."""

from __future__ import annotations

import os
import signal
import socket
import threading
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Iterator

from assistant import Enclave
from ui.errors import UIError
from ui.logs import configure_logging, uvicorn_logging
from ui.run_file import RunningApi, loopback_url, new_token, remove_run_file, write_run_file
from ui.settings import UISettings, check_auth
from ui.tracing import start_tracing

if TYPE_CHECKING:
    import uvicorn


def run_api(settings: UISettings, host: str | None = None, port: int | None = None) -> int:
    """Serve the API on host:port (default ENCLAVE_API_HOST:ENCLAVE_API_PORT); 0 once stopped. Raises UnsafeSettings
    for ENCLAVE_AUTH=none beyond loopback, UIError for an address it cannot listen on, and the assistant's or
    ingest's errors when the Enclave cannot open (the store in use by another process, a bad setting).

    uvicorn stops serving on either signal, then raises it again: by default SIGTERM would then kill the process
    before the Enclave is closed. Both signals end here as the same orderly stop (exit 0), as in `enclave llm serve`."""
    host = settings.api_host if host is None else host
    port = settings.api_port if port is None else port
    check_auth(settings.auth, host, "the API", "ENCLAVE_API_HOST (or --host)")
    configure_logging(settings.log_format)
    stop_tracing = start_tracing(settings, "enclave-api")
    try:
        return _serve(settings, host, port)
    finally:
        stop_tracing()  # the spans still held are sent


def _serve(settings: UISettings, host: str, port: int) -> int:
    import uvicorn

    from assistant import load_assistant_settings, open_enclave
    from ingest import load_settings
    from ui.api.app import create_app

    listening = listen(host, port)  # a port in use is said before the models load
    try:
        enclave = open_enclave(load_settings(), load_assistant_settings(), read_only=False)
    except BaseException:
        listening.close()
        raise
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
    try:
        with advertised(enclave, host, port) as token:
            server = uvicorn.Server(uvicorn.Config(create_app(enclave, settings, local_token=token), log_level="info",
                                                   **uvicorn_logging()))
            server.run(sockets=[listening])
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, raised again by uvicorn once it has stopped serving
        pass
    finally:
        listening.close()
        enclave.close()
        if on_main_thread:  # None means a handler set outside Python: fall back to the default
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    return 0


class BackgroundApi:
    """The API served by uvicorn from a thread of this process, on an Enclave the process already holds (its pages'),
    sharing its writers' lock. `start` returns once the socket listens; `stop` returns once the server has stopped."""

    def __init__(self, enclave: Enclave, settings: UISettings, listening: socket.socket,
                 writing: threading.Lock) -> None:
        self._enclave = enclave
        self._settings = settings
        self._listening = listening
        self._writing = writing
        self._advertising = ExitStack()  # the run file, from start until stop (see `advertised`)
        self._server: uvicorn.Server | None = None  # made in start: its app needs the run file's token
        self._thread = threading.Thread(target=self._serve, name="enclave-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listening.getsockname()[:2]
        return loopback_url(host, port)

    def start(self) -> None:
        import uvicorn

        from ui.api.app import create_app

        host, port = self._listening.getsockname()[:2]
        token = self._advertising.enter_context(advertised(self._enclave, host, port))
        try:
            app = create_app(self._enclave, self._settings, local_token=token, writing=self._writing)
            self._server = uvicorn.Server(uvicorn.Config(app, log_level="info", **uvicorn_logging()))  # the app logs
        except BaseException:
            self._advertising.close()
            raise
        self._thread.start()

    def stop(self) -> None:
        self._advertising.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._listening.close()

    def _serve(self) -> None:
        assert self._server is not None  # the thread starts once it is made
        self._server.run(sockets=[self._listening])


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or UIError saying what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(128)
    except OSError as exc:
        listening.close()
        raise UIError(f"the API cannot listen on {host}:{port} ({exc.strerror or exc}): set ENCLAVE_API_PORT (or "
                      "--port) to a free port, or stop what uses this one") from exc
    return listening


@contextmanager
def advertised(enclave: Enclave, host: str, port: int) -> Iterator[str | None]:
    """While the block runs, the run file names this API (for an embedded store); the token it holds, or None."""
    if not enclave.embedded_store:
        yield None
        return
    api = RunningApi(loopback_url(host, port), os.getpid(), new_token())
    write_run_file(enclave.data_dir, api)
    try:
        yield api.token
    finally:
        remove_run_file(enclave.data_dir, api)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C."""
    raise KeyboardInterrupt
