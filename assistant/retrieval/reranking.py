"""Re-rank the first stage's candidates: the packaged nomic model in-process, or a rerank service over HTTP.

The first stage (hybrid search, permission filter inside Qdrant) decides *which* passages a user may get; a
reranker only reorders those. Two kinds:

- `EmbeddedReranker`: nomic-embed-text-v1.5 (f16 GGUF, `make reranker`) through llama.cpp, scoring cosine(query,
  passage) and fusing its order with the first stage's by reciprocal ranks. A bi-encoder is a weak reranker on its
  own; fused with the first stage it was the best offline option (../shared/notes/packaged-models.md).
- `ServiceReranker`: the Jina/Cohere-style rerank API that vLLM serves for a cross-encoder
  (e.g. BAAI/bge-reranker-v2-m3) and llama.cpp's server serves with `--reranking`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence

import httpx
import numpy as np

from assistant.errors import RetrievalUnavailable

if TYPE_CHECKING:
    from assistant.settings import AssistantSettings
    from ingest import Chunk

log = logging.getLogger(__name__)

RRF_K = 60  # Cormack et al.'s constant: flattens rank differences so neither list dominates the fusion
QUERY_PREFIX = "search_query: "  # nomic-embed-text is trained with these task prefixes
DOCUMENT_PREFIX = "search_document: "
# Chunks are cut to ≤ 256 tokens of the same BERT WordPiece vocabulary (ENCLAVE_CHUNK_TOKENS, capped by MiniLM);
# 512 holds one with its prefix and title. Longer text is cut here: the model reads one context at a time.
CONTEXT_TOKENS = 512
CACHE_VECTORS = 8192  # 768 float32 each: ~25 MB, some hundreds of questions' worth of candidates
TITLE_LEAD_CHARS = 300


class RerankerUnavailable(RetrievalUnavailable):
    """The re-ranking model or service cannot be used; the message says what to run or set."""


@dataclass(frozen=True)
class Ranked:
    """One candidate after re-ranking: its position in the list given, and the score that placed it."""

    index: int
    score: float


class Reranker(Protocol):
    description: str  # for reports and logs: what reorders the candidates

    def rerank(self, query: str, chunks: Sequence["Chunk"], queries: Sequence[str] | None = None) -> list[Ranked]:
        """Every candidate, best first. `chunks` is in the first stage's order; `queries`, when given, is the text
        each chunk is scored against (the question translated into the chunk's language), instead of `query`."""

    def close(self) -> None: ...


def queries_by_language(query: str, chunks: Sequence["Chunk"],
                        translations: Mapping[str, str] | None) -> list[str] | None:
    """The text each chunk is re-ranked against: the question in the chunk's language when it was translated into
    it, else the question itself. Without this a reranker compares a Spanish question with an English passage, and
    puts the passages the translation found below those in the question's own language. None: no translations."""
    if not translations:
        return None
    return [translations.get(chunk.language or "", query) for chunk in chunks]


def query_per_chunk(query: str, chunks: Sequence["Chunk"], queries: Sequence[str] | None) -> list[str]:
    """The text each chunk is scored against: `queries` when given, else `query` for every chunk."""
    return list(queries) if queries is not None else [query] * len(chunks)


def passage_text(chunk: "Chunk") -> str:
    """The chunk as the reranker reads it: with its document's title when the text does not open with it (a chunk
    from the middle of a document otherwise loses its subject; ingest encodes the same header)."""
    title = chunk.title.strip()
    if title and title not in chunk.text[:TITLE_LEAD_CHARS]:
        return f"{title}. {chunk.text}"
    return chunk.text


def reciprocal_rank_fusion(scores: Sequence[float], k: int = RRF_K) -> list[Ranked]:
    """Fuse the first stage's order (the candidates' positions) with the order of `scores`. Ties go to the
    reranker's order: the stage exists to correct the first one."""
    by_score = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    reranker_rank = {index: rank for rank, index in enumerate(by_score, start=1)}
    fused = [Ranked(i, 1 / (k + i + 1) + 1 / (k + reranker_rank[i])) for i in range(len(scores))]
    return sorted(fused, key=lambda r: (-r.score, reranker_rank[r.index]))


class EmbeddedReranker:
    """nomic-embed-text-v1.5 in-process (llama.cpp, CPU). Passage vectors are cached by chunk, so a passage that
    comes back for the next question is not encoded again."""

    def __init__(self, model_path: Path, threads: int, cache_size: int = CACHE_VECTORS) -> None:
        if not model_path.is_file():
            raise RerankerUnavailable(
                f"the re-ranking model {model_path} is missing: run `make reranker` (it assembles the packaged "
                "nomic-embed-text-v1.5 into ENCLAVE_MODELS_DIR), set ENCLAVE_RERANK_MODEL_PATH to a GGUF file, "
                "or set ENCLAVE_RERANK=off"
            )
        try:
            import llama_cpp
        except ImportError as exc:
            raise RerankerUnavailable(
                "llama-cpp-python is not installed, so the embedded re-ranker cannot run: run `make setup` "
                "or set ENCLAVE_RERANK=off"
            ) from exc
        self.description = f"embedded {model_path.name}, fused with the first stage by RRF k={RRF_K}"
        self.model_path = model_path
        started = time.perf_counter()
        log.info("loading the re-ranking model %s (%d threads)…", model_path, threads)
        try:
            self._model = llama_cpp.Llama(
                str(model_path), embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                # Non-causal models need a whole text in one micro-batch; one text per call is fastest on a CPU.
                n_ctx=CONTEXT_TOKENS, n_batch=CONTEXT_TOKENS, n_ubatch=CONTEXT_TOKENS,
                n_threads=threads, n_threads_batch=threads, verbose=False,
            )  # fmt: skip
        except (ValueError, RuntimeError, OSError) as exc:
            raise RerankerUnavailable(
                f"cannot load the re-ranking model {model_path} ({exc}): is it an embedding GGUF? "
                "Check ENCLAVE_RERANK_MODEL_PATH or run `make reranker`"
            ) from exc
        log.info("re-ranking model loaded in %.1f s", time.perf_counter() - started)
        self._lock = threading.Lock()  # one llama.cpp context, shared by the app's sessions
        self._vectors: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def rerank(self, query: str, chunks: Sequence["Chunk"], queries: Sequence[str] | None = None) -> list[Ranked]:
        if not chunks:
            return []
        texts = query_per_chunk(query, chunks, queries)
        with self._lock:
            vectors = {text: self._encode(QUERY_PREFIX + text) for text in dict.fromkeys(texts)}
            passages = np.stack([self._passage_vector(chunk) for chunk in chunks])
        return reciprocal_rank_fusion([float(passages[i] @ vectors[text]) for i, text in enumerate(texts)])

    def _passage_vector(self, chunk: "Chunk") -> np.ndarray:
        text = passage_text(chunk)
        key = (chunk.chunk_id, hash(text))  # a re-ingested document may reuse an id with new text
        vector = self._vectors.get(key)
        if vector is None:
            vector = self._vectors[key] = self._encode(DOCUMENT_PREFIX + text)
            if len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
        else:
            self._vectors.move_to_end(key)
        return vector

    def _encode(self, text: str) -> np.ndarray:
        """A unit vector (float32); llama.cpp cuts text longer than the context (truncate=True)."""
        try:
            vector = np.asarray(self._model.embed(text, normalize=False, truncate=True), dtype=np.float32)
        except (ValueError, RuntimeError) as exc:
            raise RerankerUnavailable(f"the re-ranking model failed on a passage ({exc})") from exc
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def close(self) -> None:
        self._model.close()


class ServiceReranker:
    """Client of a rerank endpoint (vLLM `/rerank`, llama.cpp `--reranking` `/v1/rerank`): POST
    {model, query, documents, top_n} → {results: [{index, relevance_score}, …]}. The service's order is final:
    a cross-encoder reads query and passage together and needs no help from the first stage."""

    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 30,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self.model = model
        self.description = f"service {url}" + (f" ({model})" if model else "")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def rerank(self, query: str, chunks: Sequence["Chunk"], queries: Sequence[str] | None = None) -> list[Ranked]:
        """One call per distinct query (the API takes one); the scores of all calls ranked together."""
        texts = query_per_chunk(query, chunks, queries)
        positions: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            positions.setdefault(text, []).append(i)
        ranked = []
        for text, indices in positions.items():
            ranked += [Ranked(indices[r.index], r.score) for r in self._rerank(text, [chunks[i] for i in indices])]
        return sorted(ranked, key=lambda r: -r.score)

    def _rerank(self, query: str, chunks: Sequence["Chunk"]) -> list[Ranked]:
        if not chunks:
            return []
        body: dict = {"query": query, "documents": [passage_text(c) for c in chunks], "top_n": len(chunks)}
        if self.model:
            body["model"] = self.model
        try:
            response = self._client.post(self.url, json=body)
            response.raise_for_status()
            results = response.json()["results"]
            ranked = [Ranked(int(r["index"]), float(r["relevance_score"])) for r in results]
        except httpx.HTTPStatusError as exc:
            raise RerankerUnavailable(
                f"the re-ranking service at {self.url} answered {exc.response.status_code}: "
                f"{exc.response.text[:200].strip()!r}; check ENCLAVE_RERANK_URL and ENCLAVE_RERANK_MODEL"
            ) from exc
        except httpx.HTTPError as exc:
            raise RerankerUnavailable(
                f"the re-ranking service at {self.url} is unreachable ({type(exc).__name__}): start it, point "
                "ENCLAVE_RERANK_URL at a running one, or set ENCLAVE_RERANK=off"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise RerankerUnavailable(
                f"the re-ranking service at {self.url} did not answer with rerank results ({exc!r}): "
                "is ENCLAVE_RERANK_URL its rerank endpoint (vLLM: /rerank, llama.cpp: /v1/rerank)?"
            ) from exc
        return _complete(ranked, len(chunks), self.url)

    def close(self) -> None:
        self._client.close()


def _complete(ranked: list[Ranked], count: int, url: str) -> list[Ranked]:
    """The service's order, checked: every index in range and named once."""
    seen = [r.index for r in ranked]
    if sorted(seen) != list(range(count)):
        raise RerankerUnavailable(
            f"the re-ranking service at {url} ranked positions {sorted(seen)} of {count} passages: "
            "it did not rank each passage once"
        )
    return sorted(ranked, key=lambda r: -r.score)


def open_reranker(settings: "AssistantSettings", mode: str | None = None) -> Reranker | None:
    """The reranker the settings ask for (None when ENCLAVE_RERANK=off); `mode` overrides the setting."""
    mode = mode or settings.rerank
    if mode == "off":
        return None
    if mode == "service":
        return ServiceReranker(
            settings.rerank_url, model=settings.rerank_model,
            api_key=settings.rerank_api_key.get_secret_value(), timeout=settings.rerank_timeout,
        )  # fmt: skip
    return EmbeddedReranker(settings.rerank_gguf_path, threads=settings.rerank_threads)
