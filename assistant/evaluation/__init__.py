"""Evaluation: how well Enclave retrieves and answers, measured through the product's own paths.

beir       a BEIR-format dataset read from its folder: corpus, judged queries, relevance judgements
metrics    nDCG@10, Recall@100 and MRR@10 as BEIR reports them, computed by trec_eval's own code
retrieval  a BEIR corpus ingested once into its own index, its judged queries searched as the assistant searches
answers    an answer set asked through the assistant, scored as citation precision, fact recall, not-found accuracy

Nothing here is loaded by asking a question: `assistant` exports the evaluations for the CLI and the benches.
"""

from assistant.evaluation.answers import AnswerProgress, AnswerQuestion, AnswerReport, evaluate_answers, load_answer_set
from assistant.evaluation.beir import BeirDataset, BeirDocument, load_beir
from assistant.evaluation.metrics import evaluate_run
from assistant.evaluation.retrieval import EvalReport, EvaluationError, QueryProgress, evaluate_beir

__all__ = [
    "AnswerProgress",
    "AnswerQuestion",
    "AnswerReport",
    "BeirDataset",
    "BeirDocument",
    "EvalReport",
    "EvaluationError",
    "QueryProgress",
    "evaluate_answers",
    "evaluate_beir",
    "evaluate_run",
    "load_answer_set",
    "load_beir",
]
