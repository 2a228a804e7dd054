"""The LLM server launcher: a real llama.cpp server with SmolLM2 on loopback, and its failure modes."""

from __future__ import annotations

import importlib.util
import io
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.errors import LLMServerError
from assistant.llm.server import (
    LlamaCppServer,
    LLMServer,
    VLLMServer,
    build_llama_cpp_command,
    build_vllm_command,
    find_free_port,
    packaged_test_model,
    provide_tiktoken_encodings,
)
from assistant.llm.settings import LLMServerSettings, load_llm_server_settings


def smollm_settings(model: Path | None = None) -> LLMServerSettings:
    return load_llm_server_settings(
        llm_model_path=model or packaged_test_model(), llm_threads=2, llm_context_window=2048, _env_file=None
    )


@pytest.fixture(scope="module")
def smollm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppServer]:
    logs = tmp_path_factory.mktemp("llm-logs")
    with LlamaCppServer(smollm_settings(), port=find_free_port(), log_dir=logs, progress=None) as server:
        yield server


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- command lines (pure) -------------------------------------------------------------------------------------


def test_llama_cpp_command_sets_threads_context_alias_and_queues_requests() -> None:
    command = build_llama_cpp_command(
        Path("/m/qwen.gguf"), host="127.0.0.1", port=8123, context_window=4096, threads=2, python="py"
    )
    assert command[:3] == ["py", "-m", "llama_cpp.server"]
    flags = dict(zip(command[3::2], command[4::2], strict=True))
    assert flags == {
        "--model": "/m/qwen.gguf",
        "--model_alias": "qwen",
        "--host": "127.0.0.1",
        "--port": "8123",
        "--n_ctx": "4096",
        "--n_threads": "2",
        "--n_threads_batch": "2",
        "--interrupt_requests": "False",
        "--verbose": "True",
    }


def test_vllm_command_follows_the_gpt_oss_recipe() -> None:
    command = build_vllm_command(
        "/models/gpt-oss-20b", host="0.0.0.0", port=8000, served_model_name="openai/gpt-oss-20b",
        max_model_len=32768, gpu_memory_utilization=0.9, vllm="/venv/bin/vllm",
    )  # fmt: skip
    assert command[:3] == ["/venv/bin/vllm", "serve", "/models/gpt-oss-20b"]
    joined = " ".join(command)
    for expected in (
        "--host 0.0.0.0",
        "--port 8000",
        "--served-model-name openai/gpt-oss-20b",
        "--max-model-len 32768",
        "--gpu-memory-utilization 0.9",
        "--tool-call-parser openai",
        "--enable-auto-tool-choice",
        "--reasoning-parser openai_gptoss",
    ):
        assert expected in joined


def test_base_url_uses_loopback_for_a_wildcard_bind() -> None:
    settings = load_llm_server_settings(llm_host="0.0.0.0", _env_file=None)
    assert LlamaCppServer(settings, port=8123).base_url == "http://127.0.0.1:8123/v1"


# --- vLLM preconditions ---------------------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_says_how_to_install_it(tmp_path: Path) -> None:
    settings = load_llm_server_settings(models_dir=tmp_path, _env_file=None)
    server = VLLMServer(settings, port=find_free_port(), progress=None)
    with pytest.raises(LLMServerError, match=r"vLLM is not installed: on a GPU host `pip install 'enclave\[vllm\]'`"):
        server.start()
    assert server.process is None


def test_tiktoken_encodings_are_provided_under_their_harmony_names(tmp_path: Path) -> None:
    folder = provide_tiktoken_encodings(tmp_path / "enc")
    assert sorted(p.name for p in folder.iterdir()) == ["cl100k_base.tiktoken", "o200k_base.tiktoken"]
    assert (folder / "o200k_base.tiktoken").read_bytes().startswith(b"IQ== 0\n")


def test_vllm_runs_offline_with_harmony_pointed_at_the_encodings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIKTOKEN_ENCODINGS_BASE", raising=False)
    env = VLLMServer(load_llm_server_settings(models_dir=tmp_path, _env_file=None), progress=None).build_env()
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"
    assert Path(env["TIKTOKEN_ENCODINGS_BASE"], "o200k_base.tiktoken").is_file()


# --- a real llama.cpp server ----------------------------------------------------------------------------------


def test_models_endpoint_lists_the_alias(smollm_server: LlamaCppServer) -> None:
    response = httpx.get(f"{smollm_server.base_url}/models", trust_env=False)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["SmolLM2-135M-Instruct.Q4_1"]


def test_streaming_chat_completion_yields_tokens(smollm_server: LlamaCppServer) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=smollm_server.base_url, api_key="unused", http_client=httpx.Client(trust_env=False))
    with client:
        stream = client.chat.completions.create(
            model=smollm_server.model_name,
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=12,
            temperature=0,
            stream=True,
        )
        pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2
    assert "".join(pieces).strip()


def test_stop_terminates_the_server_and_releases_the_port(tmp_path: Path) -> None:
    server = LlamaCppServer(smollm_settings(), port=find_free_port(), log_dir=tmp_path, progress=None)
    server.start()
    process = server.process
    assert process is not None and accepts_connections(server.port)
    server.stop()
    assert process.returncode is not None
    assert not accepts_connections(server.port)
    with socket.socket() as sock:  # a new server could bind the port again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))


def test_port_already_in_use_is_reported_before_starting(smollm_server: LlamaCppServer, tmp_path: Path) -> None:
    second = LlamaCppServer(smollm_settings(), port=smollm_server.port, log_dir=tmp_path, progress=None)
    with pytest.raises(LLMServerError, match=f"port {smollm_server.port} on 127.0.0.1 is already in use"):
        second.start()
    assert second.process is None


# --- failures at start-up -------------------------------------------------------------------------------------


def test_missing_model_file_says_how_to_get_one(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    server = LlamaCppServer(smollm_settings(missing), port=find_free_port(), progress=None)
    with pytest.raises(LLMServerError, match="run `make run` set-up or set ENCLAVE_LLM_MODEL_PATH") as info:
        server.start()
    assert f"model file {missing} not found" in str(info.value)


def test_corrupt_model_fails_fast_with_the_log_tail(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(bytes(range(256)) * 4)
    # A start-up timeout no test could reach: "exited during start-up" means it stopped waiting when the process
    # died, not when the time ran out (a timed assertion would fail on a slow or busy machine).
    server = LlamaCppServer(smollm_settings(junk), port=find_free_port(), log_dir=tmp_path / "logs", progress=None,
                            startup_timeout=3600)
    with pytest.raises(LLMServerError, match="exited during start-up") as info:
        server.start()
    message = str(info.value)
    assert f"last lines of {server.log_path}" in message
    assert "junk.gguf" in message  # the tail carries llama.cpp's own complaint about the file
    assert server.process is None


class _SilentServer(LLMServer):
    """A process that runs but never answers HTTP: the fault a hung model load looks like."""

    engine = "silent"

    def build_command(self) -> list[str]:
        # A shell prints at once; a Python child could still be starting when a short timeout runs out.
        return ["sh", "-c", "echo still loading; exec sleep 60"]


def test_server_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    server = _SilentServer(
        host="127.0.0.1", port=find_free_port(), model_name="x", log_dir=tmp_path, startup_timeout=3.0, progress=None
    )
    with pytest.raises(LLMServerError, match=r"did not answer http://127\.0\.0\.1:\d+/v1/models within 3 s") as info:
        server.start()
    assert "still loading" in str(info.value)
    assert server.process is None


def test_waiting_shows_a_loading_line_with_the_elapsed_time(tmp_path: Path) -> None:
    progress = io.StringIO()
    server = _SilentServer(
        host="127.0.0.1", port=find_free_port(), model_name="tiny", log_dir=tmp_path, startup_timeout=0.5,
        progress=progress,
    )  # fmt: skip
    with pytest.raises(LLMServerError):
        server.start()
    assert "loading model tiny … (0 s)" in progress.getvalue()


# --- the CLI entry point --------------------------------------------------------------------------------------

_SERVE = """
import sys
from assistant.llm import load_llm_server_settings, run_llm_server
settings = load_llm_server_settings(llm_model_path=sys.argv[1], llm_threads=2, llm_context_window=2048, _env_file=None)
sys.exit(run_llm_server("llama.cpp", settings, int(sys.argv[2])))
"""


def test_serve_prints_ready_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = find_free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        cli = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(packaged_test_model()), str(port)],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
        try:
            assert cli.stdout is not None
            assert cli.stdout.readline().strip() == f"LLM server ready: http://127.0.0.1:{port}/v1"
            assert accepts_connections(port)
            cli.send_signal(signal.SIGTERM)
            assert cli.wait(timeout=30) == 0
        finally:
            if cli.poll() is None:
                cli.terminate()
                cli.wait(timeout=30)
            cli.stdout.close()  # type: ignore[union-attr]
    assert not accepts_connections(port)


_KEYED_SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/v1/models" and self.headers.get("Authorization") == "Bearer s3cret"
        self.send_response(200 if ok else 401)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class _KeyedServer(LLMServer):
    """Answers /v1/models only with the right bearer key, as vLLM does when VLLM_API_KEY is set."""

    engine = "keyed"

    def build_command(self) -> list[str]:
        return [sys.executable, "-c", _KEYED_SERVER, str(self.port)]


def test_health_check_sends_the_api_key_the_server_demands(tmp_path: Path) -> None:
    server = _KeyedServer(host="127.0.0.1", port=find_free_port(), model_name="k", log_dir=tmp_path, progress=None)
    server.api_key = "s3cret"
    with server:
        assert server.poll() is None
    without_key = _KeyedServer(
        host="127.0.0.1", port=find_free_port(), model_name="k", log_dir=tmp_path, startup_timeout=1.0, progress=None
    )
    with pytest.raises(LLMServerError, match="did not answer"):
        without_key.start()


def test_unrelated_environment_variables_named_like_llama_cpp_settings_do_not_reach_it():
    # Found by `make run CACHE=...`: make exports CACHE, and llama_cpp.server parsed it as its `cache` flag.
    from assistant.llm.server import without_llama_cpp_settings

    env = without_llama_cpp_settings({"CACHE": "/tmp/x", "Port": "1", "HF_HUB_OFFLINE": "1", "PATH": "/bin"})
    assert env == {"HF_HUB_OFFLINE": "1", "PATH": "/bin"}
