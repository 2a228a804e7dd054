"""Ingestion's Prometheus metrics: batches, files by outcome, failures by reason. Recorded by the pipeline in the
process that runs it, exposed at /metrics by the app and the API (ui/health.py). Every label has a small fixed set of
values: never a file, document or user name."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Iterator, Protocol

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

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


class QueueFigures(Protocol):
    """What the gauges read of an open queue (ingest.queue.IngestQueue)."""

    def depth(self) -> int: ...

    def workers(self) -> int: ...


class _QueueGauges:
    """The ingestion queue's depth and live workers, read from the database when /metrics is scraped (every app,
    API and worker process shows the same figures: the queue is shared)."""

    def __init__(self) -> None:
        self.queues: "weakref.WeakSet[QueueFigures]" = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        for queue in list(self.queues)[:1]:  # one queue per database: any open one tells
            try:
                depth, workers = queue.depth(), queue.workers()
            except Exception as exc:  # the database is away: no figure rather than a wrong one
                logging.getLogger(__name__).warning("queue metrics unavailable: %s", exc)
                return
            yield GaugeMetricFamily("enclave_ingest_queue_depth", "Queued ingestion batches no worker has taken yet.",
                                    value=depth)
            yield GaugeMetricFamily("enclave_ingest_workers", "Ingestion workers alive (their heart beat lately).",
                                    value=workers)


_QUEUE_GAUGES = _QueueGauges()
REGISTRY.register(_QUEUE_GAUGES)


def watch_queue(queue: QueueFigures) -> None:
    """Show this queue's depth and workers at /metrics while it is open (until `forget_queue`)."""
    _QUEUE_GAUGES.queues.add(queue)


def forget_queue(queue: QueueFigures) -> None:
    _QUEUE_GAUGES.queues.discard(queue)


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
