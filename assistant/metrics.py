"""The assistant's Prometheus metrics: questions and how they ended, retrieval and LLM latency, tokens, LLM failures.
Recorded where the work happens (answering/, llm/), exposed at /metrics by the app and the API (ui/health.py). Every
label has a small fixed set of values: never a question, a document or a user name."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))

QUESTIONS = Counter("enclave_questions", "Questions asked (the app, the API, the command line).")
ANSWERS = Counter("enclave_answers", "Answers given, by how they ended.",
                  ["outcome"])  # answered | not_found | stopped
RETRIEVAL_SECONDS = Histogram("enclave_retrieval_seconds", "Time to find the passages for a question or a search "
                              "(embedding, vector search, re-ranking).", ["operation"],  # ask | search
                              buckets=_SECONDS)
LLM_SECONDS = Histogram("enclave_llm_seconds", "Time an LLM call took, from the request to its last token.",
                        ["call"], buckets=_SECONDS)  # stream (an answer) | complete (a follow-up rewritten)
LLM_FIRST_TOKEN_SECONDS = Histogram("enclave_llm_first_token_seconds", "Time from an answer's LLM request to its "
                                    "first streamed piece.", buckets=_SECONDS)
LLM_TOKENS = Counter("enclave_llm_tokens", "Tokens the LLM read and wrote: the server's count when it sends one, else "
                     "one per streamed piece written (llama.cpp and vLLM stream a token a piece) and the prompt's "
                     "estimate (4 characters a token).", ["kind"])  # prompt | completion
LLM_FAILURES = Counter("enclave_llm_failures", "LLM calls that failed, by reason.",
                       ["reason"])  # unreachable | refused

for _outcome in ("answered", "not_found", "stopped"):
    ANSWERS.labels(_outcome)  # shown at 0 from the start, so that a rate over them has a beginning
for _kind in ("prompt", "completion"):
    LLM_TOKENS.labels(_kind)
for _reason in ("unreachable", "refused"):
    LLM_FAILURES.labels(_reason)


def answer_outcome(not_found: bool, stopped: bool) -> str:
    return "stopped" if stopped else "not_found" if not_found else "answered"
