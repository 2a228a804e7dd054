"""Retrieval: which passages a question gets, among those the asking user may see.

search      hybrid search (dense + sparse, fused by Qdrant) with the user's permissions inside the vector search
reranking   the optional re-ranking stage: the packaged model in-process, or a rerank service
relevance   the relevance gate: which passages hold evidence of answering the question
llamaindex  that retrieval as llama-index parts: a retriever and post-processors (re-rank, duplicates, relevance)
"""

from assistant.retrieval.llamaindex import DuplicateTextFilter, EnclaveRetriever, RelevanceGate, RerankStage
from assistant.retrieval.relevance import is_relevant
from assistant.retrieval.reranking import (
    EmbeddedReranker,
    Reranker,
    RerankerUnavailable,
    ServiceReranker,
    open_reranker,
)
from assistant.retrieval.search import Retriever, may_see, permission_filter

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
    "is_relevant",
    "may_see",
    "open_reranker",
    "permission_filter",
]
