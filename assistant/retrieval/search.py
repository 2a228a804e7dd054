"""Find the passages for a question, with the asking user's permissions applied inside the vector search."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from assistant.errors import RetrievalUnavailable
from assistant.models import Passage, User
from ingest import SearchFilter, SearchHit, StoreUnavailable

if TYPE_CHECKING:
    from assistant.retrieval.reranking import Reranker
    from ingest import Embedder, SparseEncoder, Store


def permission_filter(user: User) -> SearchFilter:
    """The user sees chunks of documents shared with at least one of their groups — and nothing else.
    Admins manage every document, so they may search every document."""
    return SearchFilter(groups=None if user.is_admin else tuple(user.groups))


def may_see(user: User, groups: Sequence[str]) -> bool:
    """Whether the user may see a document shared with these groups: the rule `permission_filter` applies inside
    the vector search, for one document outside a search (opening its original, choosing it for an overview)."""
    return user.is_admin or bool(set(user.groups) & set(groups))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class Retriever:
    """Hybrid (dense + lexical) retrieval in one Qdrant query, always filtered by the user's groups; then, when a
    reranker is given, its reordering of the first `rerank_candidates` hits. The reranker sees only what the
    filtered search returned, so it can change the order of what a user gets, never what they may get."""

    def __init__(self, embedder: Embedder, sparse: SparseEncoder, store: Store, method: str = "hybrid",
                 reranker: Reranker | None = None, rerank_candidates: int = 20) -> None:
        self.embedder = embedder
        self.sparse = sparse
        self.store = store
        self.method = method
        self.reranker = reranker
        self.rerank_candidates = rerank_candidates

    def search(self, question: str, user: User, k: int = 10, method: str | None = None,
               with_relevance: bool = False, rerank: bool = True) -> list[Passage]:
        """rerank=False: the first stage only (the assistant re-ranks as a llama-index post-processor)."""
        method = method or self.method
        dense = self.embedder.embed_query(question) if method in ("dense", "hybrid") else None
        sparse = self.sparse.encode_query(question) if method in ("sparse", "hybrid") else None
        rerank = rerank and self.reranker is not None
        limit = max(k, self.rerank_candidates) if rerank else k
        try:
            hits: list[SearchHit] = self.store.search(
                dense, sparse, limit=limit, flt=permission_filter(user), method=method, with_vectors=with_relevance
            )
        except StoreUnavailable as exc:
            raise RetrievalUnavailable(str(exc)) from exc
        hits = (self.rerank(question, hits) if rerank else hits)[:k]
        if not with_relevance:
            return [Passage(n=i, chunk=hit.chunk, score=hit.score) for i, hit in enumerate(hits, start=1)]
        query_vector = dense if dense is not None else self.embedder.embed_query(question)
        query_terms = set((sparse or self.sparse.encode_query(question)).indices)
        passages = []
        for i, hit in enumerate(hits, start=1):
            shared = query_terms & set(self._terms(hit.chunk.text, hit.chunk.language))
            titled = shared | (query_terms & set(self._terms(hit.chunk.title, hit.chunk.language)))
            passages.append(Passage(
                n=i,
                chunk=hit.chunk,
                score=hit.score,
                relevance=cosine(query_vector, hit.dense) if hit.dense else None,
                shared_terms=len(shared),
                coverage=len(titled) / len(query_terms) if query_terms else 0.0,
                question_terms=len(query_terms),
                vector=tuple(hit.dense) if hit.dense else None,
            ))  # fmt: skip
        return passages

    def rerank(self, question: str, hits: list[SearchHit]) -> list[SearchHit]:
        """The head reordered by the reranker, each hit scored by what placed it; the tail keeps the first stage's
        order (and scores) below it, so deep cut-offs such as Recall@100 still see every hit."""
        if self.reranker is None or len(hits) < 2:
            return hits
        head, tail = hits[: self.rerank_candidates], hits[self.rerank_candidates :]
        ranked = self.reranker.rerank(question, [hit.chunk for hit in head])
        return [replace(head[r.index], score=r.score) for r in ranked] + tail

    def close(self) -> None:
        if self.reranker is not None:
            self.reranker.close()

    def _terms(self, text: str, language: str | None) -> list[int]:
        return self.sparse.encode_documents([text], language=language)[0].indices
