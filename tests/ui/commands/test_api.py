"""`enclave api` through the command line (tests/enclave_cli.py): what it refuses before opening anything."""

from __future__ import annotations

from enclave_cli import invoke


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
