"""Typed data the assistant hands to the UI: who is asking, passages, citations, answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest import Chunk


@dataclass(frozen=True)
class User:
    """Who is asking. Every assistant call takes one: permissions filter by its groups."""

    name: str
    groups: tuple[str, ...] = ("everyone",)
    is_admin: bool = False


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as shown to the model, numbered from 1."""

    n: int
    chunk: Chunk
    score: float
    relevance: float | None = None  # cosine similarity of the question and the chunk
    shared_terms: int | None = None  # content words (after stemming) the chunk shares with the question


@dataclass(frozen=True)
class Citation:
    n: int
    document: str
    page: int | None
    chunk_id: str
    text: str
    document_id: str = ""
    section: tuple[str, ...] = ()

    @classmethod
    def from_passage(cls, passage: Passage) -> "Citation":
        chunk = passage.chunk
        return cls(
            n=passage.n,
            document=chunk.document_name,
            page=chunk.page,
            chunk_id=chunk.chunk_id,
            text=chunk.text,
            document_id=chunk.document_id,
            section=chunk.section,
        )

    def to_json(self) -> dict:
        return {"n": self.n, "document": self.document, "page": self.page, "chunk_id": self.chunk_id, "text": self.text}


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True  # False when nothing relevant was found and the model was not asked

    def to_json(self) -> dict:
        return {"answer": self.text, "citations": [c.to_json() for c in self.citations]}
