"""Calibrate the relevance gate (`assistant.retrieval.relevance.is_relevant`) on a BEIR split: how often a question whose
answer is in the library keeps a passage of it, and how often one whose answer is not gets "not found".

    .venv/bin/python bench/relevance.py ../shared/data/scifact --split train
    .venv/bin/python bench/relevance.py ../shared/data/scifact --split test --gate 0.40,0.50,0.30
    .venv/bin/python bench/relevance.py ../shared/data/scifact --split test --from-cache --json

Indexes the corpus as `enclave eval beir` does (same data dir under ENCLAVE_DATA_DIR/eval, reused), then asks each
judged query as the assistant does: hybrid `Retriever.search(k=60, with_relevance=True, rerank=False)` as an admin.
Two conditions per query:
  answer in the library      the first 20 candidates as retrieved; kept when a chunk of a relevant document passes
                             (reported over all queries, and over those with such a chunk among the 20: the
                             gate's own recall, which the choice is held to);
  answer not in the library  the same list with every chunk of the relevant documents removed, then the first 20;
                             correctly not found when nothing passes.
(The store's prefetches are 100 deep, so the first 20 of a 60-hit search are the 20 hits of a 20-hit search.)
Each candidate's relevance, coverage and shared terms are what `Passage` carries; they are cached beside the index
(relevance-SPLIT.json) and the grid over the gate's three thresholds runs on the cache (`--from-cache`).
Choose on the train split; SciFact's README reserves test for reporting (pass the train choice with --gate).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.offline import enforce_offline

enforce_offline()

from assistant.evaluation.retrieval import (
    EVAL_USER,
    FINGERPRINT_FILE,
    eval_settings_for,
    limit_queries,
    load_dataset,
    prepare_index,
)
from assistant.retrieval.relevance import is_relevant
from assistant.retrieval.search import Retriever
from assistant.settings import AssistantSettings
from ingest.settings import load_settings

CANDIDATES = AssistantSettings.model_fields["candidates"].default  # what the assistant gates: 20
DEPTH = 60  # searched per query, so that 20 remain once the relevant documents' chunks are taken out
# Share of the reachable answers (a chunk of a relevant document among the candidates) the gate must keep: the gate
# cannot keep what retrieval did not find, and on SciFact retrieval finds one for only ~88 % of the queries.
TARGET_KEPT = 0.90
S_SEM = np.round(np.arange(0.30, 0.90 + 1e-9, 0.05), 2)  # min_semantic_relevance
S_MIN = np.round(np.arange(0.0, 0.60 + 1e-9, 0.05), 2)  # min_relevance
C_MIN = np.round(np.arange(0.0, 0.80 + 1e-9, 0.05), 2)  # min_coverage
DEFAULTS = (
    AssistantSettings.model_fields["min_relevance"].default,
    AssistantSettings.model_fields["min_semantic_relevance"].default,
    0.0,  # min_coverage: the gate before the setting existed
)


# -- collecting the candidates ----------------------------------------------------------------------------------


def collect(dataset_dir: Path, split: str, limit: int | None) -> dict:
    """Each judged query's first DEPTH candidates: [relevance, coverage, shared_terms, from a relevant document,
    question_terms] (caches written before question_terms existed hold the first four)."""
    dataset = limit_queries(load_dataset(dataset_dir, split), limit)
    settings = eval_settings_for(load_settings(), dataset.name)
    print(f"index: {settings.data_dir} (collection {settings.collection})", file=sys.stderr)
    parts, index = prepare_index(dataset, dataset_dir, settings, IndexProgressLine())
    print(f"index {'reused' if index.reused else f'ingested in {index.seconds:.0f} s'}", file=sys.stderr)
    try:
        retriever = Retriever(parts.embedder, parts.sparse, parts.store, method="hybrid")
        queries = []
        started = time.perf_counter()
        for done, (query_id, text) in enumerate(dataset.queries.items(), start=1):
            relevant = {doc for doc, grade in dataset.qrels[query_id].items() if grade > 0}
            passages = retriever.search(text, EVAL_USER, k=DEPTH, with_relevance=True, rerank=False)
            queries.append({"id": query_id, "candidates": [
                [p.relevance, p.coverage, p.shared_terms, p.chunk.document_name in relevant, p.question_terms]
                for p in passages
            ]})  # fmt: skip
            if done % 50 == 0 or done == len(dataset.queries):
                print(f"  {done}/{len(dataset.queries)} queries, {done / (time.perf_counter() - started):.1f}/s",
                      file=sys.stderr)
        fusion = str(getattr(parts.store, "fusion", ""))
        chunks = parts.store.count()
    finally:
        parts.close()
    fingerprint = json.loads((settings.data_dir / FINGERPRINT_FILE).read_text())
    return {
        "dataset": dataset.name, "split": split, "limit": limit, "depth": DEPTH, "fusion": fusion,
        "documents": len(dataset.corpus), "chunks": chunks, "index": fingerprint.get("index"), "queries": queries,
    }  # fmt: skip


class IndexProgressLine:
    """A line every 500 documents while the corpus is ingested (the first run only)."""

    def __init__(self) -> None:
        self.total = self.done = 0

    def __call__(self, event) -> None:
        if getattr(event, "kind", "") == "start":
            self.total, self.done = event.total, 0
            print(f"ingesting {self.total} documents (the first time only)", file=sys.stderr)
        elif getattr(event, "kind", "") == "file":
            self.done += 1
            if self.done % 500 == 0:
                print(f"  {self.done}/{self.total} documents", file=sys.stderr)


def cache_path(dataset_dir: Path, split: str, limit: int | None = None) -> Path:
    """Beside the index; a --limit run records apart, so it never replaces the whole split's records."""
    settings = eval_settings_for(load_settings(), dataset_dir.resolve().name)
    return settings.data_dir / (f"relevance-{split}.json" if limit is None else f"relevance-{split}-first{limit}.json")


# -- the gate over the recorded candidates ----------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    """The two conditions' first CANDIDATES candidates, padded to a (queries, CANDIDATES) block."""

    answerable: dict[str, np.ndarray]  # the list as retrieved
    absent: dict[str, np.ndarray]  # the list without the relevant documents' chunks
    rows: tuple[list, list]  # the same, as recorded (for the exact check through is_relevant)


def conditions(records: dict) -> Conditions:
    kept = [q["candidates"][:CANDIDATES] for q in records["queries"]]
    absent = [[c for c in q["candidates"] if not c[3]][:CANDIDATES] for q in records["queries"]]
    return Conditions(block(kept), block(absent), (kept, absent))


def block(lists: list[list]) -> dict[str, np.ndarray]:
    shape = (len(lists), CANDIDATES)
    out = {"relevance": np.full(shape, -np.inf), "coverage": np.full(shape, -np.inf),
           "shared": np.zeros(shape, int), "relevant": np.zeros(shape, bool), "present": np.zeros(shape, bool)}
    for i, candidates in enumerate(lists):
        for j, (relevance, coverage, shared, relevant, *_) in enumerate(candidates):
            out["relevance"][i, j], out["coverage"][i, j] = relevance, coverage
            out["shared"][i, j], out["relevant"][i, j], out["present"][i, j] = shared, relevant, True
    return out


def passes(b: dict[str, np.ndarray], s_min: float, s_sem: float, c_min: float) -> np.ndarray:
    """`is_relevant` over a block (checked against it in `exact_rates`)."""
    r = b["relevance"]
    return b["present"] & ((r >= s_sem) | ((b["coverage"] >= c_min) & (r >= s_min) & (b["shared"] >= 1)))


def rates(c: Conditions, s_min: float, s_sem: float, c_min: float) -> tuple[float, float]:
    """Answerable kept (over all queries) and correctly not found."""
    kept = (passes(c.answerable, s_min, s_sem, c_min) & c.answerable["relevant"]).any(axis=1).mean()
    not_found = (~passes(c.absent, s_min, s_sem, c_min).any(axis=1)).mean()
    return float(kept), float(not_found)


def reachable(c: Conditions) -> float:
    """Share of queries with a chunk of a relevant document among the candidates: the most the gate can keep."""
    return float(c.answerable["relevant"].any(axis=1).mean())


def answered(c: Conditions, s_min: float, s_sem: float, c_min: float) -> float:
    """Answerable questions given any passage at all (not refused), whether or not it is the answer's."""
    return float(passes(c.answerable, s_min, s_sem, c_min).any(axis=1).mean())


def exact_rates(c: Conditions, s_min: float, s_sem: float, c_min: float) -> tuple[float, float]:
    """The same rates through the product's own `is_relevant`, one candidate at a time."""

    def ok(row) -> bool:
        scores = SimpleNamespace(relevance=row[0], coverage=row[1], shared_terms=row[2],
                                 question_terms=row[4] if len(row) > 4 else None)
        return is_relevant(scores, s_min, s_sem, min_coverage=c_min)  # type: ignore[arg-type]

    kept, absent = c.rows
    kept_rate = np.mean([any(ok(row) and row[3] for row in rows) for rows in kept])
    not_found = np.mean([not any(ok(row) for row in rows) for rows in absent])
    return float(kept_rate), float(not_found)


def grid(c: Conditions) -> np.ndarray:
    """One row per setting: s_min, s_sem, c_min, answerable kept, not found, their mean, kept of the reachable."""
    rows = []
    ceiling = reachable(c) or 1.0
    for s_sem in S_SEM:
        for s_min in S_MIN:
            for c_min in C_MIN:
                kept, not_found = rates(c, s_min, s_sem, c_min)
                rows.append((s_min, s_sem, c_min, kept, not_found, (kept + not_found) / 2, kept / ceiling))
    return np.array(rows)


def best(table: np.ndarray, min_kept: float | None) -> np.ndarray | None:
    """The most not-found keeping at least `min_kept` of the reachable answers (ties: more kept, then the lowest
    thresholds); with min_kept None, the best mean of kept and not-found (ties: more not-found)."""
    rows = table if min_kept is None else table[table[:, 6] >= min_kept - 1e-12]
    if not len(rows):
        return None
    keys = (rows[:, 2], rows[:, 1], rows[:, 0], -rows[:, 3], -rows[:, 4])  # np.lexsort: last key first
    if min_kept is None:
        keys = (rows[:, 2], rows[:, 1], rows[:, 0], -rows[:, 4], -rows[:, 5])
    return rows[np.lexsort(keys)[0]]


def ties(table: np.ndarray, row: np.ndarray) -> int:
    return int(np.sum((np.abs(table[:, 3] - row[3]) < 1e-12) & (np.abs(table[:, 4] - row[4]) < 1e-12)))


# -- report -----------------------------------------------------------------------------------------------------


def quartiles(values: np.ndarray) -> list[float]:
    values = values[np.isfinite(values)]
    return [round(float(v), 3) for v in np.percentile(values, [0, 25, 50, 75, 100])] if len(values) else []


def distributions(c: Conditions) -> dict[str, dict[str, list[float]]]:
    """Best candidate's relevance and coverage per query: min, q1, median, q3, max."""
    answer_rel = np.where(c.answerable["relevant"], c.answerable["relevance"], -np.inf).max(axis=1)
    answer_cov = np.where(c.answerable["relevant"], c.answerable["coverage"], -np.inf).max(axis=1)
    return {
        "answer in library, best candidate": {
            "relevance": quartiles(c.answerable["relevance"].max(axis=1)),
            "coverage": quartiles(c.answerable["coverage"].max(axis=1))},
        "answer in library, best chunk of the answer": {
            "relevance": quartiles(answer_rel), "coverage": quartiles(answer_cov)},
        "answer not in library, best candidate": {
            "relevance": quartiles(c.absent["relevance"].max(axis=1)),
            "coverage": quartiles(c.absent["coverage"].max(axis=1))},
    }  # fmt: skip


def setting(row, c: Conditions) -> dict:
    s_min, s_sem, c_min = (round(float(v), 2) for v in row[:3])
    kept, not_found = exact_rates(c, s_min, s_sem, c_min)
    fast = rates(c, s_min, s_sem, c_min)
    if abs(fast[0] - kept) > 1e-12 or abs(fast[1] - not_found) > 1e-12:
        raise SystemExit(f"the grid's gate disagrees with is_relevant at {s_min, s_sem, c_min}: {fast} vs "
                         f"{kept, not_found}; fix `passes`")
    return {"min_relevance": s_min, "min_semantic_relevance": s_sem, "min_coverage": c_min,
            "answerable_kept": round(kept, 4), "kept_of_reachable": round(kept / (reachable(c) or 1.0), 4),
            "answerable_not_refused": round(answered(c, s_min, s_sem, c_min), 4), "not_found": round(not_found, 4),
            "mean": round((kept + not_found) / 2, 4)}


def summarize_gates(records: dict, gates: list[tuple[float, float, float]], target: float) -> dict:
    c = conditions(records)
    table = grid(c)
    chosen = best(table, target)
    balanced = best(table, None)
    frontier = {}
    for goal in (0.80, 0.85, 0.90, 0.95):
        row = best(table, goal)
        frontier[f"{goal:.2f}"] = setting(row, c) if row is not None else None
    return {
        "dataset": records["dataset"], "split": records["split"], "queries": len(records["queries"]),
        "documents": records.get("documents"), "chunks": records.get("chunks"), "fusion": records.get("fusion"),
        "candidates": CANDIDATES, "settings_searched": len(table), "target": target,
        "answer_among_candidates": round(reachable(c), 4),
        "current_defaults": setting(DEFAULTS, c),
        "given": [setting(g, c) for g in gates],
        "best_for_kept_target": {"target": target, **setting(chosen, c), "tied_settings": ties(table, chosen)}
        if chosen is not None else None,
        "best_balanced": {**setting(balanced, c), "tied_settings": ties(table, balanced)},
        "frontier": frontier,
        "distributions": distributions(c),
    }  # fmt: skip


def print_report(r: dict) -> None:
    print(f"{r['dataset']} {r['split']}: {r['queries']} queries, {r['documents']} documents, {r['chunks']} chunks; "
          f"hybrid ({r['fusion']}), first {r['candidates']} candidates")
    print(f"a chunk of a relevant document is among the {r['candidates']} candidates for "
          f"{r['answer_among_candidates']:.1%} of the queries (the most the gate can keep)\n")
    print("gate: relevance >= min_semantic_relevance OR (relevance >= min_relevance AND coverage >= min_coverage "
          "AND shared_terms >= 1)")
    print("kept: answerable questions keeping a chunk of their answer (of all; of the reachable); answered: given "
          "any passage;\nnot found: questions without their answer given none; mean: of kept (of all) and not found")
    print(f"{'':<34}{'min_rel':>8}{'min_sem':>8}{'min_cov':>8}{'kept':>7}{'of reach':>9}{'answered':>9}"
          f"{'notfound':>9}{'mean':>7}")

    def line(label: str, s: dict | None) -> None:
        if s is None:
            print(f"{label:<34}  (no setting reaches it)")
            return
        print(f"{label:<34}{s['min_relevance']:>8.2f}{s['min_semantic_relevance']:>8.2f}{s['min_coverage']:>8.2f}"
              f"{s['answerable_kept']:>7.3f}{s['kept_of_reachable']:>9.3f}{s['answerable_not_refused']:>9.3f}"
              f"{s['not_found']:>9.3f}{s['mean']:>7.3f}"
              + (f"   ({s['tied_settings']} settings tie)" if s.get("tied_settings", 1) > 1 else ""))

    line("current defaults", r["current_defaults"])
    for s in r["given"]:
        line("given (--gate)", s)
    line(f"most not-found, of reach >= {r['target']:.2f}", r["best_for_kept_target"])
    line("best mean (balanced accuracy)", r["best_balanced"])
    print(f"\nmost not-found for each kept-of-reachable target ({r['settings_searched']} settings searched):")
    for goal, s in r["frontier"].items():
        line(f"  of reach >= {goal}", s)
    print("\nper query, best candidate (min  q1  median  q3  max):")
    for label, figures in r["distributions"].items():
        for name, q in figures.items():
            print(f"  {label:<44} {name:<10} " + "  ".join(f"{v:6.3f}" for v in q))


def parse_gate(text: str) -> tuple[float, float, float]:
    try:
        s_min, s_sem, c_min = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("give min_relevance,min_semantic_relevance,min_coverage, e.g. 0.2,0.5,0")
    return s_min, s_sem, c_min


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="BEIR dataset folder, e.g. ../shared/data/scifact")
    parser.add_argument("--split", default="test", help="which qrels/SPLIT.tsv judges the queries")
    parser.add_argument("--limit", type=int, default=None, help="only the first N judged queries")
    parser.add_argument("--from-cache", action="store_true", help="reuse the recorded candidates; search nothing")
    parser.add_argument("--gate", type=parse_gate, action="append", default=[],
                        help="also report min_relevance,min_semantic_relevance,min_coverage (repeatable)")
    parser.add_argument("--target", type=float, default=TARGET_KEPT,
                        help="share of the reachable answers the chosen gate must keep")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.from_cache:
        path = cache_path(args.dataset, args.split)
        if not path.is_file() and args.limit is not None:
            path = cache_path(args.dataset, args.split, args.limit)
        if not path.is_file():
            raise SystemExit(f"no recorded candidates at {path}: run once without --from-cache")
        records = json.loads(path.read_text())
        if args.limit is not None:
            records["queries"] = records["queries"][: args.limit]
    else:
        records = collect(args.dataset, args.split, args.limit)
        path = cache_path(args.dataset, args.split, args.limit)
        path.write_text(json.dumps(records))
        print(f"candidates recorded in {path}", file=sys.stderr)
    result = summarize_gates(records, args.gate, args.target)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
