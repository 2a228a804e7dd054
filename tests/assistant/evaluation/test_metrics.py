"""Metric code against values worked out by hand."""

import math

import pytest

from assistant.evaluation.metrics import evaluate_run

QRELS = {"q1": {"d1": 1, "d2": 1}, "q2": {"d3": 2}, "q3": {"d9": 1}}
RUN = {
    "q1": {"d1": 0.9, "d3": 0.8, "d2": 0.1},  # relevant at ranks 1 and 3
    "q2": {"d1": 0.5, "d3": 0.4},  # relevant (grade 2) at rank 2
    # q3 retrieved nothing: it still counts, as zero
}


def test_ndcg_at_10_matches_the_hand_computed_value():
    # q1: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3). q2: DCG = 2/log2(3); IDCG = 2/log2(2). q3: 0.
    q1 = 1.5 / (1 + 1 / math.log2(3))
    q2 = (2 / math.log2(3)) / 2
    assert evaluate_run(RUN, QRELS)["ndcg@10"] == pytest.approx((q1 + q2 + 0) / 3)


def test_recall_at_100_and_mrr_at_10_match_the_hand_computed_values():
    metrics = evaluate_run(RUN, QRELS)
    assert metrics["recall@100"] == pytest.approx((1 + 1 + 0) / 3)
    assert metrics["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_mrr_ignores_a_relevant_document_below_rank_10():
    run = {"q": {f"x{i}": 1.0 - i / 100 for i in range(10)} | {"rel": 0.0}}
    assert evaluate_run(run, {"q": {"rel": 1}})["mrr@10"] == 0.0
