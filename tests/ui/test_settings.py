"""The app's settings: which addresses are loopback, and ENCLAVE_AUTH=none refused beyond it."""

from __future__ import annotations

import pytest

from ui.errors import UnsafeSettings
from ui.settings import check_auth, is_loopback, load_ui_settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "10.0.0.5", "192.168.1.20", "enclave.example", "localhost.evil"])
def test_addresses_beyond_loopback(host):
    assert not is_loopback(host)


def test_sign_in_is_required_unless_said_otherwise(monkeypatch):
    monkeypatch.delenv("ENCLAVE_AUTH", raising=False)
    assert load_ui_settings(_env_file=None).auth == "password"


def test_auth_none_is_refused_beyond_loopback_and_allowed_on_it():
    with pytest.raises(UnsafeSettings, match="every interface"):
        check_auth("none", "")  # Streamlit without an address listens everywhere
    check_auth("none", "127.0.0.1")
    check_auth("password", "0.0.0.0")
