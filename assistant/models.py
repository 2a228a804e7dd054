"""Typed data the assistant hands to the UI: who is asking, passages, citations, answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest import Chunk


@dataclass(frozen=True)
class User:
    """Who is asking. Every assistant call takes one: permissions filter by its groups."""

    name: str
    groups: tuple[str, ...] = ("everyone",)
    is_admin: bool = False
    # The admin acting as this account (`--as`): sees what the account sees, and the audit trail names the admin.
    impersonated_by: str = ""
    # The id of the API key the call came with (`enclave keys list` shows it): the audit trail records it too.
    api_key: str = ""


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as shown to the model, numbered from 1."""

    n: int
    chunk: Chunk
    score: float
    relevance: float | None = None  # cosine similarity of the question and the chunk
    shared_terms: int | None = None  # content words (after stemming) the chunk shares with the question
    coverage: float | None = None  # share of the question's terms found in the chunk (its title included)
    question_terms: int | None = None  # how many terms the question has (each content word: its form and its stem)
    vector: tuple[float, ...] | None = None  # the chunk's dense vector, when retrieval was asked for relevance
    instructions: bool = False  # the chunk contained text addressed to the assistant (removed from the prompt)

    def to_json(self) -> dict:
        """What `enclave search` shows of it (its JSON drops `n`), and how the API hands it to the command line."""
        chunk = self.chunk
        return {"n": self.n, "document": chunk.document_name, "page": chunk.page, "chunk_id": chunk.chunk_id,
                "score": self.score, "text": chunk.text}


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
class Sentence:
    """One sentence of an answer, checked against the passages the model was given."""

    text: str  # without citation markers
    citations: tuple[int, ...] = ()  # passage numbers that support it (after checking)
    unsupported: bool = False  # no passage supports it: shown marked, never silently cited
    gap: str = " "  # the whitespace that followed it in the answer (a line break in a list)

    def with_markers(self, text: str | None = None) -> str:
        """The sentence (or `text` standing for it) with its [n] markers before its closing punctuation."""
        text = self.text if text is None else text
        if not self.citations:
            return text
        marker = " [" + ", ".join(str(n) for n in self.citations) + "]"
        end = len(text.rstrip(".!?:;"))
        return text[:end] + marker + text[end:]

    def to_json(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "unsupported": self.unsupported}


@dataclass(frozen=True)
class Answer:
    """What the user gets. `text` carries [n] markers for `citations` (only the passages it cites);
    `retrieved` are the other passages the model was given ("also retrieved")."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True  # False when the model was not asked (nothing relevant found, or a not-found reply)
    sentences: tuple[Sentence, ...] = ()
    retrieved: list[Citation] = field(default_factory=list)
    not_found: bool = False  # Enclave said it could not find this in the documents the user may see
    stopped: bool = False  # the user stopped the answer: `text` is what had arrived
    query: str = ""  # what was searched: the question, or a follow-up rewritten to stand alone
    warnings: tuple[str, ...] = ()  # e.g. a source that contained instructions to the assistant
    reasoning: str = ""  # the model's reasoning, when the server returns it (never part of `text`)

    @property
    def unsupported(self) -> list[Sentence]:
        return [s for s in self.sentences if s.unsupported]

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [s.to_json() for s in self.sentences],
            "also_retrieved": [c.to_json() for c in self.retrieved],
            "not_found": self.not_found,
            "stopped": self.stopped,
            "query": self.query,
            "warnings": list(self.warnings),
        }


def answer_to_json(answer: Answer) -> str:
    """Everything of an answer its redraw needs (the model's reasoning is not kept): how a conversation keeps it, and
    how the API hands it to the command line."""
    return json.dumps({
        "text": answer.text,
        "citations": [_citation(c) for c in answer.citations],
        "retrieved": [_citation(c) for c in answer.retrieved],
        "sentences": [{"text": s.text, "citations": list(s.citations), "unsupported": s.unsupported, "gap": s.gap}
                      for s in answer.sentences],
        "grounded": answer.grounded, "not_found": answer.not_found, "stopped": answer.stopped,
        "query": answer.query, "warnings": list(answer.warnings),
    }, ensure_ascii=False)  # fmt: skip


def answer_from_json(text: str) -> Answer:
    data = json.loads(text)
    return Answer(
        data["text"],
        [_citation_from(c) for c in data["citations"]],
        grounded=data["grounded"],
        sentences=tuple(Sentence(s["text"], tuple(s["citations"]), s["unsupported"], s["gap"])
                        for s in data["sentences"]),
        retrieved=[_citation_from(c) for c in data["retrieved"]],
        not_found=data["not_found"], stopped=data["stopped"], query=data["query"], warnings=tuple(data["warnings"]),
    )  # fmt: skip


def _citation(citation: Citation) -> dict[str, Any]:
    return {"n": citation.n, "document": citation.document, "page": citation.page, "chunk_id": citation.chunk_id,
            "text": citation.text, "document_id": citation.document_id, "section": list(citation.section)}


def _citation_from(data: dict[str, Any]) -> Citation:
    return Citation(data["n"], data["document"], data["page"], data["chunk_id"], data["text"],
                    document_id=data["document_id"], section=tuple(data["section"]))


READINESS_PARTS = ("store", "database", "llm")


@dataclass(frozen=True)
class Readiness:
    """Whether an open Enclave can answer: its store, its database and its LLM server each answered a trivial request
    (`Enclave.readiness`). `problems` holds what went wrong, by part: for the logs, not for whoever asked."""

    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.problems

    def parts(self) -> dict[str, str]:
        """Each part as "ok" or "unavailable", safe to show anyone (no address, no message)."""
        return {part: "unavailable" if part in self.problems else "ok" for part in READINESS_PARTS}
