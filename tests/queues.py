"""Fixtures for the ingestion queue's tests (a plugin of tests/conftest.py): an Enclave with the queue on
(ENCLAVE_INGEST_QUEUE=postgres) on a real PostgreSQL and its own embedded store, and a worker taking its queue on a
thread of the same Enclave (one process alone can hold the embedded store; tests/ui/commands/test_worker.py runs
workers as processes).

    def test_something(queued_enclave, queue_worker): queued_enclave.ingest(...)   # done by the worker
"""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from assistant import Enclave, load_assistant_settings
from ingest import load_settings


@pytest.fixture
def queued_enclave(shared_models, postgres_database, tmp_path) -> Iterator[Enclave]:
    """A dead worker is noticed after 5 s here (ENCLAVE_WORKER_STALLED_SECONDS), its heart beating every second."""
    settings = load_settings(data_dir=tmp_path / "data", database_url=postgres_database, ingest_queue="postgres",
                             worker_heartbeat_seconds=1, worker_stalled_seconds=5, _env_file=None)
    enclave = shared_models.enclave(settings, load_assistant_settings(_env_file=None))
    yield enclave
    enclave.close()


@pytest.fixture
def queue_worker(queued_enclave) -> Iterator[threading.Thread]:
    """`queued_enclave.work_queue` on a thread until the test ends, then stopped as SIGTERM would stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=queued_enclave.work_queue, kwargs={"stop": stop}, name="worker")
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the worker did not stop when asked"
