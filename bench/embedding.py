"""Embedding backends compared: speed, closeness to torch fp32, and dense-only SciFact nDCG@10.

    .venv/bin/python bench/embedding.py [--backends torch,onnx,...] [--texts 512] [--repeat 3]
                                        [--ndcg torch,openvino,...|all|none] [--cache-dir DIR]

Speed: the first N SciFact abstracts (title + " " + text, cut by the model at its 256-token window), batch 32,
after a warm-up batch; best of --repeat runs, in texts per wall second and texts per CPU-second of this process
(all its threads), since the machine is shared. Cosine: each backend's vectors against torch fp32 on the same texts.
nDCG@10: the whole corpus encoded by the backend, the test queries likewise, exact dot-product search, top 100,
scored by assistant.evaluation.evaluate_run; also the backend's queries against the torch corpus (are stored vectors
reusable after a backend change?). Corpus vectors are cached as .npy in --cache-dir (keyed on the export),
so a rerun only encodes what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import enforce_offline  # noqa: E402

enforce_offline()

from assistant.evaluation.beir import load_beir  # noqa: E402
from assistant.evaluation.metrics import evaluate_run  # noqa: E402
from ingest.encoders.dense import BACKENDS, Embedder  # noqa: E402
from ingest.encoders.dense_export import cache_key  # noqa: E402
from ingest.settings import default_cache_dir, packaged_embedding_model  # noqa: E402

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"


def time_embedding(embed, texts: list[str]) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(embed(texts), dtype=np.float32)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def corpus_vectors(embedder: Embedder, texts: list[str], cache: Path, key: str) -> tuple[np.ndarray, float, float]:
    """The corpus encoded by this backend, from the .npy cache when the same export already encoded it."""
    path = cache / f"scifact-{key}.npy"
    if path.is_file():
        return np.load(path), 0.0, 0.0
    vectors, wall, cpu = time_embedding(embedder.embed_documents, texts)
    np.save(path, vectors)
    return vectors, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="Comma-separated; torch is always measured.")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ndcg", default="all", help="Backends to score on SciFact: a list, 'all' or 'none'.")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--scifact", type=Path, default=SCIFACT if SCIFACT.is_dir() else Path("/work/shared/data/scifact"))
    args = parser.parse_args()

    backends = ["torch"] + [b for b in args.backends.split(",") if b and b != "torch"]
    scored = set(backends if args.ndcg == "all" else [] if args.ndcg == "none" else ["torch", *args.ndcg.split(",")])
    dataset = load_beir(args.scifact, "test")
    corpus = [f"{d.title} {d.text}".strip() for d in dataset.corpus]
    doc_ids = [d.doc_id for d in dataset.corpus]
    query_ids = sorted(dataset.queries)
    queries = [dataset.queries[q] for q in query_ids]
    sample = corpus[: args.texts]
    model_path = packaged_embedding_model()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    corpus_digest = hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:12]
    print(f"SciFact: {len(corpus)} documents, {len(queries)} test queries; speed on {len(sample)} abstracts, batch 32, "
          f"best of {args.repeat}; cache {args.cache_dir}", flush=True)

    rows = []
    reference: dict[str, np.ndarray] = {}
    for backend in backends:
        started = time.perf_counter()
        try:
            embedder = Embedder(model_path, batch_size=32, backend=backend, cache_dir=args.cache_dir / "models")
        except Exception as exc:  # noqa: BLE001 - a backend that cannot load is reported, the others still run
            print(f"{backend}: unavailable ({exc})", flush=True)
            continue
        load = time.perf_counter() - started
        embedder.embed_documents(sample[:32])  # warm-up: first-call allocations and kernel selection
        best_wall = best_cpu = float("inf")
        for _ in range(args.repeat):
            vectors, wall, cpu = time_embedding(embedder.embed_documents, sample)
            best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        row = {"backend": backend, "load": load, "wall": len(sample) / best_wall, "cpu": len(sample) / best_cpu}
        if backend == "torch":
            reference["sample"] = vectors
        cos = np.sum(vectors * reference["sample"], axis=1)
        row["cos"] = (float(cos.min()), float(cos.mean()))
        print(f"{backend}: load {load:.1f} s, {row['wall']:.1f} texts/s, {row['cpu']:.1f} texts/CPU-s, "
              f"cosine vs torch min {row['cos'][0]:.5f} mean {row['cos'][1]:.5f}", flush=True)

        if backend in scored:
            key = f"{backend}-{cache_key(Path(model_path), backend)}-{corpus_digest}"
            docs, wall, cpu = corpus_vectors(embedder, corpus, args.cache_dir, key)
            query_vectors = np.asarray(embedder.embed_documents(queries), dtype=np.float32)
            scores = query_vectors @ docs.T
            top = np.argsort(-scores, axis=1)[:, :100]
            run = {q: {doc_ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(query_ids)}
            row["metrics"] = evaluate_run(run, dataset.qrels)
            if backend == "torch":
                reference["corpus"] = docs
            # Interchangeability: this backend's queries against a corpus that torch fp32 embedded.
            mixed = query_vectors @ reference["corpus"].T
            top = np.argsort(-mixed, axis=1)[:, :100]
            run = {q: {doc_ids[j]: float(mixed[i, j]) for j in top[i]} for i, q in enumerate(query_ids)}
            row["mixed"] = evaluate_run(run, dataset.qrels)["ndcg@10"]
            full_cos = np.sum(docs * reference["corpus"], axis=1)
            row["corpus_cos"] = (float(full_cos.min()), float(full_cos.mean()))
            row["corpus_rate"] = (len(corpus) / wall, len(corpus) / cpu) if wall else None
            rate = f", corpus at {len(corpus) / wall:.1f} texts/s ({len(corpus) / cpu:.1f}/CPU-s)" if wall else " (cached)"
            print(f"{backend}: nDCG@10 {row['metrics']['ndcg@10']:.4f} (its queries on the torch corpus: "
                  f"{row['mixed']:.4f}), recall@100 {row['metrics']['recall@100']:.4f}, "
                  f"cosine over the corpus min {full_cos.min():.5f} mean {full_cos.mean():.5f}{rate}", flush=True)
        rows.append(row)
        del embedder

    base = rows[0] if rows and rows[0]["backend"] == "torch" else None
    print("\n| backend | texts/s | texts/CPU-s | × torch (CPU) | cosine min / mean (corpus) | nDCG@10 | Δ nDCG@10 "
          "| nDCG@10, its queries on the torch corpus | recall@100 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        speedup = f"{row['cpu'] / base['cpu']:.2f}" if base else "-"
        cos = row.get("corpus_cos", row["cos"])
        if "metrics" in row:
            ndcg = row["metrics"]["ndcg@10"]
            delta = f"{ndcg - base['metrics']['ndcg@10']:+.4f}" if base and "metrics" in base else "-"
            quality = f"{ndcg:.4f} | {delta} | {row['mixed']:.4f} | {row['metrics']['recall@100']:.4f}"
        else:
            quality = "- | - | - | -"
        print(f"| {row['backend']} | {row['wall']:.1f} | {row['cpu']:.1f} | {speedup} | {cos[0]:.5f} / {cos[1]:.5f} | {quality} |")


if __name__ == "__main__":
    main()
