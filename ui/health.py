"""What the app and the API answer an orchestrator or a monitoring system, with no sign-in and no key:

/healthz  the process is alive and serving (200, always: nothing is checked).
/readyz   it can answer questions: its Enclave is open (the models loaded, the store held) and the store, the database
          and the LLM server each answer a trivial request (200), else 503. It never opens the Enclave itself.
/metrics  Prometheus' text format: what ingest/metrics.py and assistant/metrics.py count, and the process's own.

The bodies say which part is unavailable, never why: the reasons (addresses, paths) go to the log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

if TYPE_CHECKING:
    from assistant import Enclave

HEALTHZ, READYZ, METRICS = "/healthz", "/readyz", "/metrics"
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
NOT_OPEN = "not open"  # each part, while the Enclave has not been opened

log = logging.getLogger(__name__)


def health() -> dict[str, Any]:
    return {"status": "ok"}


def readiness(enclave: Enclave | None) -> tuple[int, dict[str, Any]]:
    """The status code and body of /readyz for this Enclave (None: not opened yet). Blocks for the checks' requests:
    call it from a thread, not an event loop."""
    if enclave is None:
        parts = {part: NOT_OPEN for part in ("store", "database", "llm")}
        return 503, {"status": "starting", "parts": parts}
    checked = enclave.readiness()
    for part, problem in checked.problems.items():
        log.warning("not ready: %s unavailable: %s", part, problem)
    return (200 if checked.ready else 503), {"status": "ready" if checked.ready else "unavailable",
                                             "parts": checked.parts()}


def metrics() -> bytes:
    """Every metric this process has registered, in Prometheus' text format."""
    return generate_latest(REGISTRY)
