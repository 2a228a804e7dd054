"""The ingestion log: per-batch, per-file status (queued → parsing → embedding → stored/failed), kept in the database
so a status table survives a page reload or a restart, and an interrupted batch shows as interrupted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import func, select, update

from ingest.database import Database, tables
from ingest.models import FileResult

_batches, _files = tables.batches, tables.batch_files

FINAL = ("added", "updated", "unchanged", "failed", "removed")


@dataclass(frozen=True)
class FileStatus:
    path: str
    status: str  # queued | parsing | embedding | stored | added | updated | unchanged | failed | removed | interrupted
    reason: str
    chunks: int

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class BatchStatus:
    batch_id: str
    user: str
    started_at: str
    finished_at: str | None
    total: int
    files: list[FileStatus]

    @property
    def done(self) -> int:
        return sum(f.status in FINAL for f in self.files)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class JobLog:
    """Reads and writes the log's tables (`batches`, `batch_files`). Each call is its own transaction on a connection
    of the database's pool, so the parse workers' progress, the writer thread and the page reading it share it."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def start(self, user: str, paths: Sequence[str]) -> str:
        batch_id = uuid.uuid4().hex
        now = _now()
        # After every batch already logged: started_at has whole seconds, and two batches may share one.
        seq = select(func.coalesce(func.max(_batches.c.seq), 0) + 1).scalar_subquery()
        files = self._database.insert(_files).on_conflict_do_nothing(index_elements=[_files.c.batch_id, _files.c.path])
        with self._database.writing("log a new batch") as connection:
            connection.execute(_batches.insert().values(
                batch_id=batch_id, seq=seq, started_at=now, finished_at=None, user=user, total=len(paths),
            ))
            if paths:
                connection.execute(files, [
                    {"batch_id": batch_id, "position": i, "path": p, "status": "queued", "updated_at": now}
                    for i, p in enumerate(paths)
                ])
        return batch_id

    def update(self, batch_id: str, path: str, status: str, reason: str = "", chunks: int | None = None) -> None:
        """Set a file's status (a file the batch did not list is added after the others); chunks None keeps the
        count logged so far."""
        position = select(func.count()).select_from(_files).where(_files.c.batch_id == batch_id).scalar_subquery()
        upsert = self._database.insert(_files).values(
            batch_id=batch_id, position=position, path=path, status=status, reason=reason, chunks=chunks or 0,
            updated_at=_now(),
        )
        changed: dict[str, Any] = {name: upsert.excluded[name] for name in ("status", "reason", "updated_at")}
        if chunks is not None:
            changed["chunks"] = upsert.excluded.chunks
        with self._database.writing("log a file's status") as connection:
            connection.execute(
                upsert.on_conflict_do_update(index_elements=[_files.c.batch_id, _files.c.path], set_=changed)
            )

    def finish(self, batch_id: str) -> None:
        with self._database.writing("log the end of a batch") as connection:
            connection.execute(update(_batches).where(_batches.c.batch_id == batch_id).values(finished_at=_now()))

    def latest(self, running: bool = False) -> BatchStatus | None:
        """The newest batch. Unless it is known to be running, files it never finished show as interrupted."""
        return self._read(select(_batches).order_by(_batches.c.started_at.desc(), _batches.c.seq.desc()), running)

    def get(self, batch_id: str, running: bool = True) -> BatchStatus | None:
        """One batch by its id (None if the log has no such batch); see `latest` for `running`."""
        return self._read(select(_batches).where(_batches.c.batch_id == batch_id), running)

    def left_to_do(self, batch_id: str, files: list[Path],
                   early: list[FileResult]) -> tuple[list[Path], list[FileResult]]:
        """Of a batch carried on (queued, or taken up again after its worker died): the files still to do, and the
        results known already, those the log has first (a file it settled is not done twice)."""
        batch = self.get(batch_id)
        settled = {f.path: f for f in batch.files if f.status in FINAL} if batch else {}
        known = [FileResult(f.path, f.status, f.reason, f.chunks) for f in settled.values()]  # type: ignore[arg-type]
        return [p for p in files if str(p) not in settled], known + [r for r in early if r.path not in settled]

    def abandon(self, batch_id: str, reason: str) -> None:
        """Fail every file of the batch that has no result yet, with `reason`, and end the batch."""
        batch = self.get(batch_id)
        for file in batch.files if batch else []:
            if file.status not in FINAL:
                self.update(batch_id, file.path, "failed", reason)
        self.finish(batch_id)

    def _read(self, query: Any, running: bool) -> BatchStatus | None:
        with self._database.reading("read the ingestion log") as connection:
            batch = connection.execute(query.limit(1)).mappings().first()
            if batch is None:
                return None
            files = connection.execute(
                select(_files.c.path, _files.c.status, _files.c.reason, _files.c.chunks)
                .where(_files.c.batch_id == batch["batch_id"]).order_by(_files.c.position)
            ).all()
        interrupted = batch["finished_at"] is None and not running
        return BatchStatus(
            batch_id=batch["batch_id"], user=batch["user"], started_at=batch["started_at"],
            finished_at=batch["finished_at"], total=batch["total"],
            files=[
                FileStatus(p, "interrupted" if interrupted and s not in FINAL else s, r, c) for p, s, r, c in files
            ],
        )

    def close(self) -> None:
        """Nothing to release: the database belongs to whoever opened it (the components), and closes with them."""
