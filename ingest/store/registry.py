"""The document registry: which documents are stored, at which version and content hash.

A document is recorded here only after all of its vectors are written, so the registry is the truth about what
is complete; chunks in the store that the registry does not vouch for are leftovers of an interrupted run and
are removed by `repair`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ingest.errors import IngestError
from ingest.models import DocumentRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    pages INTEGER,
    size INTEGER NOT NULL,
    groups_json TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    ingested_by TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    language TEXT
);
CREATE INDEX IF NOT EXISTS documents_name ON documents(name);
-- Documents whose chunks in the store may not match the documents table (a write, a replacement or a removal
-- under way). Cleared once the store agrees; whatever is left after a crash is repaired on the next run.
CREATE TABLE IF NOT EXISTS pending (document_id TEXT PRIMARY KEY);
"""

_COLUMNS = (
    "document_id, name, source, content_hash, version, chunks, pages, size, groups_json, "
    "ingested_at, ingested_by, title, language"
)


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise IngestError(f"cannot open the document registry at {path}: {exc}") from exc
        self._lock = threading.Lock()

    def get(self, document_id: str) -> DocumentRecord | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM documents WHERE document_id = ?", (document_id,))
        return rows[0] if rows else None

    def find(self, key: str) -> list[DocumentRecord]:
        """Documents whose id, file name or source path equals key."""
        return self._query(
            f"SELECT {_COLUMNS} FROM documents WHERE document_id = ? OR name = ? OR source = ?", (key, key, key)
        )

    def all(self) -> list[DocumentRecord]:
        return self._query(f"SELECT {_COLUMNS} FROM documents ORDER BY name COLLATE NOCASE")

    def under(self, folder: str) -> list[DocumentRecord]:
        prefix = folder.rstrip("/") + "/"
        return [r for r in self.all() if r.source.startswith(prefix)]

    def save(self, *records: DocumentRecord) -> None:
        rows = [
            (
                r.document_id, r.name, r.source, r.content_hash, r.version, r.chunks, r.pages, r.size,
                json.dumps(list(r.groups)), r.ingested_at, r.ingested_by, r.title, r.language,
            )
            for r in records
        ]
        with self._transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO documents ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def begin(self, *document_ids: str) -> None:
        """Note that the store is about to diverge from the registry for these documents."""
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO pending (document_id) VALUES (?)", [(i,) for i in document_ids])

    def commit(self, *records: DocumentRecord) -> None:
        """Record documents as stored. Call only once all of their vectors are written."""
        self.save(*records)

    def finish(self, *document_ids: str) -> None:
        """The store now holds exactly the registry's version of these documents (or nothing, if removed)."""
        with self._transaction() as db:
            db.executemany("DELETE FROM pending WHERE document_id = ?", [(i,) for i in document_ids])

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable write for many rows: a batch of documents costs one sync of the log, not one each."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def pending(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT document_id FROM pending").fetchall()]

    def delete(self, document_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))

    def close(self) -> None:
        self._db.close()

    def _query(self, sql: str, args: tuple = ()) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            DocumentRecord(
                document_id=r[0], name=r[1], source=r[2], content_hash=r[3], version=r[4], chunks=r[5],
                pages=r[6], size=r[7], groups=tuple(json.loads(r[8])), ingested_at=r[9], ingested_by=r[10],
                title=r[11], language=r[12],
            )
            for r in rows
        ]
