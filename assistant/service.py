"""Compose one Enclave: the ingestor and the assistant sharing one store and one set of models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answering import Assistant
from assistant.llm import LLMClient
from assistant.reranking import open_reranker
from assistant.retrieval import Retriever
from assistant.settings import AssistantSettings
from ingest import IngestSettings

if TYPE_CHECKING:
    from ingest import Ingestor


@dataclass
class Enclave:
    ingestor: "Ingestor"
    assistant: Assistant

    def close(self) -> None:
        try:
            self.assistant.retriever.close()
        finally:
            self.ingestor.close()


def open_enclave(ingest_settings: IngestSettings, assistant_settings: AssistantSettings,
                 warm_parsers: bool = False) -> Enclave:
    """warm_parsers: start the parse workers while the models load (for a command about to ingest)."""
    from ingest import open_ingestor

    ingestor = open_ingestor(ingest_settings, warm_parsers=warm_parsers)
    try:
        reranker = open_reranker(assistant_settings)  # the model loads now, so a missing one fails at start-up
    except BaseException:
        ingestor.close()
        raise
    retriever = Retriever(
        ingestor.embedder, ingestor.sparse, ingestor.store, method=assistant_settings.search_method,
        reranker=reranker, rerank_candidates=assistant_settings.rerank_candidates,
    )  # fmt: skip
    llm = LLMClient(
        assistant_settings.llm_base_url,
        model=assistant_settings.llm_model,
        api_key=assistant_settings.llm_api_key.get_secret_value(),
        timeout=assistant_settings.llm_timeout,
        reasoning_effort=assistant_settings.llm_reasoning_effort,
    )
    return Enclave(ingestor, Assistant(assistant_settings, retriever, llm, documents=ingestor.documents))
