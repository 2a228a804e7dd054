"""Ingestion's Prometheus metrics: batches, files by outcome, failures by reason. Recorded by the pipeline in the
process that runs it, exposed at /metrics by the app and the API (ui/health.py). Every label has a small fixed set of
values: never a file, document or user name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from ingest.models import FileResult

# A failed file's reason is a sentence written for a person (ingest/parsing/, ingest/pipeline/); its category is read
# from how that sentence starts or what it says, first match wins. tests/ingest/test_metrics.py holds one per category.
FAILURE_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("disk_full", ("disk full:",)),
    ("encrypted", ("encrypted:",)),
    ("too_large", ("file is ",)),  # "file is 12.3 MB, over the 10 MB limit …"
    ("empty", ("no text content", "empty file")),
    ("unsupported", ("unsupported format", "not a ")),
    ("corrupt", ("corrupt", "cannot tell what this file is", "the parser crashed")),
    ("missing_tool", ("image-only pdf, ocr not available", "image file, ocr not available", "reading ")),
    ("not_found", ("no such file", "no stored document", "original file is gone")),
    ("unreadable", ("cannot read the file",)),
)
OTHER = "other"
REASONS = tuple(name for name, _ in FAILURE_REASONS) + (OTHER,)

BATCHES = Counter("enclave_ingest_batches", "Ingestion batches (ingest, re-index, an upload), by how they ended.",
                  ["outcome"])  # finished | interrupted
BATCH_SECONDS = Histogram("enclave_ingest_batch_seconds", "Time one ingestion batch took, from start to end.",
                          buckets=(1, 5, 15, 60, 300, 900, 3600, float("inf")))
FILES = Counter("enclave_ingest_files", "Files (or records) ingestion settled, by result.",
                ["status"])  # added | updated | unchanged | failed | removed
FAILURES = Counter("enclave_ingest_failures", "Files that failed to ingest, by reason.", ["reason"])

for _status in ("added", "updated", "unchanged", "failed", "removed"):
    FILES.labels(_status)  # shown at 0 from the start, so that a rate over them has a beginning
for _reason in REASONS:
    FAILURES.labels(_reason)
for _outcome in ("finished", "interrupted"):
    BATCHES.labels(_outcome)


def failure_reason(reason: str) -> str:
    """The category of a failed file's reason: one of REASONS."""
    text = reason.strip().lower()
    for name, starts in FAILURE_REASONS:
        if any(text.startswith(start) or (len(start) > 12 and start in text) for start in starts):
            return name
    return OTHER


def record_file(result: FileResult) -> None:
    """Count one settled file, and its failure's reason."""
    FILES.labels(result.status).inc()
    if result.status == "failed":
        FAILURES.labels(failure_reason(result.reason)).inc()


def record_batch(seconds: float, finished: bool) -> None:
    BATCHES.labels("finished" if finished else "interrupted").inc()
    BATCH_SECONDS.observe(seconds)
