"""ingest.offline and the libraries it cannot switch off: what would phone home is kept out of the installed stack."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from ingest.offline import enforce_offline

# What ONNX Runtime 1.29 and later compile in: Microsoft's 1DS telemetry client and its collector. Importing such a
# build starts threads that look the collector up (DNS) about 9 s later; no setting stops them (pyproject.toml).
ONE_DS_MARKERS = (b"mobile.events.data.microsoft.com", b"OneDsTelemetry")


def native_libraries(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p for p in root.rglob("*.so*") if p.is_file())


def contains(path: Path, markers: tuple[bytes, ...]) -> set[bytes]:
    found: set[bytes] = set()
    tail = b""
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            window = tail + block
            found.update(m for m in markers if m in window)
            tail = window[-64:]  # a marker may straddle two blocks
    return found


def test_the_installed_onnxruntime_has_no_telemetry_client_compiled_in():
    libraries = native_libraries("onnxruntime")

    assert libraries, "no native library found in the onnxruntime package"
    assert {str(p.name): contains(p, ONE_DS_MARKERS) for p in libraries} == {str(p.name): set() for p in libraries}


def test_the_marker_search_finds_a_marker_across_a_block_boundary(tmp_path):
    sample = tmp_path / "lib.so"
    sample.write_bytes(b"x" * ((1 << 20) - 10) + b"mobile.events.data.microsoft.com" + b"x" * 100)

    assert contains(sample, ONE_DS_MARKERS) == {b"mobile.events.data.microsoft.com"}


@pytest.mark.parametrize("name", ["HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK", "SCARF_NO_ANALYTICS"])
def test_offline_switches_are_set(name, monkeypatch):
    monkeypatch.delenv(name, raising=False)

    enforce_offline()

    assert os.environ[name] not in ("", "0", "false", "False")
