"""Ingestion's OpenTelemetry span: one per batch (enclave.ingest.batch), with its number of files and how it ended.
Made through the OpenTelemetry API alone: a no-op until the process installs the SDK (ENCLAVE_TRACING, ui/tracing.py).
Never a file's, document's or user's name in it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode


@contextmanager
def traced_batch(files: int) -> Iterator[None]:
    """The batch's span, current while the block runs; outcome `finished`, or `interrupted` when the block raised
    (Ctrl-C, a store gone), as the batch metric counts it (ingest/metrics.py)."""
    tracer = trace.get_tracer("enclave.ingest")  # at each batch: one taken before the SDK is installed stays a no-op
    with tracer.start_as_current_span("enclave.ingest.batch", attributes={"enclave.ingest.files": files},
                                      record_exception=False, set_status_on_exception=False) as span:
        outcome = "interrupted"
        try:
            yield
            outcome = "finished"
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)  # never its message: it may name a file
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.set_attribute("enclave.ingest.outcome", outcome)
