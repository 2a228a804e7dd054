"""`enclave up` (what `make run` runs): the LLM server, the app and its API start, the URLs are printed, a signal stops
everything; settings that would open the app to anyone, and an API port in use, are refused before anything starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from enclave_cli import run_process

from assistant import find_free_port, packaged_test_model


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} never appeared; output was:\n{''.join(seen)}")


def _port_is_free(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_up_starts_llm_app_and_api_prints_the_urls_and_sigterm_stops_all(tmp_path):
    app_port, llm_port, api_port = find_free_port(), find_free_port(), find_free_port()
    data = tmp_path / "data"
    env = dict(
        os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_APP_PORT=str(app_port), ENCLAVE_API_PORT=str(api_port),
        ENCLAVE_LLM_PORT=str(llm_port), ENCLAVE_LLM_MODEL_PATH=str(packaged_test_model()),
        ENCLAVE_LLM_BASE_URL=f"http://127.0.0.1:{llm_port}/v1",
    )
    enclave = str(Path(sys.executable).with_name("enclave"))
    with subprocess.Popen([enclave, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        try:
            line = _wait_for_line(process, "Enclave is ready", timeout=600)
            assert f"http://127.0.0.1:{app_port}" in line and f"API: http://127.0.0.1:{api_port}/v1" in line
            assert httpx.get(f"http://127.0.0.1:{app_port}/_stcore/health", timeout=5).status_code == 200
            assert httpx.get(f"http://127.0.0.1:{llm_port}/v1/models", timeout=5).status_code == 200
            assert httpx.get(f"http://127.0.0.1:{api_port}/docs", timeout=5).status_code == 200
            assert (data / "api.json").is_file()  # the command line finds the app's API here
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            process.stdout.read()
    assert process.returncode == 0
    assert _port_is_free(app_port) and _port_is_free(llm_port) and _port_is_free(api_port)  # no orphan keeps serving
    assert not (data / "api.json").exists()


def test_up_refuses_an_api_port_in_use_before_starting_anything(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = dict(os.environ, ENCLAVE_DATA_DIR=str(tmp_path / "data"), ENCLAVE_API_PORT=str(port),
                   ENCLAVE_APP_PORT=str(find_free_port()))
        completed = run_process("up", "--no-llm", env=env, timeout=120)

    assert completed.returncode == 2
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"error: the API cannot listen on 127.0.0.1:{port}") and "ENCLAVE_API_PORT" in line
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("command", "host"), [("app", "0.0.0.0"), ("up", "192.168.1.20")])
def test_auth_none_beyond_loopback_is_refused_at_start_up_with_one_line(command, host, tmp_path):
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(tmp_path / "data"), ENCLAVE_AUTH="none", ENCLAVE_APP_HOST=host,
               ENCLAVE_APP_PORT=str(find_free_port()))
    completed = run_process(command, env=env, timeout=120)  # a refusal takes a moment: a start would not end

    assert completed.returncode == 2
    [line] = completed.stderr.splitlines()
    assert line.startswith("error: ENCLAVE_AUTH=none lets anyone who reaches the app in as the admin")
    assert host in line and "ENCLAVE_APP_HOST=127.0.0.1" in line
    assert not (tmp_path / "data").exists()  # nothing was started or opened
