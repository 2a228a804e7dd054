"""Enclave's retrieval as llama-index parts: a retriever and node post-processors.

Teams that build on llama-index can plug Enclave's search into their own query or chat engines:

    retriever = EnclaveRetriever(enclave.assistant.retriever, user)
    engine = RetrieverQueryEngine.from_args(retriever, node_postprocessors=[DuplicateTextFilter(), RelevanceGate()])

The permission filter is applied inside the vector search, by the user the retriever was made for: a node a user
may not see is never returned, whatever post-processors follow. Enclave's own answering uses the same parts
(assistant/answering/assistant.py). A node carries its chunk's payload as metadata (`document_name`, `pages`, `section`, ...)
plus the relevance figures the gate reads; `passage_from_node` turns it back into a `Passage`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.models import Passage, User
from assistant.retrieval.relevance import is_relevant
from assistant.retrieval.reranking import queries_by_language
from ingest import Chunk

if TYPE_CHECKING:
    from assistant.retrieval.reranking import Reranker
    from assistant.retrieval.search import Retriever

# Metadata the LLM-facing text of a node should not carry (llama-index's own prompt building reads these lists).
_HIDDEN = ["relevance", "shared_terms", "coverage", "question_terms", "vector", "instructions", "content_hash",
           "version", "groups", "ingested_by", "ingested_at", "document_id", "chunk_index", "text"]


def node_from_passage(passage: Passage) -> NodeWithScore:
    metadata: dict[str, Any] = passage.chunk.to_payload()
    metadata.update(relevance=passage.relevance, shared_terms=passage.shared_terms, coverage=passage.coverage,
                    question_terms=passage.question_terms,
                    vector=list(passage.vector) if passage.vector is not None else None,
                    instructions=passage.instructions)
    node = TextNode(id_=passage.chunk.chunk_id, text=passage.chunk.text, metadata=metadata,
                    excluded_llm_metadata_keys=_HIDDEN, excluded_embed_metadata_keys=_HIDDEN)
    return NodeWithScore(node=node, score=passage.score)


def passage_from_node(node: NodeWithScore, n: int) -> Passage:
    metadata = node.node.metadata
    vector = metadata.get("vector")
    return Passage(
        n=n,
        chunk=Chunk.from_payload(node.node.node_id, {**metadata, "text": node.node.get_content()}),
        score=float(node.score or 0.0),
        relevance=metadata.get("relevance"),
        shared_terms=metadata.get("shared_terms"),
        coverage=metadata.get("coverage"),
        question_terms=metadata.get("question_terms"),
        vector=tuple(vector) if vector is not None else None,
        instructions=bool(metadata.get("instructions")),
    )


class EnclaveRetriever(BaseRetriever):
    """Hybrid search in Qdrant with `user`'s permission filter inside it; nodes best first.

    rerank=False leaves re-ranking to a `RerankStage` post-processor (as Enclave's answering does)."""

    def __init__(self, retriever: "Retriever", user: User, k: int = 20, rerank: bool = True,
                 with_relevance: bool = True, translations: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._translations = dict(translations or {})  # {language: the query in it}, searched beside it
        self._retriever = retriever
        self._user = user
        self._k = k
        self._rerank = rerank
        self._with_relevance = with_relevance

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        passages = self._retriever.search(query_bundle.query_str, self._user, k=self._k,
                                          with_relevance=self._with_relevance, rerank=self._rerank,
                                          translations=self._translations)
        return [node_from_passage(p) for p in passages]


class RerankStage(BaseNodePostprocessor):
    """Enclave's re-ranking stage (the embedded model or a rerank service) over the first `candidates` nodes;
    the rest keep their order below them."""

    candidates: int = Field(default=20)
    _reranker: "Reranker" = PrivateAttr()
    _translations: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, reranker: "Reranker", candidates: int = 20,
                 translations: Mapping[str, str] | None = None) -> None:
        super().__init__(candidates=candidates)  # type: ignore[call-arg]  # a pydantic field: mypy sees no plugin
        self._reranker = reranker
        self._translations = dict(translations or {})  # {language: question}: a chunk is scored in its own

    @classmethod
    def class_name(cls) -> str:
        return "EnclaveRerankStage"

    def _postprocess_nodes(self, nodes: List[NodeWithScore],
                           query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        if query_bundle is None or len(nodes) < 2:
            return nodes
        head, tail = nodes[: self.candidates], nodes[self.candidates :]
        chunks = [passage_from_node(node, i).chunk for i, node in enumerate(head, start=1)]
        query = query_bundle.query_str
        ranked = self._reranker.rerank(query, chunks, queries_by_language(query, chunks, self._translations))
        return [NodeWithScore(node=head[r.index].node, score=r.score) for r in ranked] + tail


class DuplicateTextFilter(BaseNodePostprocessor):
    """One place per text: a document that repeats itself, or the same text in several files, would otherwise
    fill the model's few passages with copies. The best-ranked copy stays."""

    @classmethod
    def class_name(cls) -> str:
        return "EnclaveDuplicateTextFilter"

    def _postprocess_nodes(self, nodes: List[NodeWithScore],
                           query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        seen: set[str] = set()
        kept = []
        for node in nodes:
            key = normalized_text(node.node.get_content())
            if key not in seen:
                seen.add(key)
                kept.append(node)
        return kept


class RelevanceGate(BaseNodePostprocessor):
    """Keep nodes with evidence of answering the query (see `is_relevant`); at most `top_k` of them."""

    min_relevance: float = Field(default=0.2)
    min_semantic_relevance: float = Field(default=0.5)
    min_coverage: float = Field(default=0.0)
    top_k: int = Field(default=4)

    @classmethod
    def class_name(cls) -> str:
        return "EnclaveRelevanceGate"

    def _postprocess_nodes(self, nodes: List[NodeWithScore],
                           query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        kept = [node for i, node in enumerate(nodes, start=1)
                if is_relevant(passage_from_node(node, i), self.min_relevance, self.min_semantic_relevance,
                                self.min_coverage)]
        return kept[: self.top_k]


def normalized_text(text: str) -> str:
    """Text compared for sameness: case, spacing and punctuation do not count."""
    return " ".join(re.findall(r"\w+", text.casefold()))
