"""Ranking metrics as BEIR reports them (nDCG@10, Recall@100, MRR@10), computed by trec_eval's own code."""

from __future__ import annotations

import pytrec_eval

Run = dict[str, dict[str, float]]  # query id -> {document id: score}
Qrels = dict[str, dict[str, int]]  # query id -> {document id: relevance grade}


def _top(run: Run, k: int) -> Run:
    return {q: dict(sorted(docs.items(), key=lambda kv: kv[1], reverse=True)[:k]) for q, docs in run.items()}


def evaluate_run(run: Run, qrels: Qrels) -> dict[str, float]:
    """Mean metrics over the judged queries; a judged query missing from the run counts as zero."""
    judged = {q: docs for q, docs in qrels.items() if any(rel > 0 for rel in docs.values())}
    if not judged:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    full = {q: run.get(q) or {"__none__": 0.0} for q in judged}
    per_query = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.100"}).evaluate(full)
    # trec_eval's reciprocal rank has no cut-off: cut the run at 10 first to get MRR@10.
    mrr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(_top(full, 10))
    n = len(judged)
    return {
        "ndcg@10": sum(per_query[q]["ndcg_cut_10"] for q in judged) / n,
        "recall@100": sum(per_query[q]["recall_100"] for q in judged) / n,
        "mrr@10": sum(mrr[q]["recip_rank"] for q in judged) / n,
    }
