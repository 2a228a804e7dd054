"""`enclave worker`, and `enclave ingest` when the ingestion queue is on (ENCLAVE_INGEST_QUEUE=postgres): the command
queues its batch and follows it, a worker does the work."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import click

from ingest import IngestError
from ui.commands.terminal import EXIT_REFUSED, cli_user, fail, opened_enclave, stderr

if TYPE_CHECKING:
    from ingest import FileResult


@click.command()
def worker() -> None:
    """Take queued ingestion batches and ingest them, until stopped (SIGTERM or Ctrl-C: the running batch ends first).

    For ENCLAVE_INGEST_QUEUE=postgres: uploads through the app and the API, and `enclave ingest`, become jobs in the
    database that as many workers as the load needs take, each with its own parse workers and encoder, all writing
    to the same store. A worker that dies leaves no half-written document: its batch goes back to the queue and
    another worker carries it on. Health and metrics: GET /healthz and /metrics on ENCLAVE_WORKER_HEALTH_PORT.
    """
    from ingest import load_settings
    from ui.logs import configure_logging
    from ui.settings import load_ui_settings
    from ui.tracing import start_tracing
    from ui.worker_health import WorkerHealth

    try:
        settings, ui_settings = load_settings(), load_ui_settings()
    except IngestError as exc:
        fail(str(exc))
    configure_logging(ui_settings.log_format)  # what it takes, retries and gives up, on stderr (JSON in a pod)
    if settings.ingest_queue != "postgres":
        fail("there is no queue to work on: set ENCLAVE_INGEST_QUEUE=postgres (and ENCLAVE_DATABASE_URL to "
             "PostgreSQL) for this worker and for the app, the API and `enclave ingest`", EXIT_REFUSED)
    stop_tracing = start_tracing(ui_settings, "enclave-worker")  # each batch a span (ENCLAVE_TRACING)
    health = None
    if ui_settings.worker_health_port:
        try:
            health = WorkerHealth(ui_settings.worker_health_host, ui_settings.worker_health_port,
                                  settings.worker_stalled_seconds).start()
        except OSError as exc:
            fail(f"cannot answer health checks on {ui_settings.worker_health_host}:{ui_settings.worker_health_port}: "
                 f"{exc.strerror or exc}; free the port or set ENCLAVE_WORKER_HEALTH_PORT (0: none)")
    try:
        with opened_enclave(read_only=False, warm_parsers=True, use_queue=False) as enclave:
            where = f"; health on port {health.port}" if health else ""
            stderr.print(f"worker ready: taking ingestion batches from the queue{where} (Ctrl-C stops it)")
            enclave.work_queue(beat=health.beat if health else None)
    finally:
        if health is not None:
            health.close()
        stop_tracing()  # the spans still held are sent
    stderr.print("worker stopped")


def queued_ingest(paths: Sequence[str], groups: Sequence[str], sync: bool,
                  run_batch: Callable[[Callable], list]) -> list["FileResult"] | None:
    """With the queue on, queue the batch and follow it to its end through `run_batch` (cli.py's: the progress
    bars, its errors); None when the queue is off. Opens only the database: the store and models are the workers'."""
    from ingest import load_settings
    from ingest import open_queue

    try:
        settings = load_settings()
        if settings.ingest_queue != "postgres":
            return None
        queue = open_queue(settings)
    except IngestError as exc:
        fail(str(exc))
    try:
        workers = queue.workers()
        waiting = "" if workers else "; no worker is running yet: it waits for one (`enclave worker`)"
        stderr.print(f"queued for the ingestion workers ({workers} running){waiting}; Ctrl-C stops following it, "
                     "not the batch")
        absolute = [str(Path(p).expanduser().absolute()) for p in paths]
        return run_batch(lambda progress: queue.ingest(absolute, user=cli_user().name, groups=groups or None,
                                                       sync=sync, progress=progress))
    finally:
        queue.close()
