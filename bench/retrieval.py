"""Prints p50/p95 of one hybrid retrieval at several corpus sizes: embedded Edge (filter on/off, before and after
optimize), numpy brute force as a reference, a Qdrant server if ENCLAVE_QDRANT_URL is set, and query embedding time.

Usage: .venv/bin/python bench/retrieval.py --sizes 10000,100000 --queries 200 [--optimize-up-to 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.offline import enforce_offline  # noqa: E402

enforce_offline()

from ingest.models import Chunk, SearchFilter, SparseVector, StoredChunk  # noqa: E402
from ingest.store import EdgeStore, QdrantServerStore, Store  # noqa: E402

DIMENSION = 384  # all-MiniLM-L6-v2
GROUPS = [f"group{i}" for i in range(10)]
FILTER = SearchFilter(groups=("group1", "group2"))  # MatchAny over 2 of 10 groups: ~20% of the chunks
VOCABULARY = 50_000
TERMS_PER_CHUNK = 60
TERMS_PER_QUERY = 5
BATCH = 1000
LIMIT, PREFETCH = 10, 100
QUESTIONS = [
    "How many vacation days can I carry over into next year?",
    "What is the procedure to replace the seals on pump XR-7734?",
    "Who approves expense claims above 5,000 euros?",
    "¿Cuál es la política de teletrabajo?",
    "What does error 0x80070005 mean during the update?",
]


class Corpus:
    """Synthetic chunks: random unit dense vectors, Zipf-distributed sparse terms, one group each."""

    def __init__(self, size: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        dense = rng.standard_normal((size, DIMENSION), dtype=np.float32)
        self.dense = dense / np.linalg.norm(dense, axis=1, keepdims=True)
        self.groups = rng.integers(0, len(GROUPS), size)
        self.rng = rng
        self.size = size

    def sparse(self, terms: int) -> SparseVector:
        ids = np.unique(np.minimum(self.rng.zipf(1.3, terms), VOCABULARY) + self.rng.integers(0, 3, terms) * VOCABULARY)
        values = self.rng.uniform(0.5, 2.0, len(ids))
        return SparseVector(ids.tolist(), values.round(3).tolist())

    def batches(self) -> list[StoredChunk]:
        for start in range(0, self.size, BATCH):
            yield [self.point(i) for i in range(start, min(self.size, start + BATCH))]

    def point(self, i: int) -> StoredChunk:
        chunk = Chunk(
            chunk_id=f"bench-{i}", document_id=f"doc-{i // 20}", index=i % 20, text="lorem ipsum dolor " * 40,
            document_name=f"doc-{i // 20}.pdf", title="Synthetic", pages=(1 + i % 20 // 4,),
            groups=(GROUPS[self.groups[i]],),
        )  # fmt: skip
        return StoredChunk(chunk, self.dense[i].tolist(), self.sparse(TERMS_PER_CHUNK))

    def queries(self, count: int) -> list[tuple[np.ndarray, SparseVector]]:
        # Near a stored chunk, as a real question is near its answer.
        picks = self.rng.integers(0, self.size, count)
        noisy = self.dense[picks] + self.rng.standard_normal((count, DIMENSION), dtype=np.float32) * 0.05
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        return [(q, self.sparse(TERMS_PER_QUERY)) for q in noisy]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms"


def time_calls(call: Callable[[np.ndarray, SparseVector], object], queries) -> list[float]:
    call(*queries[0])  # warm caches and lazy loads
    samples = []
    for dense, sparse in queries:
        start = time.perf_counter()
        call(dense, sparse)
        samples.append(time.perf_counter() - start)
    return samples


def report_store(label: str, store: Store, queries) -> None:
    for name, flt in (("no filter", None), ("filter on", FILTER)):
        samples = time_calls(lambda d, s: store.search(d.tolist(), s, LIMIT, flt, prefetch_limit=PREFETCH), queries)
        print(f"  {label:<28} hybrid, {name:<9}  {percentiles(samples)}")


def report_numpy(corpus: Corpus, queries) -> None:
    allowed = np.isin(corpus.groups, [GROUPS.index(g) for g in FILTER.groups])

    def search(dense: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        scores = corpus.dense @ dense
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        top = np.argpartition(-scores, LIMIT)[:LIMIT]
        return top[np.argsort(-scores[top])]

    for name, mask in (("no filter", None), ("filter on", allowed)):
        samples = time_calls(lambda d, s: search(d, mask), queries)
        print(f"  {'numpy brute force (dense)':<28} top-{LIMIT}, {name:<9}  {percentiles(samples)}")


def load(store: Store, corpus: Corpus) -> float:
    start = time.perf_counter()
    for batch in corpus.batches():
        store.upsert(batch)
    return time.perf_counter() - start


def bench_edge(corpus: Corpus, queries, optimize: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="enclave-bench-"))
    try:
        store = EdgeStore(folder / "shard", DIMENSION)
        seconds = load(store, corpus)
        print(f"  edge insert: {corpus.size / seconds:,.0f} chunks/s ({seconds:.1f} s, flush after each {BATCH})")
        report_store("edge, not optimized", store, queries)
        if optimize:
            start = time.perf_counter()
            store.optimize()
            print(f"  edge optimize(): {time.perf_counter() - start:.1f} s (blocks the process, GIL held)")
            report_store("edge, optimized", store, queries)
        else:
            print("  edge optimize(): skipped at this size (--optimize-up-to)")
        store.close()
        start = time.perf_counter()
        EdgeStore(folder / "shard", DIMENSION).close()
        print(f"  edge reopen: {time.perf_counter() - start:.2f} s;  disk {du(folder) / 1e6:.0f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_server(url: str, corpus: Corpus, queries) -> None:
    from qdrant_client import QdrantClient

    collection = f"enclave_bench_{corpus.size}"
    client = QdrantClient(url=url, api_key=os.environ.get("ENCLAVE_QDRANT_API_KEY") or None, timeout=120)
    if client.collection_exists(collection):
        client.delete_collection(collection)
    store = QdrantServerStore(client, collection, DIMENSION)
    try:
        seconds = load(store, corpus)
        print(f"  server insert: {corpus.size / seconds:,.0f} chunks/s; waiting for its background indexing")
        while client.get_collection(collection).status != "green":
            time.sleep(1)
        report_store("qdrant server", store, queries)
    finally:
        client.delete_collection(collection)
        store.close()


def bench_embedding(count: int) -> None:
    from ingest.encoders.dense import Embedder
    from ingest.settings import packaged_embedding_model

    embedder = Embedder(packaged_embedding_model())
    embedder.embed_query("warm up")
    samples = []
    for i in range(count):
        start = time.perf_counter()
        embedder.embed_query(QUESTIONS[i % len(QUESTIONS)])
        samples.append(time.perf_counter() - start)
    print(f"query embedding (real all-MiniLM-L6-v2, {count} questions): {percentiles(samples)}")


def du(folder: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--optimize-up-to", type=int, default=None, help="run Edge optimize() only up to this size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"synthetic corpus: random unit vectors ({DIMENSION} d), Zipf sparse vectors ({TERMS_PER_CHUNK} terms), "
          f"1 of {len(GROUPS)} groups per chunk; filter = MatchAny over {len(FILTER.groups)} groups (~20%)")
    print(f"one retrieval = EdgeStore/QdrantServerStore.search(limit={LIMIT}, prefetch_limit={PREFETCH}), "
          f"RRF(k=60), payloads converted to Chunk; query embedding excluded (below)")
    print(f"machine: {os.cpu_count()} cores; {args.queries} queries per line\n")
    bench_embedding(min(args.queries, 50))
    url = os.environ.get("ENCLAVE_QDRANT_URL", "")
    for size in sizes:
        print(f"\n== {size:,} chunks ==")
        corpus = Corpus(size)
        queries = corpus.queries(args.queries)
        report_numpy(corpus, queries)
        bench_edge(corpus, queries, optimize=args.optimize_up_to is None or size <= args.optimize_up_to)
        if url:
            bench_server(url, corpus, queries)
        else:
            print("  qdrant server: skipped (ENCLAVE_QDRANT_URL not set)")


if __name__ == "__main__":
    main()
