"""Find the passages for a question, with the asking user's permissions applied inside the vector search."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from assistant.errors import RetrievalUnavailable
from assistant.models import Passage, User
from ingest import SearchFilter, SearchHit, StoreUnavailable

if TYPE_CHECKING:
    from ingest import Embedder, SparseEncoder, Store


def permission_filter(user: User) -> SearchFilter:
    """The user sees chunks of documents shared with at least one of their groups — and nothing else."""
    return SearchFilter(groups=tuple(user.groups))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class Retriever:
    """Hybrid (dense + lexical) retrieval in one Qdrant query, always filtered by the user's groups."""

    def __init__(self, embedder: Embedder, sparse: SparseEncoder, store: Store, method: str = "hybrid") -> None:
        self.embedder = embedder
        self.sparse = sparse
        self.store = store
        self.method = method

    def search(self, question: str, user: User, k: int = 10, method: str | None = None,
               with_relevance: bool = False) -> list[Passage]:
        method = method or self.method
        dense = self.embedder.embed_query(question) if method in ("dense", "hybrid") else None
        sparse = self.sparse.encode_query(question) if method in ("sparse", "hybrid") else None
        try:
            hits: list[SearchHit] = self.store.search(
                dense, sparse, limit=k, flt=permission_filter(user), method=method, with_vectors=with_relevance
            )
        except StoreUnavailable as exc:
            raise RetrievalUnavailable(str(exc)) from exc
        query_vector = dense if dense is not None else (self.embedder.embed_query(question) if with_relevance else None)
        return [
            Passage(
                n=i,
                chunk=hit.chunk,
                score=hit.score,
                relevance=cosine(query_vector, hit.dense) if (query_vector is not None and hit.dense) else None,
            )
            for i, hit in enumerate(hits, start=1)
        ]
