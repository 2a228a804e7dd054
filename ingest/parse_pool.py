"""The parse worker processes: started once per Ingestor, warmed up while the embedding model loads, kept for the
next batch, and run at a lower CPU priority than the encoder.

Starting a worker costs ~4 CPU-seconds (Python, unstructured, spaCy); a fresh pool per batch paid that before the
first chunk could be embedded. On a small machine the workers and the encoder share the cores, and the encoder is
the limit: at a lower priority, parsing takes the CPU the encoder leaves idle and all of it when the encoder waits
for chunks, so it stays ahead without slowing the stage that sets the pace.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable

WORKER_NICENESS = 10  # Linux CFS gives a nice-10 process about a tenth of a nice-0 one's share under contention


def prepare_worker() -> None:
    """Each worker's start: lower its priority, go offline and import the parsers before the first file arrives."""
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not allowed: parsing merely competes evenly
        pass
    from ingest.worker import warm_up

    warm_up()


class ParsePool:
    """A process pool (spawn: no inherited model or store handles) created on first use or by `start`."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Create the workers now, without waiting for them: they import the parsers in the background."""
        with self._lock:
            self._ensure()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        with self._lock:
            return self._ensure().submit(fn, *args)

    def discard(self) -> None:
        """Drop a broken pool (a worker died); the next batch starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=prepare_worker)
            # A spawn pool starts a process per submitted task until it has `workers`: one no-op each starts all.
            for _ in range(self.workers):
                self._pool.submit(os.getpid)
        return self._pool
