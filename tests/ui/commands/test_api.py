"""`enclave api` through the command line (tests/enclave_cli.py): what it refuses before opening anything, and, as the
installed program, how it stops."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import httpx
import pytest
from enclave_cli import ENCLAVE, invoke

from assistant.llm import find_free_port


def test_api_refuses_auth_none_beyond_loopback_with_exit_2(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_AUTH": "none"}

    result = invoke("api", "--host", "0.0.0.0", env=env)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "ENCLAVE_AUTH=none" in line and "the API listens on 0.0.0.0" in line and "ENCLAVE_API_HOST" in line
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_api_takes_a_port_in_range_only(tmp_path):
    result = invoke("api", "--port", "70000", env={"ENCLAVE_DATA_DIR": str(tmp_path / "data")})

    assert result.exit_code == 2 and "70000" in result.stderr


def wait_for_http(url: str, process: subprocess.Popen, tries: int = 240) -> None:
    """Until the server answers anything at url (401 without a key is an answer), a bounded number of tries."""
    for _ in range(tries):
        assert process.poll() is None, "enclave api exited during start-up"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    pytest.fail(f"enclave api did not answer at {url} after {tries} tries")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_api_stops_on_sigterm_or_ctrl_c_gracefully_with_exit_0(sig, ingested_data_dir, tmp_path):
    """uvicorn raises the signal again once it has stopped serving: by default SIGTERM then killed the process before
    its store was closed (an exit by the signal, -15). A service manager stops it so; Ctrl-C must do the same."""
    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    port = find_free_port()
    process = subprocess.Popen([ENCLAVE, "api", "--port", str(port)], env=dict(os.environ, ENCLAVE_DATA_DIR=str(data)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", process)
        process.send_signal(sig)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert "Aborted" not in err and "Traceback" not in err
    assert "Application shutdown complete" in err  # uvicorn stopped serving first
