"""Retrieval: which passages a question gets, among those the asking user may see.

search      hybrid search (dense + sparse, fused by Qdrant) with the user's permissions inside the vector search; with
            the question's translations, one search per language, fused by their ranks
reranking   the optional re-ranking stage: the packaged model in-process, or a rerank service
relevance   the relevance gate: which passages hold evidence of answering the question
llamaindex  that retrieval as llama-index parts: a retriever and post-processors (re-rank, duplicates, relevance)
"""

from typing import TYPE_CHECKING

from assistant.retrieval.relevance import is_relevant
from assistant.retrieval.reranking import (
    EmbeddedReranker,
    Reranker,
    RerankerUnavailable,
    ServiceReranker,
    open_reranker,
)
from assistant.retrieval.search import Retriever, fuse_rankings, may_see, permission_filter

if TYPE_CHECKING:
    from assistant.retrieval.llamaindex import DuplicateTextFilter, EnclaveRetriever, RelevanceGate, RerankStage

# llama-index loads on first use (PEP 562): the permission filter and the search need none of it.
_LAZY = {name: "assistant.retrieval.llamaindex"
         for name in ("DuplicateTextFilter", "EnclaveRetriever", "RelevanceGate", "RerankStage")}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistant.retrieval' has no attribute {name!r}")


__all__ = [
    "DuplicateTextFilter",
    "EmbeddedReranker",
    "EnclaveRetriever",
    "RelevanceGate",
    "RerankStage",
    "Reranker",
    "RerankerUnavailable",
    "Retriever",
    "ServiceReranker",
    "fuse_rankings",
    "is_relevant",
    "may_see",
    "open_reranker",
    "permission_filter",
]
