"""`/v1/documents`: the documents the caller may see; for admins, uploading files (saved under safe names among the
kept originals, then ingested as the app's Documents page ingests them, while the request waits, or with wait=false
queued for the ingestion workers and followed at `/v1/batches/{id}`) and deleting one.
The service records every change in the audit trail with the key's account."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import cast

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from assistant import Enclave, KeyHolder
from ui.api.auth import admin, caller
from ui.api.errors import ApiError
from ui.api.schemas import (Batch, BatchState, DeletedDocument, Document, DocumentList, FileState, IngestedFile,
                            IngestResults, QueuedFile)
from ui.uploads import save_uploads

router = APIRouter(prefix="/v1", tags=["documents"])


@router.get("/documents", summary="The documents the caller may see (with their groups, for an admin)")
def list_documents(request: Request, holder: KeyHolder = Depends(caller)) -> DocumentList:
    enclave: Enclave = request.app.state.enclave
    user = holder.user
    return DocumentList(data=[
        Document(id=r.document_id, name=r.name, title=r.title, pages=r.pages, chunks=r.chunks, version=r.version,
                 ingested_at=r.ingested_at, groups=list(r.groups) if user.is_admin else None)
        for r in enclave.documents(user)
    ])  # fmt: skip


@router.post("/documents", summary="Upload files and ingest them (admins): one result per file, in order",
             responses={202: {"model": Batch, "description": "With wait=false: the batch, queued for the workers."}})
def upload_documents(
    request: Request,
    response: Response,
    files: list[UploadFile] = File(description="One or more files (multipart/form-data)."),
    groups: list[str] = Form([], description="A group that may see the new documents; repeat the field for more. "
                                             "None: ENCLAVE_DEFAULT_GROUP (a document stored already keeps its own)."),
    wait: bool = Query(True, description="false: answer at once (202) with the queued batch, to follow with GET "
                                         "/v1/batches/{id}; only where ingestion workers run (ENCLAVE_INGEST_QUEUE)."),
    holder: KeyHolder = Depends(admin),
) -> IngestResults | Batch:
    """By default the answer comes once every file is stored or has failed. A file that cannot be saved or ingested
    (unsupported, encrypted, corrupt, empty) is `failed` with its reason, and the others go on."""
    enclave: Enclave = request.app.state.enclave
    if not wait and not enclave.queues_ingestion:
        raise ApiError(400, "wait=false needs ingestion workers (ENCLAVE_INGEST_QUEUE=postgres): this Enclave "
                            "ingests while the request waits; send the upload without it", code="no_ingestion_queue")
    # One batch at a time where this process writes, as the app's Documents page; with workers, it only waits.
    lock: threading.Lock | contextlib.nullcontext = (
        contextlib.nullcontext() if enclave.queues_ingestion else request.app.state.writing)
    chosen = tuple(dict.fromkeys(g.strip() for g in groups if g.strip()))
    with lock:
        saved, refused = save_uploads(((f.filename or "", f.file) for f in files), enclave.originals_dir)
        if not wait:
            response.status_code = 202
            batch_id = enclave.submit(saved, holder.user, groups=chosen or None, refused=refused)
            return batch_view(enclave, batch_id, holder)
        results = enclave.ingest(saved, holder.user, groups=chosen or None) if saved else []
    stored = [(Path(r.path).name, r) for r in results]  # the path under the originals: its name is the caller's
    return IngestResults(data=[
        IngestedFile(file=name, status=r.status, reason=r.reason, document_id=r.document_id, chunks=r.chunks)
        for name, r in [*stored, *((r.path, r) for r in refused)]
    ])  # fmt: skip


@router.get("/batches/{batch_id}", summary="An upload's progress and results (admins)")
def get_batch(batch_id: str, request: Request, holder: KeyHolder = Depends(admin)) -> Batch:
    """Each file's status as the workers log it; `finished` once every file has its result."""
    return batch_view(request.app.state.enclave, batch_id, holder)


def batch_view(enclave: Enclave, batch_id: str, holder: KeyHolder) -> Batch:
    found = enclave.batch(batch_id, holder.user)
    if found is None:
        raise ApiError(404, f"no batch has the id {batch_id!r}", code="batch_not_found")
    batch, progress = found
    return Batch(id=batch.batch_id, status=cast(BatchState, progress), total=batch.total, done=batch.done, data=[
        QueuedFile(file=f.name, status=cast(FileState, f.status), reason=f.reason, chunks=f.chunks)
        for f in batch.files
    ])  # fmt: skip


@router.delete("/documents/{document_id}", summary="Delete a document for good (admins)")
def delete_document(document_id: str, request: Request, holder: KeyHolder = Depends(admin)) -> DeletedDocument:
    """By id only (not by name, which several documents may share): 404 for an id no stored document has."""
    enclave: Enclave = request.app.state.enclave
    if document_id not in {r.document_id for r in enclave.documents()}:
        raise ApiError(404, f"no document has the id {document_id!r}: GET /v1/documents lists them",
                       code="document_not_found")
    with request.app.state.writing:
        enclave.remove([document_id], holder.user)
    return DeletedDocument(id=document_id)
