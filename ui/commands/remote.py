"""The command line through a running API: while the app (`enclave up`) or `enclave api` holds the embedded store,
`enclave ingest`, `reindex`, `search`, `ask`, `documents`, `remove` and `backup` send their work to its /v1/local
routes on loopback (ui/api/local.py), with the token from the data folder's run file, and print what they would print
working on the store themselves: the same progress bars, JSON and exit codes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import httpx

from ingest import FileResult, IngestError, Progress
from ui.commands.terminal import fail, stderr
from ui.errors import UIError
from ui.run_file import RunningApi, read_run_file

EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 2

# Ingestion and answers take as long as they take: no read timeout on the streams; connecting is quick or nothing.
T = TypeVar("T")

STREAM_TIMEOUT = httpx.Timeout(30.0, read=None)
CALL_TIMEOUT = httpx.Timeout(30.0, read=600.0)


class RemoteFailed(UIError):
    """The running API refused or failed the work: the message to print and the exit code the command gives."""

    def __init__(self, message: str, exit_code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RemoteAnswer:
    answer: Any  # assistant.Answer
    partial: str  # the text as it streamed
    conversation: str | None = None
    turn: int | None = None
    kept_error: str = ""


def find_running_api() -> Remote | None:
    """The API that holds this data folder's embedded store, if one runs on this machine and answers."""
    from ingest import load_settings

    try:
        api = read_run_file(load_settings().data_dir)
    except IngestError:  # a bad setting is said by the command itself, opening the store
        return None
    if api is None:
        return None
    remote = Remote(api)
    return remote if remote.answers() else None


class Remote:
    def __init__(self, api: RunningApi) -> None:
        import getpass

        self.api = api
        self.user = getpass.getuser()

    def _client(self) -> httpx.Client:
        """A client for one call (nothing is left open after the command): no proxy from the environment, ever."""
        return httpx.Client(base_url=f"{self.api.url}/v1/local", timeout=CALL_TIMEOUT, trust_env=False,
                            headers={"Authorization": f"Bearer {self.api.token}"})

    @property
    def where(self) -> str:
        return f"the running Enclave (process {self.api.pid}, {self.api.url})"

    def answers(self) -> bool:
        try:
            with self._client() as client:
                return client.get("/status", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def batch(self, action: str, progress: Callable[[Progress], None], *, paths: list[str] | None = None,
              groups: tuple[str, ...] = (), sync: bool = False) -> list[FileResult]:
        """Ingest or re-index through the API: its progress events fed to `progress`, then the results."""
        body = {"user": self.user, "action": action, "paths": paths or [], "groups": list(groups), "sync": sync}
        for event in self._lines("/batch", body):
            if "results" in event:
                return [_file_result(r) for r in event["results"]]
            result = None if event.get("result") is None else _file_result(event["result"])
            progress(Progress(event["event"], path=event.get("path", ""), total=event.get("total", 0),
                              count=event.get("count", 0), stage=event.get("stage", ""), result=result))
        raise RemoteFailed(f"{self.where} stopped before the work was done: see its output")

    def search(self, query: str, k: int, method: str | None, as_name: str | None,
               translate: bool = False) -> list[dict[str, Any]]:
        body = {"user": self.user, "as_name": as_name, "query": query, "k": k, "method": method,
                "translate": translate}
        return self._call("/search", body)

    def ask(self, question: str, conversation: str | None, as_name: str | None,
            on_text: Callable[[str], None]) -> RemoteAnswer:
        """Stream the answer's text to `on_text`; the checked answer and the turn it was kept as."""
        from assistant import answer_from_json

        body = {"user": self.user, "as_name": as_name, "question": question, "conversation": conversation}
        for event in self._lines("/ask", body):
            if "text" in event:
                on_text(event["text"])
            elif "answer" in event:
                return RemoteAnswer(answer_from_json(json.dumps(event["answer"])), event["partial"],
                                    event.get("conversation"), event.get("turn"), event.get("kept_error", ""))
        raise RemoteFailed(f"{self.where} stopped before the answer was done: see its output")

    def documents(self, as_name: str | None) -> list[dict[str, Any]]:
        return self._call("/documents", {"user": self.user, "as_name": as_name})

    def remove(self, documents: tuple[str, ...]) -> list[FileResult]:
        return [_file_result(r) for r in self._call("/remove", {"user": self.user, "documents": list(documents)})]

    def backup(self, folder: str, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
        """Back up through the API (the app pauses its writers for the copy): its progress fed to `progress`, then
        `{"documents", "files", "size"}`."""
        for event in self._lines("/backup", {"user": self.user, "folder": folder}):
            if "documents" in event:
                return event
            progress(event["step"], event["done"], event["total"])
        raise RemoteFailed(f"{self.where} stopped before the backup was done: see its output")

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        try:
            with self._client() as client:
                response = client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise RemoteFailed(f"{self.where} did not answer ({exc}): is it still running?") from exc
        if response.status_code != 200:
            raise _refusal(response)
        return response.json()

    def _lines(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The JSON lines of a streamed route; a failure line raises RemoteFailed with its exit code."""
        try:
            with self._client() as client, client.stream("POST", path, json=body, timeout=STREAM_TIMEOUT) as response:
                if response.status_code != 200:
                    response.read()
                    raise _refusal(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if "error" in event:
                        raise RemoteFailed(event["error"]["message"], event.get("exit", EXIT_UNAVAILABLE))
                    yield event
        except httpx.HTTPError as exc:
            raise RemoteFailed(f"{self.where} stopped answering ({exc}): see its output") from exc


def _refusal(response: httpx.Response) -> RemoteFailed:
    """A refused call: 4xx as asked (an unknown account or conversation: exit 1), else unavailable (exit 2)."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {response.status_code}"
    refused = response.status_code in (400, 404, 409)
    return RemoteFailed(message, EXIT_REFUSED if refused else EXIT_UNAVAILABLE)


def _file_result(data: dict[str, Any]) -> FileResult:
    return FileResult(path=data["path"], status=data["status"], reason=data.get("reason", ""),
                      chunks=data.get("chunks", 0), document_id=data.get("document_id", ""))


def running_api() -> Remote | None:
    """The app or `enclave api` holding this data folder's embedded store, if one runs on this machine: the command
    then works through its API, and says so in one line."""
    remote = find_running_api()
    if remote is not None:
        stderr.print(f"{remote.where} holds the store: working through its API", highlight=False)
    return remote


def remotely(call: Callable[[], T]) -> T:
    """A call to the running app's API; a refusal or failure is the command's one line, with its exit code."""
    try:
        return call()
    except RemoteFailed as exc:
        fail(str(exc), exc.exit_code)
