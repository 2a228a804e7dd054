"""Enclave's retrieval as llama-index parts: a retriever any llama-index engine can use, and post-processors."""

from __future__ import annotations

import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.retrieval.llamaindex import (
    DuplicateTextFilter,
    EnclaveRetriever,
    RelevanceGate,
    node_from_passage,
    passage_from_node,
)
from assistant.models import Passage, User
from assistant.retrieval.search import Retriever
from ingest import load_settings
from ingest.models import Chunk
from ingest.pipeline.ingestor import open_ingestor


@pytest.fixture(scope="module")
def retriever(ingested_data_dir):
    ingestor = open_ingestor(load_settings(data_dir=ingested_data_dir, _env_file=None))
    yield Retriever(ingestor.embedder, ingestor.sparse, ingestor.store)
    ingestor.close()


def node(text: str, relevance: float, coverage: float = 1.0, shared: int = 3, terms: int = 8) -> NodeWithScore:
    chunk = Chunk(chunk_id=text[:8], document_id="d", index=0, text=text, document_name="d.txt", title="d")
    return node_from_passage(Passage(n=1, chunk=chunk, score=1.0, relevance=relevance, coverage=coverage,
                                     shared_terms=shared, question_terms=terms))


def test_the_retriever_returns_scored_nodes_with_their_source(retriever):
    nodes = EnclaveRetriever(retriever, User("alice"), k=3).retrieve("How many bottles of water were delivered?")
    assert 0 < len(nodes) <= 3 and all(isinstance(n, NodeWithScore) for n in nodes)
    assert nodes[0].node.metadata["document_name"] == "memo-supply-delivery.pdf"
    assert nodes[0].node.metadata["relevance"] > 0.3
    assert "relevance" not in nodes[0].node.get_content(metadata_mode="llm")  # figures stay out of a prompt


def test_the_permission_filter_travels_with_the_retriever(retriever):
    assert EnclaveRetriever(retriever, User("mallory", groups=("contractors",))).retrieve("bottles of water") == []


def test_a_passage_survives_the_trip_through_a_node():
    passage = passage_from_node(node("Twenty thousand bottles.", relevance=0.61, coverage=0.5), n=2)
    assert (passage.n, passage.chunk.text, passage.chunk.document_name) == (2, "Twenty thousand bottles.", "d.txt")
    assert (passage.relevance, passage.coverage, passage.shared_terms, passage.question_terms) == (0.61, 0.5, 3, 8)


def test_the_same_text_takes_one_place_whatever_its_spacing_or_case():
    nodes = [node("Hotel nights: 150 euros.", 0.9), node("hotel  nights 150 EUROS", 0.8), node("Meals: 45 euros.", 0.7)]
    kept = DuplicateTextFilter().postprocess_nodes(nodes, QueryBundle("hotel"))
    assert [n.node.get_content() for n in kept] == ["Hotel nights: 150 euros.", "Meals: 45 euros."]


def test_the_gate_keeps_close_passages_and_passages_that_share_enough_words():
    nodes = [node("close in meaning", 0.7, coverage=0.0, shared=0), node("shares enough", 0.45, coverage=0.5),
             node("shares one word", 0.45, coverage=0.1, shared=1), node("far", 0.1)]
    gate = RelevanceGate(min_relevance=0.4, min_semantic_relevance=0.5, min_coverage=0.3, top_k=4)
    assert [n.node.get_content() for n in gate.postprocess_nodes(nodes, QueryBundle("q"))] == \
        ["close in meaning", "shares enough"]


def test_a_passage_holding_most_of_the_questions_words_passes_a_little_below_the_cosine_threshold():
    gate = RelevanceGate(min_relevance=0.4, min_semantic_relevance=0.5, min_coverage=0.3, top_k=4)
    nodes = [node("most words", 0.35, coverage=0.75), node("some words", 0.35, coverage=0.5)]
    assert [n.node.get_content() for n in gate.postprocess_nodes(nodes, QueryBundle("q"))] == ["most words"]
    strict = RelevanceGate(min_relevance=0.99, min_semantic_relevance=0.99, min_coverage=0.3, top_k=4)
    assert strict.postprocess_nodes(nodes, QueryBundle("q")) == []
