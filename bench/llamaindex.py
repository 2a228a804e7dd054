"""What running retrieval through llama-index's parts costs per question, against the same steps called directly.

    ENCLAVE_DATA_DIR=/tmp/enclave-answers-data .venv/bin/python bench/llamaindex.py [--questions bench/answers.jsonl]
        [--rounds 3]

Both paths run the same search (Qdrant hybrid query with the permission filter), the same re-ranker when
ENCLAVE_RERANK is on, the same duplicate filter and relevance gate. The llama-index path wraps them as
`EnclaveRetriever` → `RerankStage` → `DuplicateTextFilter` → `RelevanceGate` (what `Assistant.retrieve` runs);
the direct path calls `Retriever.search` and the same functions on `Passage` lists. Prints the median and p90
milliseconds per question of each, the difference, and whether both chose the same passages for every question.
(Importing llama-index's parts costs once per process: `python -X importtime -c "import assistant.retrieval.llamaindex"`.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import User, load_assistant_settings, open_enclave  # noqa: E402
from assistant.retrieval.llamaindex import normalized_text  # noqa: E402
from assistant.retrieval.relevance import is_relevant  # noqa: E402
from ingest import load_settings  # noqa: E402

ADMIN = User("bench", groups=(), is_admin=True)


def direct(assistant, query: str) -> list[str]:
    s = assistant.settings
    passages = assistant.retriever.search(query, ADMIN, k=max(s.candidates, s.rerank_candidates),
                                          with_relevance=True, rerank=assistant.retriever.reranker is not None)
    seen, kept = set(), []
    for p in passages:
        key = normalized_text(p.chunk.text)
        if key in seen:
            continue
        seen.add(key)
        if is_relevant(p, s.min_relevance, s.min_semantic_relevance, s.min_coverage):
            kept.append(key)
    return kept[: s.top_k]


def through_llamaindex(assistant, query: str) -> list[str]:
    return [normalized_text(p.chunk.text) for p in assistant.retrieve(query, ADMIN)]


def time_questions(function, assistant, questions: list[str], rounds: int) -> tuple[list[float], list[list[str]]]:
    times, chosen = [], []
    for _ in range(rounds):
        chosen = []
        for question in questions:
            started = time.perf_counter()
            chosen.append(function(assistant, question))
            times.append((time.perf_counter() - started) * 1000)
    return times, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="bench/answers.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in Path(args.questions).read_text().splitlines() if line.strip()]
    enclave = open_enclave(load_settings(), load_assistant_settings())
    try:
        assistant = enclave.assistant
        print(f"reranker: {assistant.retriever.reranker.description if assistant.retriever.reranker else 'off'}")
        time_questions(direct, assistant, questions[:5], 1)  # warm caches (query vectors, reranker passages)
        time_questions(through_llamaindex, assistant, questions[:5], 1)
        plain_ms, plain = time_questions(direct, assistant, questions, args.rounds)
        li_ms, li = time_questions(through_llamaindex, assistant, questions, args.rounds)
    finally:
        enclave.close()
    for label, ms in (("direct", plain_ms), ("llama-index", li_ms)):
        p90 = statistics.quantiles(ms, n=10)[-1]
        print(f"{label:<12} median {statistics.median(ms):7.1f} ms  p90 {p90:7.1f} ms  ({len(ms)} questions)")
    print(f"difference   median {statistics.median(li_ms) - statistics.median(plain_ms):+7.1f} ms per question")
    same = sum(a == b for a, b in zip(plain, li))
    print(f"same passages chosen (by text: a document that repeats itself ties): {same}/{len(questions)}")


if __name__ == "__main__":
    main()
