"""What the API's endpoints take and give, as pydantic models: FastAPI checks requests against them (a bad one is a
400 naming the field) and the OpenAPI document at /openapi.json describes them. The chat models follow OpenAI's Chat
Completions shape; `citations` and `checked_content` are Enclave's additions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL = "enclave"  # the one model the API serves: Enclave's assistant, whatever LLM writes for it


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls...: read by nothing here

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request. Sampling options (temperature, max_tokens, ...) are accepted and ignored: Enclave's settings
    decide them, so that every client gets the same checked answers."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description=f"`{MODEL}`, the one model GET /v1/models lists.")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation, oldest first; the last message "
                                        "is the user's question, earlier user and assistant messages its history.")
    stream: bool = Field(False, description="Send the answer as server-sent events as it is written.")


class Citation(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    document: str
    page: int | None
    chunk_id: str
    text: str


class AnswerMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = Field(description="The answer, checked against its sources, with [n] markers.")
    citations: list[Citation] = Field(description="The passages the answer cites.")


class Choice(BaseModel):
    index: int = 0
    message: AnswerMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL
    choices: list[Choice]


class Model(BaseModel):
    id: str = MODEL
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "enclave"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(10, ge=1, le=50, description="How many passages.")
    method: Literal["dense", "sparse", "hybrid"] | None = Field(
        None, description="Retrieval method; default: the server's ENCLAVE_SEARCH_METHOD.")
    translate: bool = Field(False, description=(
        "Also search the other languages of the documents the caller may see, with the query translated by the "
        "server's LLM (one call), as questions to the assistant are."))


class SearchHit(Citation):
    score: float


class SearchResults(BaseModel):
    object: Literal["list"] = "list"
    data: list[SearchHit]


class Document(BaseModel):
    id: str = Field(description="The document's id: DELETE /v1/documents/{id} takes it.")
    object: Literal["document"] = "document"
    name: str = Field(description="Its file name.")
    title: str
    pages: int | None
    chunks: int
    version: int = Field(description="1, then one more each time it is ingested again with a change.")
    ingested_at: str
    groups: list[str] | None = Field(
        description="The groups whose members may see it (empty: admins alone); shown to admins only, null for "
                    "members.")


class DocumentList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Document]


class IngestedFile(BaseModel):
    file: str = Field(description="The file's name, as saved (made safe) or as sent when it could not be saved.")
    status: Literal["added", "updated", "unchanged", "failed", "removed"]
    reason: str = Field(description="Why it failed; for a stored file, what was left out of it.")
    document_id: str
    chunks: int


class IngestResults(BaseModel):
    object: Literal["list"] = "list"
    data: list[IngestedFile]


FileState = Literal["queued", "parsing", "embedding", "waiting", "stored", "added", "updated", "unchanged", "failed",
                    "removed", "interrupted"]
BatchState = Literal["queued", "running", "finished"]


class QueuedFile(BaseModel):
    file: str = Field(description="The file's name, as saved (made safe) or as sent when it could not be saved.")
    status: FileState
    reason: str = Field(description="Why it failed; for a stored file, what was left out of it.")
    chunks: int


class Batch(BaseModel):
    id: str = Field(description="The batch's id: GET /v1/batches/{id} follows it.")
    object: Literal["batch"] = "batch"
    status: BatchState = Field(
        description="queued: no worker has taken it yet; running: a worker is on it; finished: every file has its "
                    "result (each file's status says which).")
    total: int
    done: int = Field(description="Files with their result so far.")
    data: list[QueuedFile]


class DeletedDocument(BaseModel):
    id: str
    object: Literal["document"] = "document"
    deleted: Literal[True] = True
