"""The ingestion log: per-batch, per-file status (queued → parsing → embedding → stored/failed), kept on disk so a
status table survives a page reload or a restart, and an interrupted batch shows as interrupted."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from ingest.errors import IngestError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, user TEXT NOT NULL, total INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_files (
    batch_id TEXT NOT NULL, position INTEGER NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', chunks INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
    PRIMARY KEY (batch_id, path)
);
"""

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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a status row lost in a power cut costs nothing
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise IngestError(f"cannot open the ingestion log at {path}: {exc}") from exc
        self._lock = threading.Lock()

    def start(self, user: str, paths: Sequence[str]) -> str:
        batch_id = uuid.uuid4().hex
        now = _now()
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO batches VALUES (?,?,?,?,?)", (batch_id, now, None, user, len(paths)))
            self._db.executemany(
                "INSERT OR IGNORE INTO batch_files (batch_id, position, path, status, updated_at) VALUES (?,?,?,?,?)",
                [(batch_id, i, p, "queued", now) for i, p in enumerate(paths)],
            )
        return batch_id

    def update(self, batch_id: str, path: str, status: str, reason: str = "", chunks: int | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO batch_files (batch_id, position, path, status, reason, chunks, updated_at) "
                "VALUES (?, (SELECT COUNT(*) FROM batch_files WHERE batch_id = ?), ?, ?, ?, COALESCE(?, 0), ?) "
                "ON CONFLICT (batch_id, path) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
                "chunks = COALESCE(?, chunks), updated_at = excluded.updated_at",
                (batch_id, batch_id, path, status, reason, chunks, _now(), chunks),
            )

    def finish(self, batch_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET finished_at = ? WHERE batch_id = ?", (_now(), batch_id))

    def latest(self, running: bool = False) -> BatchStatus | None:
        """The newest batch. Unless it is known to be running, files it never finished show as interrupted."""
        with self._lock:
            row = self._db.execute(
                "SELECT batch_id, user, started_at, finished_at, total FROM batches ORDER BY started_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            files = self._db.execute(
                "SELECT path, status, reason, chunks FROM batch_files WHERE batch_id = ? ORDER BY position", (row[0],)
            ).fetchall()
        interrupted = row[3] is None and not running
        return BatchStatus(
            batch_id=row[0], user=row[1], started_at=row[2], finished_at=row[3], total=row[4],
            files=[
                FileStatus(p, "interrupted" if interrupted and s not in FINAL else s, r, c) for p, s, r, c in files
            ],
        )

    def close(self) -> None:
        self._db.close()
