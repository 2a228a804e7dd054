"""Compare ways of fusing dense and lexical results, and of fusing a reranker's scores, on a BEIR split.

    ENCLAVE_DATA_DIR=/tmp/enclave-eval2 .venv/bin/python bench/fusion.py ../shared/data/scifact --split train
    ENCLAVE_DATA_DIR=/tmp/enclave-eval2 .venv/bin/python bench/fusion.py ../shared/data/scifact --split train \
        --limit 150 --rerank 10,20,30

Runs on the index `enclave eval beir` built (same data dir; run that first). For each query it asks the store for
the dense and the lexical top 300 chunks separately (and the engine's own hybrid list), then scores fusion variants
client-side with the same trec_eval metrics. With --rerank K[,K…], it also encodes the hybrid top-K chunks with the
packaged nomic model (slow: ~0.3 s a chunk on two cores) and compares how its scores are fused with the search's.
For choosing on the train split, never on test.

It also runs the engine's hybrid search once with each fusion (Qdrant's DBSF and RRF, k = 60) and compares them query
by query: the mean nDCG@10 difference with a paired bootstrap 95% interval (10,000 resamples of the queries, seed 0),
and on how many queries each one is ahead. A difference whose interval holds 0 is a tie.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytrec_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.evaluation.metrics import evaluate_run  # noqa: E402
from assistant.evaluation.retrieval import EVAL_USER, eval_settings_for, limit_queries, load_dataset  # noqa: E402
from ingest import open_components  # noqa: E402
from assistant.retrieval.search import permission_filter  # noqa: E402
from ingest.offline import enforce_offline  # noqa: E402
from ingest.settings import load_settings  # noqa: E402

DEPTH = 300


def distribution_bounds(scores, sigma: float = 3.0) -> tuple[float, float]:
    """Qdrant's DBSF: mean ± 3 sample standard deviations (lower bound, width); scores are not clipped."""
    a = np.asarray(scores, float)
    sd = a.std(ddof=1) if len(a) > 1 else 0.0
    return a.mean() - sigma * sd, (2 * sigma * sd) or 1.0


def fuse(lists, level: str = "chunk", missing: str = "low", sigma: float = 3.0) -> dict[str, float]:
    """Document scores from DBSF over (document, chunk, score) lists: fused per chunk or per document (each list's
    best chunk of the document), a hit missing from a list counting as the distribution's low end or its last hit."""
    key = 1 if level == "chunk" else 0
    fused: dict[str, float] = {}
    document_of: dict[str, str] = {}
    normalised = []
    for hits in lists:
        low, width = distribution_bounds([hit[2] for hit in hits], sigma)
        scores: dict[str, float] = {}
        for hit in hits:
            document_of[hit[key]] = hit[0]
            scores.setdefault(hit[key], (hit[2] - low) / width)
        floor = min(scores.values()) if missing == "last" and scores else 0.0
        normalised.append((scores, floor))
    for k in set().union(*(scores for scores, _ in normalised)):
        fused[k] = sum(scores.get(k, floor) for scores, floor in normalised)
    best: dict[str, float] = {}
    for k, score in fused.items():
        best[document_of[k]] = max(best.get(document_of[k], -np.inf), score)
    return best


def first_chunks(hits) -> dict[str, float]:
    best: dict[str, float] = {}
    for document, _, score, *_ in hits:
        best.setdefault(document, score)
    return best


def ranking(scores: dict[str, float], exclude: str) -> dict[str, float]:
    ordered = sorted((d for d in scores if d != exclude), key=lambda d: -scores[d])[:100]
    return {d: float(len(ordered) - i) for i, d in enumerate(ordered)}


def rerank_order(hits, cosines, how: str) -> list[str]:
    """Documents in the order of the reranked head (how: nomic alone, RRF k=60, DBSF), then the tail."""
    k = len(cosines)
    head = hits[:k]
    if how == "nomic":
        order = list(np.argsort(-cosines, kind="stable"))
    elif how == "rrf":
        rank = {i: r for r, i in enumerate(np.argsort(-cosines, kind="stable"), start=1)}
        order = sorted(range(k), key=lambda i: (-(1 / (61 + i) + 1 / (60 + rank[i])), rank[i]))
    else:
        (fl, fw), (nl, nw) = distribution_bounds([h[2] for h in head]), distribution_bounds(cosines)
        fused = [(h[2] - fl) / fw + (c - nl) / nw for h, c in zip(head, cosines)]
        order = list(np.argsort(-np.asarray(fused), kind="stable"))
    return [head[i][0] for i in order] + [h[0] for h in hits[k:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rerank", default="", help="Also compare reranker fusions over the top K (e.g. 10,20,30).")
    args = parser.parse_args()
    enforce_offline()

    dataset = limit_queries(load_dataset(args.dataset, args.split), args.limit)
    parts = open_components(eval_settings_for(load_settings(), dataset.name))
    flt = permission_filter(EVAL_USER)
    lists = {}
    try:
        for query_id, text in dataset.queries.items():
            dense, sparse = parts.embedder.embed_query(text), parts.sparse.encode_query(text)
            found = [
                parts.store.search(dense, None, limit=DEPTH, flt=flt, method="dense"),
                parts.store.search(None, sparse, limit=DEPTH, flt=flt, method="sparse") if sparse.indices else [],
                parts.store.search(dense, sparse, limit=DEPTH, flt=flt, method="hybrid"),
            ]
            found += [search_fused(parts.store, fusion, dense, sparse, flt) for fusion in ("dbsf", "rrf")]
            lists[query_id] = [[(h.chunk.document_name, h.chunk.chunk_id, h.score, h.chunk) for h in hits]
                               for hits in found]
    finally:
        parts.close()

    variants = {
        "dense alone": lambda d, s, h, *_: first_chunks(d),
        "lexical alone": lambda d, s, h, *_: first_chunks(s),
        "engine hybrid (as configured)": lambda d, s, h, *_: first_chunks(h),
        "engine hybrid, DBSF": lambda d, s, h, dbsf, rrf: first_chunks(dbsf),
        "engine hybrid, RRF (k = 60)": lambda d, s, h, dbsf, rrf: first_chunks(rrf),
        "DBSF per chunk, client-side": lambda d, s, *_: fuse([d, s]),
        "DBSF per chunk, missing = list's last hit": lambda d, s, *_: fuse([d, s], missing="last"),
        "DBSF per document": lambda d, s, *_: fuse([d, s], level="document"),
        "DBSF per document, missing = last hit": lambda d, s, *_: fuse([d, s], level="document", missing="last"),
        "DBSF per chunk, ±2σ": lambda d, s, *_: fuse([d, s], sigma=2.0),
    }
    qrels = dataset.qrels
    print(f"{dataset.name} {args.split}, {len(lists)} queries")
    runs = {}
    for name, score in variants.items():
        runs[name] = {q: ranking(score(*lists[q]), q) for q in lists}
        figures = evaluate_run(runs[name], qrels)
        print(f"  {name:48s} nDCG@10 {figures['ndcg@10']:.4f}  R@100 {figures['recall@100']:.3f}")
    compare_paired(runs["engine hybrid, DBSF"], runs["engine hybrid, RRF (k = 60)"], qrels, ("DBSF", "RRF"))

    if args.rerank:
        compare_rerankers(lists, dataset.queries, qrels, sorted(int(k) for k in args.rerank.split(",")))


def search_fused(store, fusion: str, dense, sparse, flt):
    """The engine's hybrid search with this fusion, whatever the store was opened with."""
    configured, store.fusion = store.fusion, fusion
    try:
        return store.search(dense, sparse, limit=DEPTH, flt=flt, method="hybrid")
    finally:
        store.fusion = configured


def per_query_ndcg(run, qrels) -> dict[str, float]:
    judged = {q: docs for q, docs in qrels.items() if q in run and any(rel > 0 for rel in docs.values())}
    full = {q: run[q] or {"__none__": 0.0} for q in judged}
    per_query = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10"}).evaluate(full)
    return {q: figures["ndcg_cut_10"] for q, figures in per_query.items()}


def compare_paired(run_a, run_b, qrels, names: tuple[str, str], resamples: int = 10_000) -> None:
    """Mean per-query difference a - b with a paired bootstrap 95% interval, and per-query wins."""
    a, b = per_query_ndcg(run_a, qrels), per_query_ndcg(run_b, qrels)
    diff = np.array([a[q] - b[q] for q in sorted(a)])
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    verdict = "a tie (the interval holds 0)" if low <= 0 <= high else f"{names[0] if low > 0 else names[1]} ahead"
    print(f"  paired, {names[0]} - {names[1]}: {diff.mean():+.4f} nDCG@10, 95% interval [{low:+.4f}, {high:+.4f}]: "
          f"{verdict}; {names[0]} ahead on {(diff > 0).sum()} queries, {names[1]} on {(diff < 0).sum()}, "
          f"equal on {(diff == 0).sum()}")


def compare_rerankers(lists, queries: dict[str, str], qrels, depths: list[int]) -> None:
    from assistant.retrieval.reranking import DOCUMENT_PREFIX, QUERY_PREFIX, EmbeddedReranker, passage_text
    from assistant.settings import load_assistant_settings

    reranker = EmbeddedReranker(load_assistant_settings().rerank_gguf_path, threads=2)
    cosines = {}
    try:
        for done, (query_id, (_, _, hybrid, *_)) in enumerate(lists.items(), start=1):
            question = reranker._encode(QUERY_PREFIX + queries[query_id])
            passages = np.stack([reranker._encode(DOCUMENT_PREFIX + passage_text(h[3])) for h in hybrid[: depths[-1]]])
            cosines[query_id] = passages @ question
            if done % 25 == 0:
                print(f"  encoded the candidates of {done}/{len(lists)} queries", file=sys.stderr)
    finally:
        reranker.close()
    for k in depths:
        for how in ("nomic", "rrf", "dbsf"):
            run = {q: ranking(_as_scores(rerank_order(lists[q][2], cosines[q][:k], how)), q) for q in lists}
            figures = evaluate_run(run, qrels)
            print(f"  rerank top {k}, {how:5s} nDCG@10 {figures['ndcg@10']:.4f}")


def _as_scores(documents: list[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for document in documents:
        scores.setdefault(document, float(len(documents) - len(scores)))
    return scores

if __name__ == "__main__":
    main()
