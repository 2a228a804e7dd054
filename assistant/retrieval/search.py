"""Find the passages for a question, with the asking user's permissions applied inside the vector search."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping, Sequence

from assistant.errors import RetrievalUnavailable
from assistant.models import Passage, User
from assistant.retrieval.reranking import queries_by_language
from ingest import SearchFilter, SearchHit, SparseVector, StoreUnavailable

RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al., 2009)

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


def fuse_rankings(rankings: Sequence[Sequence[SearchHit]], limit: int, k: int = RRF_K) -> list[SearchHit]:
    """Reciprocal rank fusion of several searches' hits: each hit scores the sum of 1 / (k + rank) over the rankings
    that hold it, best first (ties keep the first ranking's order, the question's own search)."""
    scores: dict[str, float] = {}
    first: dict[str, SearchHit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = hit.chunk.chunk_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            if key not in first or (hit.dense is not None and first[key].dense is None):
                first[key] = hit
    order = sorted(scores, key=lambda key: -scores[key])  # a stable sort: first-seen order breaks ties
    return [replace(first[key], score=scores[key]) for key in order[:limit]]


@dataclass
class Query:
    """One text searched for a question: the question itself (language None: every document), or its translation
    into one language (that language's documents only); its vectors once encoded."""

    text: str
    language: str | None
    dense: list[float] | None = None
    sparse: SparseVector | None = None

    def encode(self, retriever: "Retriever", method: str) -> None:
        """The vectors `method` searches with ("both": both, as judging relevance needs)."""
        if method in ("dense", "hybrid", "both") and self.dense is None:
            self.dense = retriever.embedder.embed_query(self.text)
        if method in ("sparse", "hybrid", "both") and self.sparse is None:
            self.sparse = retriever.sparse.encode_query(self.text, language=self.language)


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
               with_relevance: bool = False, rerank: bool = True,
               translations: Mapping[str, str] | None = None) -> list[Passage]:
        """rerank=False: the first stage only (the assistant re-ranks as a llama-index post-processor).

        translations: {language: the question in it} (assistant/prompting/translation.py). Each is searched inside
        the documents of its language only, beside the question itself over every document, and the rankings are
        fused by their ranks; a passage's relevance figures are those of the query, of all of them, closest to it."""
        method = method or self.method
        rerank = rerank and self.reranker is not None
        limit = max(k, self.rerank_candidates) if rerank else k
        allowed = permission_filter(user)
        queries = [Query(question, None)] + [Query(text, code) for code, text in (translations or {}).items()]
        rankings = []
        for query in queries:
            query.encode(self, method)
            flt = allowed if query.language is None else replace(allowed, languages=(query.language,))
            try:
                rankings.append(self.store.search(query.dense, query.sparse, limit=limit, flt=flt, method=method,
                                                  with_vectors=with_relevance))
            except StoreUnavailable as exc:
                raise RetrievalUnavailable(str(exc)) from exc
        hits = rankings[0] if len(rankings) == 1 else fuse_rankings(rankings, limit)
        hits = (self.rerank(question, hits, translations) if rerank else hits)[:k]
        if not with_relevance:
            return [Passage(n=i, chunk=hit.chunk, score=hit.score) for i, hit in enumerate(hits, start=1)]
        for query in queries:
            query.encode(self, "both")
        passages = [self._judged(i, hit, queries) for i, hit in enumerate(hits, start=1)]
        if len(queries) > 1 and not rerank:
            # Fused ranks tie often (each search's first hit scores the same): the passage closer in meaning to its
            # query goes first, so an English memo found by the translation is not put below a Spanish passage that
            # merely came first among the Spanish documents.
            passages.sort(key=lambda p: (-p.score, -(p.relevance or 0.0)))
            passages = [replace(p, n=i) for i, p in enumerate(passages, start=1)]
        return passages

    def _judged(self, n: int, hit: SearchHit, queries: Sequence["Query"]) -> Passage:
        """The passage with the relevance figures the gate reads, against the query closest to it in meaning."""
        text_terms = set(self._terms(hit.chunk.text, hit.chunk.language))
        title_terms = set(self._terms(hit.chunk.title, hit.chunk.language))
        best: Passage | None = None
        for query in queries:
            assert query.dense is not None and query.sparse is not None  # encoded "both" before judging
            query_terms = set(query.sparse.indices)
            shared = query_terms & text_terms
            passage = Passage(
                n=n,
                chunk=hit.chunk,
                score=hit.score,
                relevance=cosine(query.dense, hit.dense) if hit.dense else None,
                shared_terms=len(shared),
                coverage=len(shared | (query_terms & title_terms)) / len(query_terms) if query_terms else 0.0,
                question_terms=len(query_terms),
                vector=tuple(hit.dense) if hit.dense else None,
            )  # fmt: skip
            if best is None or (passage.relevance or 0.0) > (best.relevance or 0.0):
                best = passage
        assert best is not None
        return best

    def rerank(self, question: str, hits: list[SearchHit],
               translations: Mapping[str, str] | None = None) -> list[SearchHit]:
        """The head reordered by the reranker, each hit scored by what placed it (against the question in its
        language, when translated); the tail keeps the first stage's order (and scores) below it, so deep cut-offs
        such as Recall@100 still see every hit."""
        if self.reranker is None or len(hits) < 2:
            return hits
        head, tail = hits[: self.rerank_candidates], hits[self.rerank_candidates :]
        chunks = [hit.chunk for hit in head]
        ranked = self.reranker.rerank(question, chunks, queries_by_language(question, chunks, translations))
        return [replace(head[r.index], score=r.score) for r in ranked] + tail

    def close(self) -> None:
        if self.reranker is not None:
            self.reranker.close()

    def _terms(self, text: str, language: str | None) -> list[int]:
        return self.sparse.encode_documents([text], language=language)[0].indices
