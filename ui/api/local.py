"""`/v1/local/...`: the command line on this machine, working through the API that holds the embedded store (`enclave
ingest`, `reindex`, `search`, `ask`, `documents`, `remove` and `backup` while the app or `enclave api` runs). Not for
API keys: the caller shows the token the server wrote in the data folder (ui/run_file.py) and comes from loopback; it
acts as the command line's user, an admin (or `--as` an account), exactly as the command would on the store itself.

Ingestion and answers are streamed as JSON lines, so the command draws the same progress bars and streams the same
text: an event per line, and a failure as `{"error": {...}, "exit": N}` with the exit code the command would give.
These routes are left out of the OpenAPI reference: they are the command line's, not a public contract."""

from __future__ import annotations

import ipaddress
import json
import queue
import secrets
import threading
from dataclasses import replace
from typing import Any, Callable, Iterator, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from assistant import (
    AccountError,
    AssistantError,
    AuditError,
    ConversationError,
    Enclave,
    User,
    answer_to_json,
)
from ingest import BackupRefused, IngestError, Progress, SharingRefused, StoreUnavailable
from ui.api.errors import ApiError, api_error_of

router = APIRouter(prefix="/v1/local", tags=["local"], include_in_schema=False)
bearer = HTTPBearer(auto_error=False)

EXIT_REFUSED = 1  # as the command line's: refused as asked (a file failed, an unknown account, a busy document)
EXIT_UNAVAILABLE = 2  # the store, the database, the audit trail or the LLM did not answer

NOT_LOCAL = ("only the command line on this machine may call /v1/local: it reads its token from the data folder's "
             "api.json")


class Caller(BaseModel):
    user: str = Field(min_length=1, description="The command line's user (its login): an admin.")
    as_name: str | None = Field(None, description="Act as this account, as `--as` does.")


class BatchRequest(Caller):
    action: Literal["ingest", "reindex", "reindex_all"] = "ingest"
    paths: list[str] = Field(default_factory=list, description="Absolute paths (ingest), or documents (reindex).")
    groups: list[str] = Field(default_factory=list)
    sync: bool = False


class SearchRequest(Caller):
    query: str
    k: int = Field(10, ge=1, le=1000)
    method: Literal["dense", "sparse", "hybrid"] | None = None
    translate: bool = False


class AskRequest(Caller):
    question: str
    conversation: str | None = None


class RemoveRequest(Caller):
    documents: list[str]


class BackupRequest(Caller):
    folder: str = Field(min_length=1, description="The backup folder, an absolute path (new or empty).")


def local_caller(request: Request,
                 credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Refuse anyone but the command line on this machine: the run file's token, from a loopback address."""
    token: str | None = request.app.state.local_token
    client = request.client.host if request.client else ""
    shown = credentials.credentials if credentials else ""
    if token is None or not secrets.compare_digest(shown.encode(), token.encode()) or not _loopback(client):
        raise ApiError(403, NOT_LOCAL, "permission_error", "not_local")


def acting(enclave: Enclave, caller: Caller) -> User:
    """The command line's user, an admin; with `as_name`, that account as it is now, the admin named as acting."""
    admin = User(name=caller.user, groups=("everyone",), is_admin=True)
    if caller.as_name is None:
        return admin
    try:
        return replace(enclave.accounts.get(caller.as_name).user(), impersonated_by=admin.name)
    except AccountError as exc:
        raise ApiError(400, str(exc), code="unknown_account") from exc


@router.get("/status", dependencies=[Depends(local_caller)])
def status() -> dict[str, Any]:
    import os

    return {"pid": os.getpid()}


@router.post("/batch", dependencies=[Depends(local_caller)])
def run_batch(body: BatchRequest, request: Request) -> StreamingResponse:
    """Ingest or re-index, one writer at a time with the app's uploads: progress events as they come, then the
    results. The work goes on if the command is stopped (as an upload in the app does): it is crash-safe either way."""
    enclave: Enclave = request.app.state.enclave
    writing: threading.Lock = request.app.state.writing
    user = acting(enclave, body)

    def work(progress: Callable[[Progress], None]) -> list:
        with writing:
            if body.action == "reindex_all":
                return enclave.reindex_all(user, progress=progress)
            if body.action == "reindex":
                return enclave.reindex(body.paths, user, progress=progress)
            return enclave.ingest(body.paths, user, groups=body.groups or None, sync=body.sync, progress=progress)

    return _json_lines(_batch_events(work))


def _batch_events(work: Callable[[Callable[[Progress], None]], list]) -> Iterator[dict[str, Any]]:
    def run(say: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        def progress(event: Progress) -> None:
            say({"event": event.kind, "path": event.path, "total": event.total, "count": event.count,
                 "stage": event.stage, "result": None if event.result is None else _result(event.result)})

        return {"event": "done", "results": [_result(r) for r in work(progress)]}

    return _streamed(run, refused=(SharingRefused,), unavailable=(StoreUnavailable, AuditError))


def _streamed(work: Callable[[Callable[[dict[str, Any]], None]], dict[str, Any]], *,
              refused: tuple[type[Exception], ...], unavailable: tuple[type[Exception], ...] = ()
              ) -> Iterator[dict[str, Any]]:
    """Run `work` in a thread of its own, and yield what it says (its progress) as it says it, then what it returns;
    a failure is the last event, with exit 1 for `refused`, else 2 (`unavailable`, and anything unexpected)."""
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def run() -> None:
        try:
            events.put(work(events.put))
        except refused as exc:
            events.put(_failure(exc, EXIT_REFUSED))
        except unavailable as exc:
            events.put(_failure(exc, EXIT_UNAVAILABLE))
        except Exception as exc:  # the command says it in one line, and the server logs the details
            events.put(_failure(exc, EXIT_UNAVAILABLE))
        finally:
            events.put(None)

    threading.Thread(target=run, name="local-work", daemon=True).start()
    while (event := events.get()) is not None:
        yield event


@router.post("/search", dependencies=[Depends(local_caller)])
def search(body: SearchRequest, request: Request) -> list[dict[str, Any]]:
    enclave: Enclave = request.app.state.enclave
    passages = enclave.assistant.search(body.query, acting(enclave, body), k=body.k, method=body.method,
                                        translate=body.translate)
    return [p.to_json() for p in passages]


@router.post("/ask", dependencies=[Depends(local_caller)])
def ask(body: AskRequest, request: Request) -> StreamingResponse:
    """The answer's text as the model writes it (`{"text"}` lines), then the checked answer and the conversation turn
    it was kept as (`{"answer", "partial", "conversation", "turn"}`, or `kept_error` when it could not be kept)."""
    enclave: Enclave = request.app.state.enclave
    user = acting(enclave, body)
    try:
        history = [] if body.conversation is None else enclave.open_conversation(user, body.conversation).history
    except ConversationError as exc:
        raise ApiError(404, str(exc), code="conversation_not_found") from exc
    stream = enclave.assistant.ask(body.question, user, history=history)

    def events() -> Iterator[dict[str, Any]]:
        try:
            for text in stream:
                yield {"text": text}
            answer = stream.read()
        except AssistantError as exc:
            yield _failure(exc, EXIT_UNAVAILABLE)
            return
        finally:
            if stream.answer is None:
                stream.stop()  # the command was stopped: what had arrived is kept as stopped
        done: dict[str, Any] = {"answer": json.loads(answer_to_json(answer)), "partial": stream.partial_text}
        try:
            turn = enclave.keep_turn(user, body.conversation, body.question, answer)
            done |= {"conversation": turn.conversation_id, "turn": turn.n}
        except AssistantError as exc:
            done["kept_error"] = str(exc)
        yield done

    return _json_lines(events())


@router.post("/documents", dependencies=[Depends(local_caller)])
def documents(body: Caller, request: Request) -> list[dict[str, Any]]:
    enclave: Enclave = request.app.state.enclave
    return [{**r.__dict__, "groups": list(r.groups)} for r in enclave.documents(acting(enclave, body))]


@router.post("/remove", dependencies=[Depends(local_caller)])
def remove(body: RemoveRequest, request: Request) -> list[dict[str, Any]]:
    enclave: Enclave = request.app.state.enclave
    with request.app.state.writing:
        try:
            results = enclave.remove(body.documents, acting(enclave, body))
        except AuditError as exc:
            raise ApiError(503, str(exc), "server_error", "audit_unavailable") from exc
    return [_result(r) for r in results]


@router.post("/backup", dependencies=[Depends(local_caller)])
def backup(body: BackupRequest, request: Request) -> StreamingResponse:
    """Back up while the app runs: its writing lock held for the copy (an upload or a batch under way finishes first,
    the next one waits), the store paused. Progress events (`{"step", "done", "total"}`) as bytes are copied, then
    `{"documents", "files", "size"}`; a refusal (the folder is not empty) exits 1."""
    from pathlib import Path

    enclave: Enclave = request.app.state.enclave
    writing: threading.Lock = request.app.state.writing
    user = acting(enclave, body)

    def run(say: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        def progress(step: str, done: int, total: int) -> None:
            say({"step": step, "done": done, "total": total})

        with writing:
            manifest = enclave.back_up(Path(body.folder), user, progress=progress)
        return {"documents": manifest.documents, "files": len(manifest.files), "size": manifest.size}

    return _json_lines(_streamed(run, refused=(BackupRefused,)))


def _result(result: Any) -> dict[str, Any]:
    return {**result.to_json(), "document_id": result.document_id}


def _failure(exc: Exception, exit_code: int) -> dict[str, Any]:
    """A failure as its last line: the message of ours, and for anything unexpected the API's own (logged)."""
    message = str(exc) if isinstance(exc, (IngestError, AssistantError)) else api_error_of(exc).message
    return {"error": {"message": message, "type": type(exc).__name__}, "exit": exit_code}


def _json_lines(events: Iterator[dict[str, Any]]) -> StreamingResponse:
    lines = (json.dumps(event, ensure_ascii=False) + "\n" for event in events)
    return StreamingResponse(lines, media_type="application/x-ndjson", headers={"Cache-Control": "no-cache"})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
