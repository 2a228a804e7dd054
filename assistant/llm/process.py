"""An OpenAI-compatible server as a child process: start it in its own process group, log its output, wait until
it answers, stop it and everything it spawned. Which command starts it is up to the engine (server.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TextIO

import httpx

from assistant.errors import LLMServerError
from ingest import enforce_offline


def find_free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _connect_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:  # refused or unreachable: nobody listens there
        return False


def _read_tail(path: Path, lines: int = 25) -> str:
    with path.open("rb") as fh:
        fh.seek(max(0, fh.seek(0, os.SEEK_END) - 16_384))
        text = fh.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class LLMServer:
    """An OpenAI-compatible server in a child process; subclasses say which command starts it."""

    engine = "llm"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        model_name: str,
        log_dir: Path | None = None,
        startup_timeout: float = 300.0,
        progress: TextIO | None = sys.stderr,
    ) -> None:
        self.host = host
        self.port = port
        self.model_name = model_name
        self.log_dir = log_dir
        self.startup_timeout = startup_timeout
        self.progress = progress
        self.process: subprocess.Popen[bytes] | None = None
        self.api_key: str | None = None  # sent with the health check when the server demands one
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        host = _connect_host(self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/v1"

    @property
    def log_path(self) -> Path | None:
        """Where the child's output goes; None when it shares this process's terminal."""
        return self.log_dir / f"llm-{self.engine}-{self.port}.log" if self.log_dir else None

    def build_command(self) -> list[str]:
        raise NotImplementedError

    def build_env(self) -> dict[str, str]:
        enforce_offline()  # sets the offline/no-telemetry switches in os.environ, which the child inherits
        return dict(os.environ)

    def check_ready_to_start(self) -> None:
        """Raise LLMServerError for a problem visible before the process starts (missing model or engine)."""

    def start(self) -> None:
        self.check_ready_to_start()
        if _port_in_use(_connect_host(self.host), self.port):
            # Otherwise the health check could pass against whatever already listens there.
            raise LLMServerError(
                f"port {self.port} on {self.host} is already in use: stop the other server or set ENCLAVE_LLM_PORT"
            )
        command, env = self.build_command(), self.build_env()
        output: IO[bytes] | int = 2  # no log file: the child writes to our stderr, keeping stdout for our messages
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = output = self.log_path.open("wb")
        try:
            # A new session: Ctrl-C in the terminal reaches us only, and we stop the whole group in order.
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            self._close_log()
            raise LLMServerError(f"could not start the {self.engine} server ({command[0]}): {exc}") from exc
        try:
            self.wait_until_healthy()
        except BaseException:  # includes Ctrl-C while waiting: never leave the child behind
            self.stop()
            raise

    def wait_until_healthy(self) -> None:
        assert self.process is not None, "start() first"
        started, last_report = time.monotonic(), None
        is_tty = bool(self.progress and self.progress.isatty())
        try:
            while not self._answers():
                elapsed = time.monotonic() - started
                if self.process.poll() is not None:
                    raise LLMServerError(
                        f"the {self.engine} server exited during start-up (exit code {self.process.returncode})"
                        f"{self._describe_output()}"
                    )
                if elapsed > self.startup_timeout:
                    raise LLMServerError(
                        f"the {self.engine} server did not answer {self.base_url}/models within "
                        f"{self.startup_timeout:.0f} s{self._describe_output()}"
                    )
                # On a terminal, redraw one line every second; in a log, write a line every 15 s.
                if self.progress and (last_report is None or elapsed - last_report >= (1.0 if is_tty else 15.0)):
                    line = f"loading model {self.model_name} … ({elapsed:.0f} s)"
                    self.progress.write(f"\r{line}" if is_tty else f"{line}\n")
                    self.progress.flush()
                    last_report = elapsed
                time.sleep(0.25)
        finally:
            if self.progress and is_tty and last_report is not None:
                self.progress.write("\n")  # keep the last progress line visible
                self.progress.flush()

    def _answers(self) -> bool:
        try:
            # trust_env=False: a proxy from the environment must not intercept a loopback health check.
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            response = httpx.get(f"{self.base_url}/models", headers=headers, timeout=2.0, trust_env=False)
        except httpx.HTTPError:  # not listening yet, or busy loading
            return False
        return response.status_code == 200

    def _describe_output(self) -> str:
        if self.log_path is None:
            return "; see its output above"
        if self._log is not None:
            self._log.flush()
        tail = _read_tail(self.log_path) if self.log_path.is_file() else ""
        return f"; last lines of {self.log_path}:\n{tail}" if tail else f"; its log {self.log_path} is empty"

    def poll(self) -> int | None:
        """The child's exit code, or None while it runs."""
        return self.process.poll() if self.process else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it if it has not exited after `timeout` seconds."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait()
        self._close_log()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # it exited between poll() and the signal: nothing left to stop
            pass

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
