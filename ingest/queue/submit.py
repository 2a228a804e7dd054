"""Queue a batch of files for the workers, and follow it: the ingestion log shows its files queued at once, and
each file's progress and result as a worker (any of them, on any machine) writes them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from sqlalchemy import text

from ingest.errors import DatabaseUnavailable, IngestError
from ingest.metrics import forget_queue, watch_queue
from ingest.models import FileResult, Progress, ProgressCallback
from ingest.pipeline.jobs import FINAL, JobLog
from ingest.pipeline.sources import collect_files
from ingest.queue.jobs import QUEUE, TASK, BatchJob, build_app
from ingest.settings import IngestSettings

if TYPE_CHECKING:
    from ingest.database import Database




class IngestQueue:
    """Submits batches to the queue and follows them, on the database it is handed (PostgreSQL)."""

    def __init__(self, settings: IngestSettings, database: "Database", *, poll_seconds: float = 0.5,
                 owns_database: bool = False) -> None:
        """owns_database: close the database with the queue (when it was opened for it: `open_queue`)."""
        self.settings = settings
        self._database = database
        self._owns_database = owns_database
        self._log = JobLog(database)
        self._poll = poll_seconds
        self._app = build_app(settings)
        try:
            self._app.open()
        except Exception as exc:  # psycopg's and procrastinate's own errors: the server is not answering
            raise DatabaseUnavailable(f"the ingestion queue cannot reach PostgreSQL: {exc}") from exc
        watch_queue(self)

    def submit(self, paths: Sequence[str | Path], *, user: str, groups: Sequence[str] | None = None,
               sync: bool = False, actor: dict[str, str] | None = None, failed: Sequence[FileResult] = ()) -> str:
        """Log a batch of these files and folders (folders expanded, a missing path failed at once) and queue its
        job; the batch's id. The paths are made absolute: a worker reads them from the storage all processes share.
        failed: files that failed before they could be queued (an upload that could not be saved), logged with it."""
        absolute = [str(Path(p).expanduser().absolute()) for p in paths]
        files, missing = collect_files(absolute)
        early = [*failed, *missing]
        batch_id = self._log.start(user, [r.path for r in early] + [str(f) for f in files])
        for result in early:
            self._log.update(batch_id, result.path, result.status, result.reason)
        if not files and not sync:  # nothing for a worker to do
            self._log.finish(batch_id)
            return batch_id
        job = BatchJob(batch_id, absolute, user, None if groups is None else list(groups), sync, dict(actor or {}))
        try:
            self._app.configure_task(name=TASK, queue=QUEUE).defer(**job.to_arguments())
        except Exception as exc:
            self._log.abandon(batch_id, f"could not be queued: {exc}")
            raise DatabaseUnavailable(f"the ingestion queue could not take the batch: {exc}") from exc
        return batch_id

    def follow(self, batch_id: str, progress: ProgressCallback | None = None) -> list[FileResult]:
        """Wait until the batch has ended, passing on each file's progress as the log shows it; its results.

        A worker that dies is replaced (its job goes back to the queue); a job that failed for good ends the batch
        with its unsettled files failed, so this returns in every case but one: no worker running at all."""
        notify = progress or (lambda event: None)
        shown: dict[str, str] = {}
        started = False
        while True:
            batch = self._log.get(batch_id)
            if batch is None:
                raise IngestError(f"no batch {batch_id} in the ingestion log")
            if not started:
                notify(Progress("start", total=batch.total))
                started = True
            for file in batch.files:
                if shown.get(file.path) == file.status:
                    continue
                shown[file.path] = file.status
                if file.status in FINAL:
                    notify(Progress("file", path=file.path, result=_result(file.path, file.status, file.reason,
                                                                             file.chunks)))
                else:
                    notify(Progress("stage", path=file.path, stage=file.status))
            if batch.finished_at is not None:
                return [_result(f.path, f.status, f.reason, f.chunks) for f in batch.files]
            if self._job_ended(batch_id):
                self._log.abandon(batch_id, "the worker failed on this batch: its log says why; upload it again")
                continue  # once more, to pass the failures on
            time.sleep(self._poll)

    def ingest(self, paths: Sequence[str | Path], *, user: str, groups: Sequence[str] | None = None,
               sync: bool = False, actor: dict[str, str] | None = None,
               progress: ProgressCallback | None = None) -> list[FileResult]:
        """Submit, then follow: the same results as ingesting here, the work done by a worker."""
        return self.follow(self.submit(paths, user=user, groups=groups, sync=sync, actor=actor), progress)

    def pending(self, batch_id: str) -> bool:
        """Whether the batch's job is still queued or running."""
        return self.progress(batch_id) != "finished"

    def progress(self, batch_id: str) -> str:
        """"queued" while its job waits for a worker, "running" while a worker has it, else "finished"."""
        with self._database.reading("read the ingestion queue") as connection:  # one query: a job moves on
            statuses = set(connection.execute(
                text("SELECT status FROM procrastinate_jobs WHERE queue_name = :queue AND args->>'batch_id' = :batch"
                     " AND status IN ('todo', 'doing')"), {"queue": QUEUE, "batch": batch_id},
            ).scalars())
        return "running" if "doing" in statuses else "queued" if "todo" in statuses else "finished"

    def depth(self) -> int:
        """Jobs waiting for a worker."""
        return self._count("status = 'todo'")

    def workers(self) -> int:
        """Workers alive: those whose heart beat within ENCLAVE_WORKER_STALLED_SECONDS."""
        with self._database.reading("count the ingestion workers") as connection:
            return int(connection.execute(
                text("SELECT count(*) FROM procrastinate_workers "
                     "WHERE last_heartbeat > now() - make_interval(secs => :seconds)"),
                {"seconds": self.settings.worker_stalled_seconds},
            ).scalar_one())

    def close(self) -> None:
        forget_queue(self)
        try:
            self._app.close()
        finally:
            if self._owns_database:
                self._database.close()

    def _job_ended(self, batch_id: str) -> bool:
        return self._count("status IN ('failed', 'cancelled', 'aborted') AND args->>'batch_id' = :batch",
                           batch=batch_id) > 0 and not self.pending(batch_id)

    def _count(self, where: str, **values: str) -> int:
        with self._database.reading("read the ingestion queue") as connection:
            return int(connection.execute(
                text(f"SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :queue AND {where}"),
                {"queue": QUEUE, **values},
            ).scalar_one())


def _result(path: str, status: str, reason: str, chunks: int) -> FileResult:
    from ingest.pipeline.sources import document_id_for

    document_id = document_id_for(Path(path)) if status not in ("failed",) and Path(path).is_absolute() else ""
    return FileResult(path, status, reason, chunks, document_id)  # type: ignore[arg-type]


def open_queue(settings: IngestSettings) -> IngestQueue:
    """A queue on a database of its own, its tables brought up to date: for a process that only submits batches
    (`enclave ingest` beside the workers), and so opens neither the store nor the models."""
    from ingest.database import INGEST_TABLES, open_database, upgrade_tree

    database = open_database(settings)
    try:
        upgrade_tree(database, INGEST_TABLES)
        return IngestQueue(settings, database, owns_database=True)
    except BaseException:
        database.close()
        raise
