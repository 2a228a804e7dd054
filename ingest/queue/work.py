"""A worker's loop: take the queue's jobs one at a time, and watch for workers that died.

procrastinate runs the job (in a thread: ingestion is blocking work, with parse processes and the encoder of its
own), beats the worker's heart in the database, and stops on SIGTERM or SIGINT once the running job has ended. On
top of that, every heartbeat each worker looks for jobs whose worker's heart stopped (killed, out of memory, its
machine gone): such a job goes back to the queue, and the next worker free carries its batch on from the log; after
ENCLAVE_WORKER_MAX_ATTEMPTS deaths it is failed for good, with its unsettled files, so one file that kills every
worker cannot stall the queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from typing import Callable

from ingest.pipeline.jobs import JobLog
from ingest.queue.jobs import QUEUE, BatchJob, build_app
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)

GAVE_UP = ("its worker stopped {attempts} times while ingesting this batch (killed, or out of memory): "
           "this file was not stored; check the workers' logs, then upload it again")


def run_worker(settings: IngestSettings, handle: Callable[[BatchJob], object], log: JobLog, *,
               beat: Callable[[], None] | None = None, stop: threading.Event | None = None) -> None:
    """Take jobs until SIGTERM or SIGINT, or until `stop` is set (then finish the running one first). handle: ingest
    one batch (it carries on from the log; see `Ingestor.ingest`'s batch_id). log: the ingestion log, for a batch
    given up. beat: called every heartbeat while the loop runs (a health check's sign of life). Signals are handled
    only when this runs on the main thread."""
    asyncio.run(_serve(settings, handle, log, beat or (lambda: None), stop or threading.Event()))


async def _serve(settings: IngestSettings, handle: Callable[[BatchJob], object], log: JobLog,
                 beat: Callable[[], None], stop: threading.Event) -> None:
    from procrastinate.worker import Worker

    app = build_app(settings, handle)
    async with app.open_async():
        worker = Worker(
            app, queues=[QUEUE], name=socket.gethostname(), concurrency=1, wait=True, install_signal_handlers=True,
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            stalled_worker_timeout=settings.worker_stalled_seconds, delete_jobs="successful",
        )
        watch = asyncio.create_task(_requeue_stalled(app, worker, settings, log, beat), name="requeue stalled jobs")
        work = asyncio.create_task(worker.run(), name="worker")
        try:
            while not work.done() and not stop.is_set():
                await asyncio.wait([work], timeout=0.2)
            if not work.done():
                work.cancel()  # procrastinate stops gracefully: the running job ends first
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            watch.cancel()


async def _requeue_stalled(app: object, worker: object, settings: IngestSettings, log: JobLog,
                           beat: Callable[[], None]) -> None:
    from procrastinate.jobs import Status

    manager = app.job_manager  # type: ignore[attr-defined]
    while True:
        try:
            # procrastinate stops beating when asked to stop, while the running batch goes on to its end: this keeps
            # beating until the worker is gone, so that a worker stopping is never taken for a dead one.
            if (worker_id := worker.worker_id) is not None:  # type: ignore[attr-defined]
                await manager.update_heartbeat(worker_id)
            for job in await manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=settings.worker_stalled_seconds
            ):
                attempts = job.attempts + 1
                batch = job.task_kwargs.get("batch_id", "?")
                if attempts >= settings.worker_max_attempts:
                    logger.error("giving up batch %s: its worker died %d times", batch, attempts)
                    await asyncio.to_thread(log.abandon, batch, GAVE_UP.format(attempts=attempts))
                    await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                else:
                    logger.warning("batch %s: its worker died; back to the queue (attempt %d of %d)",
                                   batch, attempts + 1, settings.worker_max_attempts)
                    await manager.retry_job(job)
            beat()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # another worker requeued it first, or the database is away: try again next beat
            logger.warning("could not check for stalled jobs: %s", exc)
        await asyncio.sleep(settings.worker_heartbeat_seconds)
