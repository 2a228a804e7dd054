"""Measure retrieval quality on a BEIR dataset through the product's own ingest and retrieval path.

The corpus is ingested (chunked, embedded, stored) into its own data dir and collection, reused on later runs;
every judged query goes through `Retriever.search` as an admin; chunk hits are folded into document scores and
scored with trec_eval's nDCG@10, Recall@100 and MRR@10.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from assistant.errors import AssistantError
from assistant.evaluation.beir import BeirDataset, load_beir
from assistant.evaluation.metrics import Run, evaluate_run
from assistant.models import Passage, User
from assistant.retrieval.reranking import open_reranker
from assistant.retrieval.search import Retriever
from assistant.settings import AssistantSettings, load_assistant_settings
from ingest import IngestError, IngestSettings, load_settings

if TYPE_CHECKING:
    from assistant.retrieval.reranking import Reranker
    from ingest import Components, Progress

METHODS = ("dense", "sparse", "hybrid", "rerank")  # rerank: hybrid, then the re-ranking stage
FUSIONS = ("rrf", "dbsf")  # what Qdrant fuses hybrid prefetches with (ingest/store)
CHUNK_DEPTH = 300  # chunks asked for per query: enough distinct documents to fill Recall@100
DOCUMENT_DEPTH = 100  # documents kept per query (the deepest cut-off any metric looks at)
FINGERPRINT_FILE = "fingerprint.json"
EVAL_USER = User(name="beir-eval", groups=(), is_admin=True)  # admins search every document


class EvaluationError(AssistantError):
    """The evaluation cannot run: a missing or malformed dataset, an unknown split or method, a store problem."""


@dataclass(frozen=True)
class QueryProgress:
    """One judged query was answered (for a progress bar)."""

    done: int
    total: int


EvalProgress = Callable[["Progress | QueryProgress"], None]


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    split: str
    method: str
    fusion: str  # how the engine fused dense and lexical results in hybrid ("" for dense or sparse alone)
    queries: int
    documents: int
    chunks: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries_per_s: float
    index_s: float  # opening the store and models, plus ingesting when the index was not current
    index_reused: bool  # True when the stored index matched the corpus and nothing was ingested
    reranker: str = ""  # what reordered the first stage's candidates (method rerank only)
    rerank_candidates: int = 0  # how many candidates it reordered per query

    def to_json(self) -> dict:
        figures = {
            "ndcg@10": self.ndcg_at_10,
            "recall@100": self.recall_at_100,
            "mrr@10": self.mrr_at_10,
            "queries_per_s": self.queries_per_s,
        }
        rest = {k: v for k, v in asdict(self).items() if k not in ("ndcg_at_10", "recall_at_100", "mrr_at_10",
                                                                    "queries_per_s")}
        return figures | rest


def evaluate_beir(
    dataset_dir: str | Path,
    split: str = "test",
    method: str = "hybrid",
    settings: IngestSettings | None = None,
    progress: EvalProgress | None = None,
    fusion: str | None = None,
    assistant_settings: AssistantSettings | None = None,
    limit: int | None = None,
) -> EvalReport:
    """Ingest the dataset's corpus (once), run its judged queries of `split` and return the metrics.

    fusion (hybrid and rerank): "rrf" or "dbsf" to override the store's fusion; None measures the store as the
    assistant opens it.
    method "rerank": hybrid search, then the reranker ENCLAVE_RERANK configures (the embedded one when it is off)
    over ENCLAVE_RERANK_CANDIDATES candidates, through the same `Retriever` the assistant uses.
    limit: only the first N judged queries (in queries.jsonl order), for quicker comparisons.
    """
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if fusion is not None and fusion not in FUSIONS:
        raise EvaluationError(f"unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")
    if limit is not None and limit < 1:
        raise EvaluationError(f"limit must be at least 1 query (got {limit})")
    dataset = limit_queries(load_dataset(Path(dataset_dir), split), limit)
    base = settings or _load_settings()
    eval_settings = eval_settings_for(base, dataset.name)
    notify = progress or (lambda event: None)
    rerank_settings = (assistant_settings or _load_assistant_settings()) if method == "rerank" else None
    reranker = _open_reranker(rerank_settings) if rerank_settings is not None else None  # before the long ingest
    try:
        parts, index = prepare_index(dataset, Path(dataset_dir), eval_settings, notify)
    except BaseException:
        if reranker is not None:
            reranker.close()
        raise
    candidates = rerank_settings.rerank_candidates if rerank_settings is not None else 0
    try:
        if fusion is not None:
            # Both store backends read `fusion` at each hybrid query; this changes only the evaluation's store.
            parts.store.fusion = fusion
        fused_by = parts.store.fusion
        retriever = Retriever(parts.embedder, parts.sparse, parts.store, reranker=reranker,
                              rerank_candidates=candidates)
        started = time.perf_counter()
        run = run_queries(retriever, dataset.queries, "hybrid" if method == "rerank" else method, notify)
        elapsed = time.perf_counter() - started
        chunks = parts.store.count()
    finally:
        try:
            if reranker is not None:
                reranker.close()
        finally:
            parts.close()
    figures = evaluate_run(run, dataset.qrels)
    return EvalReport(
        dataset=dataset.name, split=split, method=method,
        fusion=fused_by if method in ("hybrid", "rerank") else "",
        queries=len(dataset.queries), documents=len(dataset.corpus), chunks=chunks, ndcg_at_10=figures["ndcg@10"],
        recall_at_100=figures["recall@100"], mrr_at_10=figures["mrr@10"],
        queries_per_s=len(dataset.queries) / elapsed if elapsed > 0 else 0.0,
        index_s=index.seconds, index_reused=index.reused,
        reranker=reranker.description if reranker is not None else "", rerank_candidates=candidates,
    )


def limit_queries(dataset: BeirDataset, limit: int | None) -> BeirDataset:
    """The first `limit` judged queries and their judgments only (metrics average over the judged queries)."""
    if limit is None or limit >= len(dataset.queries):
        return dataset
    kept = dict(list(dataset.queries.items())[:limit])
    return replace(dataset, queries=kept, qrels={q: dataset.qrels[q] for q in kept})


def _open_reranker(settings: AssistantSettings) -> "Reranker":
    """The configured reranker; the embedded one when ENCLAVE_RERANK is off, so `--method rerank` always measures
    a re-ranking stage."""
    try:
        reranker = open_reranker(settings, mode=settings.rerank if settings.rerank != "off" else "embedded")
    except AssistantError as exc:
        raise EvaluationError(str(exc)) from exc
    assert reranker is not None  # only mode "off" opens none
    return reranker


# -- dataset and index ------------------------------------------------------------------------------------------


def load_dataset(folder: Path, split: str) -> BeirDataset:
    if not folder.is_dir():
        raise EvaluationError(f"{folder} is not a folder: give a BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)")
    try:
        dataset = load_beir(folder, split)
    except (OSError, KeyError, ValueError) as exc:
        raise EvaluationError(f"cannot read the BEIR dataset at {folder} ({exc})") from exc
    except AssistantError as exc:
        raise EvaluationError(str(exc)) from exc
    if not dataset.queries:
        raise EvaluationError(f"split {split!r} of {folder} judges no query found in queries.jsonl")
    return dataset


def eval_settings_for(settings: IngestSettings, name: str) -> IngestSettings:
    """The evaluation's own data dir, collection and database, beside (never inside) the user's documents. Its
    database is always the SQLite file in its own data dir: in the configured one (PostgreSQL) its registry would be
    the user's, and re-ingesting a changed corpus removes every document that registry lists."""
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()) or "dataset"
    return settings.model_copy(update={
        "data_dir": settings.data_dir / "eval" / slug, "collection": f"beir-{slug}", "database_url": None,
    })


def fingerprint_for(corpus_path: Path, settings: IngestSettings, sparse_signature: str) -> dict:
    """What the stored index depends on: the corpus bytes and everything that shapes chunks and vectors."""
    from ingest import hash_file

    return {
        "corpus_sha256": hash_file(corpus_path),
        "index": {
            "embedding_model": settings.embedding_model_path,
            "embedding_backend": settings.embedding_backend,  # int8 vectors differ a little from fp32 ones
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "sparse": sparse_signature,
            "code": hash_index_code(),
        },
    }


def hash_index_code() -> str:
    """The source of the whole ingest package, every .py file by its path inside the package: editing (or moving) any
    of them may change the stored vectors, so the next evaluation re-ingests rather than measure a stale index. A list
    of the modules that matter would need keeping in step with the package, and would break when one moved."""
    import ingest

    digest = hashlib.sha256()
    package = Path(ingest.__file__).parent
    for path in sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix()):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class IndexState:
    reused: bool  # the stored fingerprint matched: nothing was ingested
    seconds: float  # time spent opening and (re)ingesting


def prepare_index(
    dataset: BeirDataset, folder: Path, settings: IngestSettings, notify: EvalProgress
) -> tuple["Components", IndexState]:
    """Open the dataset's collection, ingesting the corpus unless the stored fingerprint says it is current.
    The components come back open, for a retriever; the caller closes them."""
    from ingest import Ingestor, TextRecord

    fingerprint_path = settings.data_dir / FINGERPRINT_FILE
    stored = _read_fingerprint(fingerprint_path)
    started = time.perf_counter()
    parts = _open(settings)
    wanted = fingerprint_for(folder / "corpus.jsonl", settings, sparse_signature(parts.sparse))
    current = stored is not None and all(stored.get(key) == value for key, value in wanted.items())
    if stored is not None and current and len(parts.documents()) == stored.get("documents"):
        return parts, IndexState(reused=True, seconds=time.perf_counter() - started)
    try:
        if stored is not None and stored.get("index") != wanted["index"]:
            # Chunking or vectors changed: unchanged records would be skipped with stale vectors. Start over.
            parts = _start_over(parts, settings)
        fingerprint_path.unlink(missing_ok=True)  # an interrupted ingest must not look complete
        records = [TextRecord(key=d.doc_id, name=d.doc_id, title=d.title, text=d.text) for d in dataset.corpus]
        with closing(Ingestor(parts)) as ingestor:  # records need no parse workers: none start
            ingestor.ingest_records(records, groups=("beir",), user="beir-eval", progress=notify)
            stale = {r.name for r in parts.documents()} - {d.doc_id for d in dataset.corpus}
            if stale:
                ingestor.remove(sorted(stale))
        wanted["documents"] = len(parts.documents())
        fingerprint_path.write_text(json.dumps(wanted, indent=2))
    except IngestError as exc:
        parts.close()
        raise EvaluationError(f"ingesting the corpus of {dataset.name} failed: {exc}") from exc
    except BaseException:
        parts.close()
        raise
    return parts, IndexState(reused=False, seconds=time.perf_counter() - started)


def _start_over(parts: "Components", settings: IngestSettings) -> "Components":
    """Drop the evaluation's index: its whole folder when the store is embedded, its documents on a server."""
    if settings.qdrant_url:
        from ingest import Ingestor

        with closing(Ingestor(parts)) as ingestor:
            ingestor.remove([record.document_id for record in parts.documents()])
        return parts
    parts.close()
    shutil.rmtree(settings.data_dir)
    return _open(settings)


def sparse_signature(sparse: object) -> str:
    """The sparse encoder's class and parameters: a change to either invalidates stored sparse vectors."""
    params = {k: v for k, v in sorted(vars(sparse).items()) if isinstance(v, (int, float, str, tuple, bool))}
    return f"{type(sparse).__module__}.{type(sparse).__qualname__}{params}"


def _open(settings: IngestSettings) -> "Components":
    from ingest import open_components

    try:
        return open_components(settings)
    except IngestError as exc:
        raise EvaluationError(f"cannot open the evaluation store under {settings.data_dir}: {exc}") from exc


def _read_fingerprint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _load_settings() -> IngestSettings:
    try:
        return load_settings()
    except IngestError as exc:
        raise EvaluationError(str(exc)) from exc


def _load_assistant_settings() -> AssistantSettings:
    try:
        return load_assistant_settings()
    except AssistantError as exc:
        raise EvaluationError(str(exc)) from exc


# -- queries ----------------------------------------------------------------------------------------------------


def run_queries(retriever: Retriever, queries: dict[str, str], method: str, notify: EvalProgress) -> Run:
    """Each query through the product's retrieval; chunk hits folded into a ranked list of documents."""
    from assistant.errors import RetrievalUnavailable

    run: Run = {}
    total = len(queries)
    for done, (query_id, text) in enumerate(queries.items(), start=1):
        try:
            passages = retriever.search(text, EVAL_USER, k=CHUNK_DEPTH, method=method)
        except RetrievalUnavailable as exc:
            raise EvaluationError(f"query {query_id} failed: {exc}") from exc
        run[query_id] = rank_documents(passages, exclude=query_id)
        notify(QueryProgress(done, total))
    return run


def rank_documents(passages: Sequence[Passage], exclude: str = "", depth: int = DOCUMENT_DEPTH) -> dict[str, float]:
    """Documents in the order of their best chunk (the passage a reader would be shown), which on SciFact's train
    split beats adding a share of the second-best chunk's score; BEIR drops a hit on the query itself.

    The scores are ranks turned around (depth … 1): trec_eval sorts by score and breaks ties by document id, and
    engine scores can tie, so only a strict order keeps the retrieval order."""
    ranked: dict[str, None] = {}
    for passage in passages:
        name = passage.chunk.document_name
        if name != exclude:
            ranked.setdefault(name)
            if len(ranked) == depth:
                break
    return {name: float(len(ranked) - rank) for rank, name in enumerate(ranked)}
