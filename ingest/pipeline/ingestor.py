"""Ingestion: files → parse (worker processes) → chunk → embed → store → registry, idempotent and crash-safe."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ingest.components import Components, open_components
from ingest.errors import DiskFull, DocumentError
from ingest.metrics import record_batch, record_file
from ingest.models import DocumentRecord, FileResult, Progress, ProgressCallback
from ingest.parsing.chunking import ChunkingOptions
from ingest.pipeline.jobs import JobLog
from ingest.pipeline.parse_pool import ParsePool
from ingest.pipeline.sharing import Sharing, clean_groups
from ingest.pipeline.sources import (
    RECORD_SOURCE,
    TextRecord,
    collect_files,
    document_id_for,
    hash_record,
    measure_file,
    record_id_for,
)
from ingest.pipeline.worker import ParseOutcome, parse_and_chunk
from ingest.pipeline.writer import ChunkWriter, PendingDocument
from ingest.settings import IngestSettings
from ingest.tracing import traced_batch


@dataclass
class _Job:
    path: Path
    document_id: str
    content_hash: str
    size: int
    previous: DocumentRecord | None
    groups: tuple[str, ...] | None  # None: the groups it has when written (see `ChunkWriter.add`)


class Ingestor:
    """Ingests, re-indexes, removes and lists documents, with the components it is handed (models, store, registry)
    and parse workers of its own; keeps the ingestion log."""

    def __init__(self, components: Components, parse_pool: ParsePool | None = None,
                 owns_components: bool = False) -> None:
        """owns_components: close the components with the Ingestor (when it built them: see `open_ingestor`)."""
        self.components = components
        self.settings = settings = components.settings
        self.store, self.embedder, self.sparse = components.store, components.embedder, components.sparse
        self.registry = components.registry
        self.sharing = Sharing(self.registry, self.store)  # grant, revoke: who may see a stored document
        self.parse_pool = parse_pool or ParsePool(settings.parse_workers)
        self.jobs = JobLog(components.database)
        self._owns_components = owns_components
        self._options = ChunkingOptions(
            tokenizer_path=settings.embedding_model_path,
            max_tokens=min(settings.chunk_tokens, self.embedder.max_tokens - 2),
            overlap_tokens=settings.chunk_overlap,
        )
        self.repair()

    # -- public -----------------------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        groups: Sequence[str] | None = None,
        user: str = "cli",
        sync: bool = False,
        progress: ProgressCallback | None = None,
        batch_id: str | None = None,
    ) -> list[FileResult]:
        """Store files and folders (recursively), each shared with `groups`. Without groups, a new document is shared
        with ENCLAVE_DEFAULT_GROUP and one already stored keeps its own. A file stored already with the same
        content and other groups is only shared anew, without being parsed or embedded again.

        batch_id: carry on a batch already in the log (queued by `ingest.queue`, or taken up again after its worker
        died): its files that have their result keep it, and are not done again."""
        files, results = collect_files(paths)
        if batch_id is not None:
            files, results = self.jobs.left_to_do(batch_id, files, results)
        wanted = None if groups is None else clean_groups(groups)
        with self._batch(user, [r.path for r in results] + [str(p) for p in files], results, progress, batch_id) \
                as notify:
            jobs = self._queue(((str(p), self._plan(p, wanted)) for p in files), results, notify)
            results.extend(self._run(jobs, user, notify))
            if sync:
                results.extend(self._sync(paths, {str(p.resolve()) for p in files}, notify))
        order = {str(path): i for i, path in enumerate(files)}
        results.sort(key=lambda r: order.get(r.path, len(order)))  # in the order given; removals last
        return results

    def reindex(self, keys: Sequence[str], *, user: str = "cli",
                progress: ProgressCallback | None = None) -> list[FileResult]:
        """Parse, chunk and embed these stored documents (by id, file name or source path) again from their kept
        source files, even when unchanged: after a change of chunking or embedding settings, or a parser fix.
        Each gets a new version, written before the old one is deleted; a document whose file is gone stays."""
        records: dict[str, DocumentRecord] = {}
        results: list[FileResult] = []
        for key in keys:
            found = self.registry.find(key)
            if not found:
                results.append(FileResult(key, "failed", "no stored document has this id or name"))
            records.update((r.document_id, r) for r in found)
        return self._reindex(list(records.values()), results, user, progress)

    def reindex_all(self, *, user: str = "cli", progress: ProgressCallback | None = None) -> list[FileResult]:
        """Re-index every stored document (see `reindex`)."""
        return self._reindex(self.registry.all(), [], user, progress)

    def _reindex(self, records: list[DocumentRecord], results: list[FileResult], user: str,
                 progress: ProgressCallback | None) -> list[FileResult]:
        with self._batch(user, [r.path for r in results] + [r.source for r in records], results, progress) as notify:
            jobs = self._queue(((r.source, self._plan_reindex(r)) for r in records), results, notify)
            results.extend(self._run(jobs, user, notify))
        order = {r.source: i for i, r in enumerate(records)}
        results.sort(key=lambda r: order.get(r.path, -1))  # unknown keys first, then in the order asked
        return results

    @contextmanager
    def _batch(self, user: str, paths: list[str], early: list[FileResult],
               progress: ProgressCallback | None, batch_id: str | None = None) -> Iterator[ProgressCallback]:
        """One logged batch of work on `paths`, some of which (`early`) already have their result; yields the
        progress callback. However the batch ends, no half-written document is left behind. batch_id: a batch
        the log has already (a queued one), carried on instead of a new one."""
        batch = batch_id if batch_id is not None else self.jobs.start(user, paths)
        started, finished = time.monotonic(), False
        notify = self._logged(batch, progress or (lambda event: None))
        notify(Progress("start", total=len(paths)))
        for result in early:
            notify(Progress("file", path=result.path, result=result))
        with traced_batch(len(paths)):
            try:
                yield notify
                finished = True
            finally:
                self.repair()  # interrupted (Ctrl-C, a closed browser tab): leave no half-written document behind
                self.jobs.finish(batch)
                record_batch(time.monotonic() - started, finished)

    def _queue(self, plans: Iterable[tuple[str, tuple[_Job | None, FileResult | None]]], results: list[FileResult],
               notify: ProgressCallback) -> list[_Job]:
        """The jobs to run; the files settled by planning alone (unchanged, refused) go straight to results."""
        jobs: list[_Job] = []
        for path, (job, result) in plans:
            if result is not None:
                results.append(result)
                notify(Progress("file", path=path, result=result))
            elif job is not None:
                jobs.append(job)
                notify(Progress("stage", path=path, stage="queued"))
        return jobs

    def _logged(self, batch: str, notify: ProgressCallback) -> ProgressCallback:
        """Forward progress, and keep each file's status in the ingestion log (it outlives the caller)."""

        def forward(event: Progress) -> None:
            if event.kind == "stage":
                self.jobs.update(batch, event.path, event.stage)
            elif event.kind == "file" and event.result is not None:
                r = event.result
                self.jobs.update(batch, r.path, r.status, r.reason, r.chunks)
                record_file(r)
            notify(event)

        return forward

    def ingest_records(
        self,
        records: Sequence[TextRecord],
        *,
        groups: Sequence[str] | None = None,
        user: str = "cli",
        progress: ProgressCallback | None = None,
    ) -> list[FileResult]:
        """Ingest texts that are not files (a benchmark corpus, an export): same chunking, idempotence, crash safety
        and groups as files (see `ingest`); each record's key is its identity."""
        notify = progress or (lambda event: None)
        wanted = None if groups is None else clean_groups(groups)
        notify(Progress("start", total=len(records)))
        results: list[FileResult] = []
        try:
            with self._writer(notify, results) as writer:
                self._write_records(records, wanted, user, writer, results, notify)
                writer.flush()
        finally:
            self.repair()
        order = {record.key: i for i, record in enumerate(records)}
        results.sort(key=lambda r: order.get(r.path, len(order)))  # in the order given (the writer has its thread)
        return results

    def _writer(self, notify: ProgressCallback, results: list[FileResult]) -> ChunkWriter:
        return ChunkWriter(self.settings, self.registry, self.store, self.embedder, self.sparse, notify, results)

    def _write_records(self, records: Sequence[TextRecord], groups: tuple[str, ...] | None, user: str,
                       writer: ChunkWriter, results: list[FileResult], notify: ProgressCallback) -> None:
        """Chunk each changed record and hand it to the writer; unchanged and empty ones go straight to results."""
        from ingest.models import Element, ParsedDocument
        from ingest.parsing.chunking import chunk_document
        from ingest.parsing.elements import detect_language

        for record in records:
            document_id = record_id_for(record.key)
            content_hash = hash_record(record)
            previous = self.registry.get(document_id)
            if previous and previous.content_hash == content_hash:
                result = self.sharing.ingested_again(record.key, previous, groups)
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
            writer.add(PendingDocument(
                key=record.key, document_id=document_id, name=record.name, source=RECORD_SOURCE + record.key,
                content_hash=content_hash, size=len(record.text.encode()), previous=previous, outcome=outcome,
            ), groups, user)

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
        """Bring the store back in line with the registry after an interrupted run: of a document left pending, the
        chunks of a version the registry does not vouch for are deleted (all of them, when it has no record), and
        those it vouches for are shared with the groups it records (an interrupted change of groups), not deleted.
        A pending document another writer holds (this process's other threads, another process or app replica) is
        being written, not interrupted: it is left to that writer."""
        for document_id in self.registry.pending():
            with self.registry.lock(document_id, wait=False) as held:
                if not held or not self.registry.is_pending(document_id):  # written right now, or finished meanwhile
                    continue
                record = self.registry.get(document_id)
                self.store.delete_document(document_id, keep_version=record.version if record else None)
                if record is not None:
                    self.store.set_document_groups(document_id, record.groups)
                self.registry.finish(document_id)

    def close(self) -> None:
        try:
            self.parse_pool.close()
            self.jobs.close()
        finally:
            if self._owns_components:
                self.components.close()

    # -- steps ------------------------------------------------------------------------------------------------

    def _plan(self, path: Path, groups: tuple[str, ...] | None) -> tuple[_Job | None, FileResult | None]:
        try:
            size, content_hash = measure_file(path, self.settings.max_file_mb)
        except DocumentError as exc:
            return None, FileResult(str(path), "failed", str(exc))
        document_id = document_id_for(path)
        previous = self.registry.get(document_id)
        if previous and previous.content_hash == content_hash:
            return None, self.sharing.ingested_again(str(path), previous, groups)
        return _Job(path, document_id, content_hash, size, previous, groups), None

    def _plan_reindex(self, record: DocumentRecord) -> tuple[_Job | None, FileResult | None]:
        """A job re-reading the document's kept source file (whatever its hash), keeping its id and groups."""
        def failed(reason: str) -> tuple[None, FileResult]:
            return None, FileResult(record.source, "failed", reason, document_id=record.document_id)

        if record.source.startswith(RECORD_SOURCE):
            return failed("stored from text, not from a file: ingest its text again to re-index it")
        path = Path(record.source)
        if not path.is_file():
            return failed(f"original file is gone: {record.source}; upload it again (the stored version is kept)")
        try:
            size, content_hash = measure_file(path, self.settings.max_file_mb)
        except DocumentError as exc:
            return failed(str(exc))
        return _Job(path, record.document_id, content_hash, size, record, None), None

    def _run(self, jobs: list[_Job], user: str, notify: ProgressCallback) -> list[FileResult]:
        if not jobs:
            return []
        results: list[FileResult] = []
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)  # an attachment is a file too
        tasks = [(job, (str(job.path), self._options, max_bytes)) for job in jobs]
        for job in jobs:
            notify(Progress("stage", path=str(job.path), stage="parsing"))
        # As each parse ends, not in the order given: one slow file must not leave the encoder idle while the files
        # after it wait, parsed. Closing the iterator (an interruption) parses no more of this batch.
        try:
            with self._writer(notify, results) as writer, \
                    closing(self.parse_pool.completed(parse_and_chunk, tasks)) as parsed:
                for job, future in parsed:
                    failed = self._finish(job, future, user, notify, writer)
                    if failed is not None:
                        results.append(failed)
                        notify(Progress("file", path=str(job.path), result=failed))
                writer.flush()
        except DiskFull as exc:
            # Checked before a batch is written, so nothing of it is: it and every file not yet stored fail.
            settled = {r.path for r in results}
            for job in jobs:
                if str(job.path) not in settled:
                    failed = FileResult(str(job.path), "failed", str(exc))
                    results.append(failed)
                    notify(Progress("file", path=str(job.path), result=failed))
        return results

    def _finish(self, job: _Job, future: Future, user: str, notify: ProgressCallback,
                writer: ChunkWriter) -> FileResult | None:
        """Collect one parse; hand the chunks to the writer. Returns a result only when the file failed."""
        path = str(job.path)
        try:
            outcome: ParseOutcome = future.result()
        except DocumentError as exc:
            return FileResult(path, "failed", str(exc))
        except BrokenProcessPool:
            return FileResult(path, "failed", "the parser crashed on this file (a bug in a parsing library or a "
                              "hostile file); the rest of the batch was parsed without it")
        notify(Progress("stage", path=path, stage="embedding"))
        writer.add(PendingDocument(
            key=path, document_id=job.document_id, name=job.path.name, source=str(job.path.resolve()),
            content_hash=job.content_hash, size=job.size, previous=job.previous, outcome=outcome,
            warnings=outcome.warnings,
        ), job.groups, user)
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
        with self.registry.lock(record.document_id):  # after whoever writes it now (it may re-record it)
            self.registry.begin(record.document_id)
            self.registry.delete(record.document_id)
            self.store.delete_document(record.document_id)
            self.registry.finish(record.document_id)
        original = Path(record.source)
        if original.is_relative_to(self.settings.originals_dir.resolve()):
            original.unlink(missing_ok=True)  # an uploaded copy is ours: deleting the document deletes it


__all__ = ["Ingestor", "open_ingestor"]


def open_ingestor(settings: IngestSettings, warm_parsers: bool = False) -> Ingestor:
    """Load the embedding model, open the store and registry named by the settings, repair what an interrupted run
    left behind. The Ingestor owns what it opened: closing it closes them.

    warm_parsers: start the parse workers first, so they import the parsers while the model loads (for a caller
    about to ingest; otherwise they start with the first batch)."""
    pool = ParsePool(settings.parse_workers)
    if warm_parsers:
        pool.start()
    try:
        components = open_components(settings)
    except BaseException:
        pool.close()
        raise
    try:
        return Ingestor(components, parse_pool=pool, owns_components=True)
    except BaseException:
        pool.close()
        components.close()
        raise
