"""Typed data that crosses ingest's boundary: chunks to store, hits that come back, per-file results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

ResultStatus = Literal["added", "unchanged", "updated", "failed", "removed"]  # of a FileResult


@dataclass(frozen=True)
class Element:
    """One structural piece of a parsed document (a title, a paragraph, a list item, a table)."""

    text: str
    category: str  # unstructured's element type: Title, NarrativeText, ListItem, Table, ...
    page: int | None = None
    level: int = 0  # heading depth for titles (0 = top)


@dataclass(frozen=True)
class ParsedDocument:
    path: str
    name: str
    title: str
    elements: list[Element]
    language: str | None = None
    pages: int | None = None
    # Parts of the file that were left out, each with its reason ("attachment 'a.zip' skipped: ..."): the rest
    # of the document is still stored, and the reasons are reported with it.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk as the chunker makes it, before it gets ids, versions and ownership."""

    text: str
    pages: tuple[int, ...] = ()
    section: tuple[str, ...] = ()
    tokens: int | None = None  # the embedding model's tokens in `text`, without specials, when the chunker counted


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough for the embedding model, with everything a citation needs."""

    chunk_id: str
    document_id: str
    index: int
    text: str
    document_name: str
    title: str
    pages: tuple[int, ...] = ()
    section: tuple[str, ...] = ()
    language: str | None = None
    content_hash: str = ""
    version: int = 1
    ingested_at: str = ""
    ingested_by: str = ""
    groups: tuple[str, ...] = ()

    @property
    def page(self) -> int | None:
        return self.pages[0] if self.pages else None

    def to_payload(self) -> dict:
        return {
            "document_id": self.document_id,
            "chunk_index": self.index,
            "text": self.text,
            "document_name": self.document_name,
            "title": self.title,
            "pages": list(self.pages),
            "section": list(self.section),
            "language": self.language,
            "content_hash": self.content_hash,
            "version": self.version,
            "ingested_at": self.ingested_at,
            "ingested_by": self.ingested_by,
            "groups": list(self.groups),
        }

    @classmethod
    def from_payload(cls, chunk_id: str, payload: dict) -> "Chunk":
        return cls(
            chunk_id=chunk_id,
            document_id=payload["document_id"],
            index=payload.get("chunk_index", 0),
            text=payload.get("text", ""),
            document_name=payload.get("document_name", ""),
            title=payload.get("title", ""),
            pages=tuple(payload.get("pages") or ()),
            section=tuple(payload.get("section") or ()),
            language=payload.get("language"),
            content_hash=payload.get("content_hash", ""),
            version=payload.get("version", 1),
            ingested_at=payload.get("ingested_at", ""),
            ingested_by=payload.get("ingested_by", ""),
            groups=tuple(payload.get("groups") or ()),
        )


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk with its vectors, ready to be written."""

    chunk: Chunk
    dense: list[float]
    sparse: SparseVector


@dataclass(frozen=True)
class SearchFilter:
    """Restrictions applied inside the vector search (never after it)."""

    groups: tuple[str, ...] | None = None  # None = no permission restriction (admin / single-group mode)
    document_ids: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None  # only chunks detected in one of these languages (a translated query)


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float
    dense: list[float] | None = None  # the chunk's dense vector, when the search was asked for it


@dataclass
class FileResult:
    path: str
    status: ResultStatus
    reason: str = ""  # why it failed; for a stored file, what was left out of it (a skipped attachment)
    chunks: int = 0
    document_id: str = ""

    def to_json(self) -> dict:
        return {"path": self.path, "status": self.status, "reason": self.reason, "chunks": self.chunks}


def summarize(results: Sequence[FileResult]) -> str:
    """The one-line summary of a batch's results: `N files: A added, U unchanged, F failed[, X updated][, R removed]`."""
    counts = {status: sum(r.status == status for r in results) for status in ("added", "updated", "unchanged", "failed", "removed")}
    files = len([r for r in results if r.status != "removed"])
    line = f"{files} files: {counts['added']} added, {counts['unchanged']} unchanged, {counts['failed']} failed"
    if counts["updated"]:
        line += f", {counts['updated']} updated"
    if counts["removed"]:
        line += f", {counts['removed']} removed"
    return line


@dataclass(frozen=True)
class Progress:
    """One step of ingestion, for progress bars and status tables."""

    kind: str  # "start" (total files known) | "file" (a file finished) | "chunks" (chunks embedded) | "stage"
    path: str = ""
    total: int = 0
    count: int = 0
    stage: str = ""  # for kind="stage": queued | parsing | embedding | waiting (for another writer) | stored | failed
    result: FileResult | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass
class DocumentRecord:
    """What the registry knows about one stored document."""

    document_id: str
    name: str
    source: str
    content_hash: str
    version: int
    chunks: int
    pages: int | None
    size: int
    groups: tuple[str, ...] = ()
    ingested_at: str = ""
    ingested_by: str = ""
    title: str = ""
    language: str | None = None
    extra: dict = field(default_factory=dict)
