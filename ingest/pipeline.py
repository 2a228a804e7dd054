"""Ingestion: files → parse (worker processes) → chunk → embed → store → registry, idempotent and crash-safe."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ingest.chunking import ChunkingOptions, context_header
from ingest.embedding import Embedder
from ingest.errors import DocumentError, FileTooLarge, IngestError
from ingest.models import Chunk, DocumentRecord, FileResult, StoredChunk
from ingest.jobs import JobLog
from ingest.registry import Registry
from ingest.settings import IngestSettings
from ingest.sparse import SparseEncoder
from ingest.store import Store
from ingest.worker import ParseOutcome, parse_and_chunk

_NAMESPACE = uuid.UUID("6f1c2a52-8f4e-4d0c-9a53-2c1b6f0e7a11")
_UPSERT_BATCH = 256
DEFAULT_GROUPS = ("everyone",)


def document_id_for(path: Path) -> str:
    """A stable id for the file at this absolute path: re-ingesting it updates the same document."""
    return str(uuid.uuid5(_NAMESPACE, "file:" + str(path.resolve())))


def chunk_id_for(document_id: str, version: int, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{document_id}:{version}:{index}"))


def hash_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand folders recursively (skipping hidden files); report paths that do not exist."""
    files: list[Path] = []
    missing: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileResult(str(raw), "failed", "no such file or folder"))
    seen: set[Path] = set()
    unique = [p for p in files if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique, missing


@dataclass(frozen=True)
class Progress:
    """One step of ingestion, for progress bars and status tables."""

    kind: str  # "start" (total files known) | "file" (a file finished) | "chunks" (chunks embedded) | "stage"
    path: str = ""
    total: int = 0
    count: int = 0
    stage: str = ""  # for kind="stage": queued | parsing | embedding | stored | failed
    result: FileResult | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class TextRecord:
    """A document given as text rather than a file."""

    key: str  # stable identity: the same key later updates the same document
    name: str  # shown as the document's name in results and citations
    title: str
    text: str


@dataclass
class _Job:
    path: Path
    document_id: str
    content_hash: str
    size: int
    previous: DocumentRecord | None


class Ingestor:
    """Owns one store, one registry and the embedding models; ingests, removes and lists documents."""

    def __init__(self, settings: IngestSettings, store: Store, embedder: Embedder, sparse: SparseEncoder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.registry = Registry(settings.registry_path)
        self.jobs = JobLog(settings.data_dir / "jobs.sqlite3")
        self._options = ChunkingOptions(
            tokenizer_path=settings.embedding_model_path,
            max_tokens=min(settings.chunk_tokens, embedder.max_tokens - 2),
            overlap_tokens=settings.chunk_overlap,
        )
        self.repair()

    # -- public -----------------------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        groups: Sequence[str] = DEFAULT_GROUPS,
        user: str = "cli",
        sync: bool = False,
        progress: ProgressCallback | None = None,
    ) -> list[FileResult]:
        files, results = collect_files(paths)
        batch = self.jobs.start(user, [r.path for r in results] + [str(p) for p in files])
        notify = self._logged(batch, progress or (lambda event: None))
        notify(Progress("start", total=len(files) + len(results)))
        for result in results:
            notify(Progress("file", path=result.path, result=result))
        jobs: list[_Job] = []
        for path in files:
            job, result = self._plan(path, tuple(groups))
            if result is not None:
                results.append(result)
                notify(Progress("file", path=str(path), result=result))
            else:
                jobs.append(job)
                notify(Progress("stage", path=str(path), stage="queued"))
        try:
            results.extend(self._run(jobs, tuple(groups), user, notify))
            if sync:
                results.extend(self._sync(paths, {str(p.resolve()) for p in files}, notify))
        finally:
            self.repair()  # interrupted (Ctrl-C, a closed browser tab): leave no half-written document behind
            self.jobs.finish(batch)
        order = {str(path): i for i, path in enumerate(files)}
        results.sort(key=lambda r: order.get(r.path, len(order)))  # in the order given; removals last
        return results

    def _logged(self, batch: str, notify: ProgressCallback) -> ProgressCallback:
        """Forward progress, and keep each file's status in the ingestion log (it outlives the caller)."""

        def forward(event: Progress) -> None:
            if event.kind == "stage":
                self.jobs.update(batch, event.path, event.stage)
            elif event.kind == "file" and event.result is not None:
                r = event.result
                self.jobs.update(batch, r.path, r.status, r.reason, r.chunks)
            notify(event)

        return forward

    def ingest_records(
        self,
        records: Sequence[TextRecord],
        *,
        groups: Sequence[str] = DEFAULT_GROUPS,
        user: str = "cli",
        progress: ProgressCallback | None = None,
    ) -> list[FileResult]:
        """Ingest texts that are not files (a benchmark corpus, an export): same chunking, idempotence and
        crash safety as files; each record's key is its identity."""
        from ingest.chunking import chunk_document
        from ingest.models import Element, ParsedDocument
        from ingest.parsing import detect_language

        notify = progress or (lambda event: None)
        groups = tuple(groups)
        notify(Progress("start", total=len(records)))
        results: list[FileResult] = []
        writer = _Writer(self, notify, results)
        for record in records:
            document_id = str(uuid.uuid5(_NAMESPACE, "record:" + record.key))
            content_hash = hashlib.sha256(f"{record.title}\0{record.text}".encode()).hexdigest()
            previous = self.registry.get(document_id)
            if previous and previous.content_hash == content_hash and previous.groups == groups:
                result = FileResult(record.key, "unchanged", chunks=previous.chunks, document_id=document_id)
                results.append(result)
                notify(Progress("file", path=record.key, result=result))
                continue
            elements = ([Element(record.title, "Title")] if record.title.strip() else []) + [
                Element(record.text, "NarrativeText")
            ]
            parsed = ParsedDocument(path=record.key, name=record.name, title=record.title, elements=elements)
            drafts = chunk_document(parsed, self._options)
            if not drafts:
                result = FileResult(record.key, "failed", "no text content")
                results.append(result)
                notify(Progress("file", path=record.key, result=result))
                continue
            outcome = ParseOutcome(record.title, detect_language([record.title, record.text]), None, drafts)
            writer.add(_Pending(
                key=record.key, document_id=document_id, name=record.name, source="record:" + record.key,
                content_hash=content_hash, size=len(record.text.encode()), previous=previous, outcome=outcome,
            ), groups, user)
        try:
            writer.flush()
        finally:
            self.repair()
        return results

    def remove(self, keys: Sequence[str]) -> list[FileResult]:
        """Delete documents by id, file name or source path."""
        results = []
        for key in keys:
            records = self.registry.find(key)
            if not records:
                results.append(FileResult(key, "failed", "no stored document has this id or name"))
            for record in records:
                self._remove(record)
                results.append(FileResult(record.source, "removed", document_id=record.document_id))
        return results

    def documents(self) -> list[DocumentRecord]:
        return self.registry.all()

    def repair(self) -> None:
        """Bring the store back in line with the registry after an interrupted run."""
        for document_id in self.registry.pending():
            record = self.registry.get(document_id)
            self.store.delete_document(document_id, keep_version=record.version if record else None)
            self.registry.finish(document_id)

    def close(self) -> None:
        self.jobs.close()
        self.registry.close()
        self.store.close()

    # -- steps ------------------------------------------------------------------------------------------------

    def _plan(self, path: Path, groups: tuple[str, ...]) -> tuple[_Job | None, FileResult | None]:
        try:
            size = path.stat().st_size
            limit = int(self.settings.max_file_mb * 1024 * 1024)
            if size > limit:
                raise FileTooLarge(
                    f"file is {size / 1048576:.1f} MB, over the {self.settings.max_file_mb:g} MB limit "
                    "(raise ENCLAVE_MAX_FILE_MB to allow it)"
                )
            content_hash = hash_file(path)
        except DocumentError as exc:
            return None, FileResult(str(path), "failed", str(exc))
        except OSError as exc:
            return None, FileResult(str(path), "failed", f"cannot read the file: {exc.strerror or exc}")
        document_id = document_id_for(path)
        previous = self.registry.get(document_id)
        if previous and previous.content_hash == content_hash and previous.groups == groups:
            return None, FileResult(str(path), "unchanged", chunks=previous.chunks, document_id=document_id)
        return _Job(path, document_id, content_hash, size, previous), None

    def _run(self, jobs: list[_Job], groups: tuple[str, ...], user: str, notify: ProgressCallback) -> list[FileResult]:
        if not jobs:
            return []
        results: list[FileResult] = []
        workers = max(1, min(self.settings.parse_workers, len(jobs)))
        context = multiprocessing.get_context("spawn")
        writer = _Writer(self, notify, results)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures: list[tuple[_Job, Future]] = []
            for job in jobs:
                futures.append((job, pool.submit(parse_and_chunk, str(job.path), self._options)))
                notify(Progress("stage", path=str(job.path), stage="parsing"))
            for job, future in futures:
                failed = self._finish(job, future, groups, user, notify, writer)
                if failed is not None:
                    results.append(failed)
                    notify(Progress("file", path=str(job.path), result=failed))
            writer.flush()
        return results

    def _finish(self, job: _Job, future: Future, groups: tuple[str, ...], user: str,
                notify: ProgressCallback, writer: "_Writer") -> FileResult | None:
        """Collect one parse; hand the chunks to the writer. Returns a result only when the file failed."""
        path = str(job.path)
        try:
            outcome: ParseOutcome = future.result()
        except DocumentError as exc:
            return FileResult(path, "failed", str(exc))
        except BrokenProcessPool as exc:
            return FileResult(path, "failed", f"the parser crashed on this file ({exc})")
        notify(Progress("stage", path=path, stage="embedding"))
        writer.add(_Pending(
            key=path, document_id=job.document_id, name=job.path.name, source=str(job.path.resolve()),
            content_hash=job.content_hash, size=job.size, previous=job.previous, outcome=outcome,
        ), groups, user)
        return None

    def _sync(self, paths: Sequence[str | Path], present: set[str], notify: ProgressCallback) -> list[FileResult]:
        """Remove stored documents that came from these folders but whose files are gone."""
        results = []
        for folder in (Path(p).resolve() for p in paths if Path(p).is_dir()):
            for record in self.registry.under(str(folder)):
                if record.source not in present and not os.path.exists(record.source):
                    self._remove(record)
                    result = FileResult(record.source, "removed", "file no longer exists", document_id=record.document_id)
                    results.append(result)
                    notify(Progress("file", path=record.source, result=result))
        return results

    def _remove(self, record: DocumentRecord) -> None:
        self.registry.begin(record.document_id)
        self.registry.delete(record.document_id)
        self.store.delete_document(record.document_id)
        self.registry.finish(record.document_id)
        original = Path(record.source)
        if original.is_relative_to(self.settings.originals_dir.resolve()):
            original.unlink(missing_ok=True)  # an uploaded copy is ours: deleting the document deletes it


@dataclass
class _Pending:
    """A parsed document waiting for its chunks to be embedded and written."""

    key: str  # what results report as the path
    document_id: str
    name: str
    source: str
    content_hash: str
    size: int
    previous: DocumentRecord | None
    outcome: ParseOutcome


class _Writer:
    """Embeds and writes chunks in batches that span documents, so many small files don't cost a store flush
    (or a tiny embedding batch) each. A document is committed to the registry only once all its chunks are
    written; until then it is `pending`, and `Ingestor.repair` undoes a half-written one after a crash."""

    def __init__(self, ingestor: "Ingestor", notify: ProgressCallback, results: list[FileResult]) -> None:
        self.ingestor = ingestor
        self.notify = notify
        self.results = results
        self.batch = max(_UPSERT_BATCH, ingestor.settings.embedding_batch_size)
        self.documents: list[tuple[_Pending, DocumentRecord]] = []
        self.chunks: list[Chunk] = []

    def add(self, pending: _Pending, groups: tuple[str, ...], user: str) -> None:
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
            result = FileResult(pending.key, "updated" if pending.previous else "added", chunks=record.chunks,
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


def summarize(results: Sequence[FileResult]) -> str:
    counts = {status: sum(r.status == status for r in results) for status in ("added", "updated", "unchanged", "failed", "removed")}
    files = len([r for r in results if r.status != "removed"])
    line = f"{files} files: {counts['added']} added, {counts['unchanged']} unchanged, {counts['failed']} failed"
    if counts["updated"]:
        line += f", {counts['updated']} updated"
    if counts["removed"]:
        line += f", {counts['removed']} removed"
    return line


__all__ = ["Ingestor", "Progress", "TextRecord", "collect_files", "document_id_for", "summarize", "IngestError"]


def open_ingestor(settings: IngestSettings) -> Ingestor:
    """Load the embedding model and open the store and registry named by the settings."""
    from ingest.store import open_store

    embedder = Embedder(
        settings.embedding_model_path, batch_size=settings.embedding_batch_size,
        backend=settings.embedding_backend, cache_dir=settings.embedding_cache_dir,
    )
    store = open_store(settings, embedder.dimension, fusion=settings.search_fusion)
    return Ingestor(settings, store, embedder, SparseEncoder())
