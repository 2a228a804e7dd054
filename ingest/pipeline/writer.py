"""The batch writer: embeds parsed documents' chunks and writes them to the store, then commits each document to the
registry, in an order that a crash at any point can be repaired from (see `Ingestor.repair`). It is handed the parts
it writes with (settings, registry, store, encoders), not the Ingestor that owns them."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ingest.disk_space import bytes_for_chunks, ensure_free_space
from ingest.models import Chunk, DocumentRecord, FileResult, Progress, ProgressCallback, StoredChunk
from ingest.parsing.chunking import context_header
from ingest.store.registry import Registry
from ingest.pipeline.sources import ID_NAMESPACE
from ingest.pipeline.worker import ParseOutcome
from ingest.settings import IngestSettings

if TYPE_CHECKING:  # annotations only: the writer is handed these, loaded by whoever opened them
    from ingest.encoders.dense import Embedder
    from ingest.encoders.sparse import SparseEncoder
    from ingest.store import Store

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


@dataclass
class _Batch:
    """Documents waiting to be written, with their chunks and the text encoded for each chunk."""

    documents: list[tuple[PendingDocument, DocumentRecord]] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    keeping_groups: set[str] = field(default_factory=set)  # ids of stored documents that keep the groups they have


class ChunkWriter:
    """Embeds and writes chunks in batches that span documents, so many small files don't cost a store flush, a
    tiny embedding batch or a registry sync each. A document is committed to the registry only once all its chunks
    are written; until then it is `pending`, and `Ingestor.repair` undoes a half-written one after a crash.

    A full batch is written in a thread of its own while the caller goes on collecting parsed documents for the
    next one, so the encoder does not wait for that bookkeeping; one batch at a time is in flight. Use it as a
    context manager: leaving the block by an exception stops the batch in flight at its next chunk batch and waits
    for it, so nothing is still writing when the caller repairs."""

    def __init__(self, settings: IngestSettings, registry: Registry, store: Store, embedder: Embedder,
                 sparse: SparseEncoder, notify: ProgressCallback, results: list[FileResult]) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.notify = notify
        self.results = results
        self.batch = max(_UPSERT_BATCH, settings.embedding_batch_size)
        self.buffer = _Batch()
        self._header_tokens: dict[str, int] = {}  # a document's chunks share a few headers
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enclave-writer")
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enclave-encoder")
        self._in_flight: Future | None = None
        self._stopping = threading.Event()

    def __enter__(self) -> "ChunkWriter":
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._stopping.set()
        try:
            self._wait(raise_errors=kind is None)
        finally:
            self._writer.shutdown(wait=True)
            self._encoder.shutdown(wait=True)

    def add(self, pending: PendingDocument, groups: tuple[str, ...] | None, user: str) -> None:
        """Queue a parsed document, shared with `groups`; None: with the groups it has when it is written (a new
        one: ENCLAVE_DEFAULT_GROUP), so a change of its groups made meanwhile is not undone by this write."""
        outcome = pending.outcome
        if groups is None and pending.previous is not None:
            self.buffer.keeping_groups.add(pending.document_id)
            groups = pending.previous.groups
        elif groups is None:
            groups = (self.settings.default_group,)
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
        self.buffer.documents.append((pending, record))
        self.buffer.chunks.extend(chunks)
        self.buffer.texts.extend(self.text_to_encode(c, d.tokens) for c, d in zip(chunks, outcome.chunks))
        if len(self.buffer.chunks) >= self.batch:
            self._hand_off()

    def flush(self) -> None:
        """Write everything added so far and wait until it is stored; raises what writing raised."""
        if self.buffer.documents:
            self._hand_off()
        self._wait()

    def _hand_off(self) -> None:
        batch, self.buffer = self.buffer, _Batch()
        self._wait()  # the batch before: one in flight at most, and its error surfaces here
        self._in_flight = self._writer.submit(self._write, batch)

    def _wait(self, raise_errors: bool = True) -> None:
        future, self._in_flight = self._in_flight, None
        if future is None:
            return
        error = future.exception()  # waits for it, whatever it raised
        if error is not None and raise_errors:
            raise error

    def _write(self, batch: _Batch) -> None:
        records = [record for _, record in batch.documents]
        # A write the disk cannot hold crashes the process (the embedded store's files are memory-mapped).
        settings = self.settings
        embedded = not settings.qdrant_url
        store_bytes = bytes_for_chunks(batch.texts, self.embedder.dimension) if embedded else 0
        ensure_free_space(settings.data_dir, store_bytes, mapped=settings.qdrant_path if embedded else None)
        ids = [r.document_id for r in records]
        # Locked from before the pending mark until after it is cleared: no other writer (a change of groups, a
        # removal, another process's repair) touches these documents meanwhile. Waiting is told as a stage.
        with self.registry.lock(*ids, on_wait=lambda document_id: self._waiting(batch, document_id)):
            if not self._write_locked(batch, ids):
                return
        for pending, record in batch.documents:
            result = FileResult(pending.key, "updated" if pending.previous else "added",
                                reason="; ".join(pending.warnings), chunks=record.chunks,
                                document_id=record.document_id)
            self.results.append(result)
            self.notify(Progress("stage", path=pending.key, stage="stored"))
            self.notify(Progress("file", path=pending.key, result=result))

    def _write_locked(self, batch: _Batch, ids: list[str]) -> bool:
        """Mark, write, record and clear the batch's documents; False if stopped before it recorded them."""
        self.registry.begin(*ids)  # before the store changes: see repair
        records = self._current_groups(batch)
        spans = [slice(start, start + self.batch) for start in range(0, len(batch.chunks), self.batch)]
        # The dense encoder (all cores) runs one chunk batch ahead in its own thread: this one's single-threaded
        # share (lexical vectors, the store write) overlaps the next batch's encoding instead of idling a core.
        dense = self._encoder.submit(self.embedder.embed_documents, batch.texts[spans[0]])
        for number, span in enumerate(spans):
            chunks, texts = batch.chunks[span], batch.texts[span]
            sparse = [self.sparse.encode_documents([t], language=c.language)[0] for c, t in zip(chunks, texts)]
            vectors = dense.result()
            if self._stopping.is_set():
                return False  # the caller is leaving by an exception: these stay pending, and repair undoes them
            if number + 1 < len(spans):
                dense = self._encoder.submit(self.embedder.embed_documents, batch.texts[spans[number + 1]])
            self.store.upsert([StoredChunk(c, d, v) for c, d, v in zip(chunks, vectors, sparse)])
            self.notify(Progress("chunks", count=len(chunks)))
        self.registry.commit(*records)  # every vector of every one of them is written
        for pending, record in batch.documents:
            if pending.previous is not None:  # a new document has no old chunks (crash leftovers: see repair)
                self.store.delete_document(record.document_id, keep_version=record.version)
        self.registry.finish(*ids)
        return True

    def _waiting(self, batch: _Batch, document_id: str) -> None:
        for pending, _ in batch.documents:
            if pending.document_id == document_id:
                self.notify(Progress("stage", path=pending.key, stage="waiting"))

    def _current_groups(self, batch: _Batch) -> list[DocumentRecord]:
        """The batch's records, those keeping their groups given them as the registry has them now: a revoke made
        while the document was parsed is not undone by writing it. Read once they are locked: a change of their groups
        is refused from then until they are written (`Sharing.share`)."""
        changed: dict[str, tuple[str, ...]] = {}
        for n, (pending, record) in enumerate(batch.documents):
            current = self.registry.get(record.document_id) if record.document_id in batch.keeping_groups else None
            if current is not None and current.groups != record.groups:
                changed[record.document_id] = current.groups
                batch.documents[n] = (pending, replace(record, groups=current.groups))
        if changed:
            batch.chunks = [replace(c, groups=changed[c.document_id]) if c.document_id in changed else c
                            for c in batch.chunks]
        return [record for _, record in batch.documents]

    def text_to_encode(self, chunk: Chunk, tokens: int | None = None) -> str:
        """The chunk led by its context header, when the header still fits in the model's window with it.
        `tokens`: the chunk's own count, when the chunker already made it."""
        header = context_header(chunk)
        if not header:
            return chunk.text
        embedder = self.embedder
        if tokens is None:
            tokens = embedder.count_tokens(chunk.text)
        if header not in self._header_tokens:
            self._header_tokens[header] = embedder.count_tokens(header)
        room = embedder.max_tokens - 2 - tokens
        return f"{header}\n\n{chunk.text}" if self._header_tokens[header] < room else chunk.text
