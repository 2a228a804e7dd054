"""The document registry: which documents are stored, at which version and content hash (tables `documents` and
`pending` of the database).

A document is recorded here only after all of its vectors are written, so the registry is the truth about what
is complete; chunks in the store that the registry does not vouch for are leftovers of an interrupted run and
are removed by `repair`.

Every writer of a document (ingestion, re-index, removal, a change of its groups, repair) holds its lock (`lock`)
from before it marks the document pending until after it clears the mark. So a pending document whose lock is free
was left by a writer that died, and only such a one is repaired; one whose lock is held is being written right now.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Select, bindparam, delete, func, select, update

from ingest.database import Database, tables
from ingest.models import DocumentRecord

_documents, _pending = tables.documents, tables.pending
_LOCK_PREFIX = "document:"


class Registry:
    """Reads and writes the registry's tables. Each call is its own transaction, on a connection of the database's
    pool: threads and processes (the app beside `enclave ingest`) share it safely; each write of many rows is one
    durable commit."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, document_id: str) -> DocumentRecord | None:
        rows = self._query(select(_documents).where(_documents.c.document_id == document_id))
        return rows[0] if rows else None

    def find(self, key: str) -> list[DocumentRecord]:
        """Documents whose id, file name or source path equals key."""
        c = _documents.c
        return self._query(select(_documents).where((c.document_id == key) | (c.name == key) | (c.source == key)))

    def all(self) -> list[DocumentRecord]:
        """By file name, ignoring case (then by name and id, so the order is the same on every database)."""
        c = _documents.c
        return self._query(select(_documents).order_by(func.lower(c.name), c.name, c.document_id))

    def under(self, folder: str) -> list[DocumentRecord]:
        prefix = folder.rstrip("/") + "/"
        return [r for r in self.all() if r.source.startswith(prefix)]

    def save(self, *records: DocumentRecord) -> None:
        """Insert these records, or replace the stored record of the same document (the last given wins)."""
        latest = {r.document_id: r for r in records}  # one statement may not update a row twice (PostgreSQL)
        if not latest:
            return
        upsert = self._database.insert(_documents)
        replace = {c.name: upsert.excluded[c.name] for c in _documents.c if not c.primary_key}
        with self._database.writing("record stored documents") as connection:
            connection.execute(
                upsert.on_conflict_do_update(index_elements=[_documents.c.document_id], set_=replace),
                [_row(r) for r in latest.values()],
            )

    @contextmanager
    def lock(self, *document_ids: str, wait: bool = True,
             on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
        """Hold these documents against every other writer (a thread, a process, an app replica on another machine)
        for the block: yields True. If another writer holds one, wait for it (`on_wait(document_id)` told first), or
        with wait=False yield False at once, holding none. Released when the block ends, or its process does."""
        def waiting(name: str) -> None:
            if on_wait is not None:
                on_wait(name.removeprefix(_LOCK_PREFIX))

        with self._database.locking([_LOCK_PREFIX + i for i in document_ids], wait=wait, on_wait=waiting) as held:
            yield held

    def begin(self, *document_ids: str) -> None:
        """Note that the store is about to diverge from the registry for these documents."""
        if not document_ids:
            return
        mark = self._database.insert(_pending).on_conflict_do_nothing(index_elements=[_pending.c.document_id])
        with self._database.writing("mark documents as being written") as connection:
            connection.execute(mark, [{"document_id": i} for i in dict.fromkeys(document_ids)])

    def claim(self, document_id: str) -> bool:
        """Mark one document as being written, unless it is already: False when it is marked (by a writer that
        holds its lock, or one that died and left it for repair). One statement, so two claimers cannot both win."""
        mark = self._database.insert(_pending).on_conflict_do_nothing(index_elements=[_pending.c.document_id])
        with self._database.writing("mark a document as being written") as connection:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
            inserted = connection.execute(mark.returning(_pending.c.document_id), {"document_id": document_id})
            return inserted.first() is not None

    def set_groups(self, document_id: str, groups: Sequence[str]) -> bool:
        """Record the groups a stored document is shared with (its other fields as they are); False if there is no
        such document."""
        change = update(_documents).where(_documents.c.document_id == document_id)
        with self._database.writing("record a document's groups") as connection:
            return connection.execute(change.values(groups_json=json.dumps(list(groups)))).rowcount == 1

    def commit(self, *records: DocumentRecord) -> None:
        """Record documents as stored. Call only once all of their vectors are written."""
        self.save(*records)

    def finish(self, *document_ids: str) -> None:
        """The store now holds exactly the registry's version of these documents (or nothing, if removed)."""
        if not document_ids:
            return
        clear = delete(_pending).where(_pending.c.document_id == bindparam("id"))
        with self._database.writing("clear the documents' being-written marks") as connection:
            connection.execute(clear, [{"id": i} for i in document_ids])

    def is_pending(self, document_id: str) -> bool:
        with self._database.reading("read the documents being written") as connection:
            marked = connection.execute(select(_pending.c.document_id).where(_pending.c.document_id == document_id))
            return marked.first() is not None

    def pending(self) -> list[str]:
        with self._database.reading("read the documents being written") as connection:
            return list(connection.execute(select(_pending.c.document_id)).scalars())

    def delete(self, document_id: str) -> None:
        with self._database.writing("delete a document's record") as connection:
            connection.execute(delete(_documents).where(_documents.c.document_id == document_id))

    def close(self) -> None:
        """Nothing to release: the database belongs to whoever opened it (the components), and closes with them."""

    def _query(self, query: Select[Any]) -> list[DocumentRecord]:
        with self._database.reading("read the document registry") as connection:
            rows = connection.execute(query).mappings().all()
        return [
            DocumentRecord(
                document_id=r["document_id"], name=r["name"], source=r["source"], content_hash=r["content_hash"],
                version=r["version"], chunks=r["chunks"], pages=r["pages"], size=r["size"],
                groups=tuple(json.loads(r["groups_json"])), ingested_at=r["ingested_at"],
                ingested_by=r["ingested_by"], title=r["title"], language=r["language"],
            )
            for r in rows
        ]


def _row(record: DocumentRecord) -> dict[str, Any]:
    r = record
    return {
        "document_id": r.document_id, "name": r.name, "source": r.source, "content_hash": r.content_hash,
        "version": r.version, "chunks": r.chunks, "pages": r.pages, "size": r.size,
        "groups_json": json.dumps(list(r.groups)), "ingested_at": r.ingested_at, "ingested_by": r.ingested_by,
        "title": r.title, "language": r.language,
    }
