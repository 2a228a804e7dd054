"""The batch writer: embeds parsed documents' chunks and writes them to the store, then commits each document to the
registry, in an order that a crash at any point can be repaired from (see `Ingestor.repair`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ingest.chunking import context_header
from ingest.models import Chunk, DocumentRecord, FileResult, Progress, ProgressCallback, StoredChunk
from ingest.sources import ID_NAMESPACE
from ingest.worker import ParseOutcome

if TYPE_CHECKING:  # the pipeline imports this module
    from ingest.pipeline import Ingestor

_UPSERT_BATCH = 256


def chunk_id_for(document_id: str, version: int, index: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{document_id}:{version}:{index}"))


@dataclass
class PendingDocument:
    """A parsed document waiting for its chunks to be embedded and written."""

    key: str  # what results report as the path
    document_id: str
    name: str
    source: str
    content_hash: str
    size: int
    previous: DocumentRecord | None
    outcome: ParseOutcome
    warnings: tuple[str, ...] = ()  # parts of the file left out (an attachment that could not be read)


class ChunkWriter:
    """Embeds and writes chunks in batches that span documents, so many small files don't cost a store flush
    (or a tiny embedding batch) each. A document is committed to the registry only once all its chunks are
    written; until then it is `pending`, and `Ingestor.repair` undoes a half-written one after a crash."""

    def __init__(self, ingestor: "Ingestor", notify: ProgressCallback, results: list[FileResult]) -> None:
        self.ingestor = ingestor
        self.notify = notify
        self.results = results
        self.batch = max(_UPSERT_BATCH, ingestor.settings.embedding_batch_size)
        self.documents: list[tuple[PendingDocument, DocumentRecord]] = []
        self.chunks: list[Chunk] = []

    def add(self, pending: PendingDocument, groups: tuple[str, ...], user: str) -> None:
        outcome = pending.outcome
        version = (pending.previous.version + 1) if pending.previous else 1
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        chunks = [
            Chunk(
                chunk_id=chunk_id_for(pending.document_id, version, i), document_id=pending.document_id, index=i,
                text=draft.text, document_name=pending.name, title=outcome.title, pages=draft.pages,
                section=draft.section, language=outcome.language, content_hash=pending.content_hash,
                version=version, ingested_at=now, ingested_by=user, groups=groups,
            )
            for i, draft in enumerate(outcome.chunks)
        ]
        record = DocumentRecord(
            document_id=pending.document_id, name=pending.name, source=pending.source,
            content_hash=pending.content_hash, version=version, chunks=len(chunks), pages=outcome.pages,
            size=pending.size, groups=groups, ingested_at=now, ingested_by=user, title=outcome.title,
            language=outcome.language,
        )
        self.ingestor.registry.begin(pending.document_id)
        self.documents.append((pending, record))
        self.chunks.extend(chunks)
        if len(self.chunks) >= self.batch:
            self.flush()

    def flush(self) -> None:
        ingestor = self.ingestor
        for start in range(0, len(self.chunks), self.batch):
            batch = self.chunks[start : start + self.batch]
            texts = [self.text_to_encode(c) for c in batch]
            dense = ingestor.embedder.embed_documents(texts)
            sparse = [ingestor.sparse.encode_documents([t], language=c.language)[0] for c, t in zip(batch, texts)]
            ingestor.store.upsert([StoredChunk(c, d, v) for c, d, v in zip(batch, dense, sparse)])
            self.notify(Progress("chunks", count=len(batch)))
        for pending, record in self.documents:
            ingestor.registry.commit(record)
            if pending.previous is not None:  # a new document has no old chunks (crash leftovers: see repair)
                ingestor.store.delete_document(record.document_id, keep_version=record.version)
            ingestor.registry.finish(record.document_id)
            result = FileResult(pending.key, "updated" if pending.previous else "added",
                                reason="; ".join(pending.warnings), chunks=record.chunks,
                                document_id=record.document_id)
            self.results.append(result)
            self.notify(Progress("stage", path=pending.key, stage="stored"))
            self.notify(Progress("file", path=pending.key, result=result))
        self.documents, self.chunks = [], []

    def text_to_encode(self, chunk: Chunk) -> str:
        """The chunk led by its context header, when the header still fits in the model's window with it."""
        header = context_header(chunk)
        if not header:
            return chunk.text
        embedder = self.ingestor.embedder
        room = embedder.max_tokens - 2 - embedder.count_tokens(chunk.text)
        return f"{header}\n\n{chunk.text}" if embedder.count_tokens(header) < room else chunk.text
