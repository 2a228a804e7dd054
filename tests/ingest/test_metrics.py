"""Ingestion's metrics (ingest/metrics.py) with real files: each broken file of the shared set fails with a reason
whose category is the one its kind calls for, never "other", and the counters move by what the batch settled."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from ingest.metrics import REASONS, failure_reason
from ingest.settings import load_settings
from shared_data import BAD

EXPECTED = {
    "encrypted-aes256.pdf": "encrypted",
    "encrypted-user-password.pdf": "encrypted",
    "password-protected.xlsx": "encrypted",
    "firmware.bin": "unsupported",
    "setup.exe": "unsupported",
    "quarterly-report.pdf": "unsupported",  # a PNG named .pdf
    "empty.pdf": "empty",
    "empty.docx": "empty",
    "whitespace-only.txt": "empty",
    "corrupt-zip-member.docx": "corrupt",
}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def ingestor(tmp_path, shared_models):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", max_file_mb=1, _env_file=None))
    yield ingestor
    ingestor.close()


def test_each_broken_file_fails_with_the_reason_its_kind_calls_for_and_is_counted(ingestor, tmp_path):
    before = {reason: sample("enclave_ingest_failures_total", reason=reason) for reason in REASONS}
    failed_before = sample("enclave_ingest_files_total", status="failed")
    batches_before = sample("enclave_ingest_batches_total", outcome="finished")
    files = [BAD / name for name in EXPECTED] + [BAD / "huge-single-line.txt", tmp_path / "missing.txt"]

    results = {r.path.rsplit("/", 1)[-1]: r for r in ingestor.ingest(files)}

    reasons = {name: failure_reason(r.reason) for name, r in results.items() if r.status == "failed"}
    assert reasons == {**EXPECTED, "huge-single-line.txt": "too_large", "missing.txt": "not_found"}, {
        name: r.reason for name, r in results.items()}
    counted = {reason: sample("enclave_ingest_failures_total", reason=reason) - before[reason] for reason in REASONS}
    assert counted == {reason: sum(r == reason for r in reasons.values()) for reason in REASONS}
    assert sample("enclave_ingest_files_total", status="failed") - failed_before == len(reasons)
    assert sample("enclave_ingest_batches_total", outcome="finished") - batches_before == 1


@pytest.mark.parametrize("reason, category", [
    ("disk full: 10 MB free under /data, 50 MB needed", "disk_full"),
    ("the parser crashed on this file (a bug in a parsing library or a hostile file)", "corrupt"),
    ("image-only PDF, OCR not available: install tesseract-ocr (apt) and ingest it again", "missing_tool"),
    ("cannot read the file: Permission denied", "unreadable"),
    ("another writer is changing this document", "other"),
])  # fmt: skip
def test_reasons_no_sample_file_gives_have_their_category(reason, category):
    assert failure_reason(reason) == category
