"""Prints p50/p95 of one hybrid retrieval at several corpus sizes: embedded Edge (filter on/off, before and after
optimize), numpy brute force as a reference, a Qdrant server if ENCLAVE_QDRANT_URL is set, and query embedding time.
Per size, for Edge: insert and optimize (index build) times, the resident memory of a process that opens the store
and searches it, and the disk, per chunk. The index flags are the ENCLAVE_STORE_* settings (unset: Edge's defaults).
--during-optimize runs optimize() in a thread while the main thread keeps upserting, as a background index build
would: it prints how long upserts and a Python ticker thread waited.

Usage: .venv/bin/python bench/retrieval.py --sizes 10000,100000 --queries 200 [--optimize-up-to 10000]
         [--quantization int8] [--on-disk-payload] [--on-disk-vectors] [--hnsw-m 16] [--hnsw-ef-construct 100]
         [--indexing-threshold-kb 10000] [--during-optimize] [--no-embedding] [--keep DIR]
--keep DIR builds each store in DIR/SIZE and leaves it; a rerun with the same DIR, size and index options measures
searches on it without the insert and the build (a million chunks take ~50 minutes to build).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.offline import enforce_offline  # noqa: E402

enforce_offline()

from ingest.models import Chunk, SearchFilter, SparseVector, StoredChunk  # noqa: E402
from ingest.store import EdgeStore, IndexSettings, QdrantServerStore, Store  # noqa: E402

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

    def __init__(self, size: int, seed: int = 7, prefix: str = "bench") -> None:
        rng = np.random.default_rng(seed)
        dense = rng.standard_normal((size, DIMENSION), dtype=np.float32)
        self.dense = dense / np.linalg.norm(dense, axis=1, keepdims=True)
        self.groups = rng.integers(0, len(GROUPS), size)
        self.rng = rng
        self.size = size
        self.prefix = prefix

    def sparse(self, terms: int) -> SparseVector:
        ids = np.unique(np.minimum(self.rng.zipf(1.3, terms), VOCABULARY) + self.rng.integers(0, 3, terms) * VOCABULARY)
        values = self.rng.uniform(0.5, 2.0, len(ids))
        return SparseVector(ids.tolist(), values.round(3).tolist())

    def batches(self) -> list[StoredChunk]:
        for start in range(0, self.size, BATCH):
            yield [self.point(i) for i in range(start, min(self.size, start + BATCH))]

    def point(self, i: int) -> StoredChunk:
        chunk = Chunk(
            chunk_id=f"{self.prefix}-{i}", document_id=f"{self.prefix}-doc-{i // 20}", index=i % 20,
            text="lorem ipsum dolor " * 40,
            document_name=f"{self.prefix}-doc-{i // 20}.pdf", title="Synthetic", pages=(1 + i % 20 // 4,),
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


def report_store(label: str, store: Store, queries, parts: bool = False) -> None:
    """Hybrid search with and without the filter; with parts, also each half of it alone (dense, sparse: top-10; the
    index walks the same candidates as a prefetch of 100), to show where the time goes."""
    for name, flt in (("no filter", None), ("filter on", FILTER)):
        samples = time_calls(lambda d, s: store.search(d.tolist(), s, LIMIT, flt, prefetch_limit=PREFETCH), queries)
        print(f"  {label:<28} hybrid, {name:<9}  {percentiles(samples)}")
    if parts:
        for method in ("dense", "sparse"):
            for name, flt in (("no filter", None), ("filter on", FILTER)):
                samples = time_calls(
                    lambda d, s: store.search(d.tolist(), s, LIMIT, flt, method=method), queries  # type: ignore
                )
                print(f"  {label:<28} {method + ' alone,':<14}{name:<9}  {percentiles(samples)}")


def allowed_mask(corpus: Corpus) -> np.ndarray:
    return np.isin(corpus.groups, [GROUPS.index(g) for g in FILTER.groups])


def exact_top(corpus: Corpus, dense: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    scores = corpus.dense @ dense
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, LIMIT)[:LIMIT]
    return top[np.argsort(-scores[top])]


def report_numpy(corpus: Corpus, queries) -> None:
    for name, mask in (("no filter", None), ("filter on", allowed_mask(corpus))):
        samples = time_calls(lambda d, s: exact_top(corpus, d, mask), queries)
        print(f"  {'numpy brute force (dense)':<28} top-{LIMIT}, {name:<9}  {percentiles(samples)}")


def report_recall(label: str, store: Store, corpus: Corpus, queries) -> None:
    """Dense top-10 with the filter against the exact filtered top-10 (numpy): what the index and quantization
    lose. Random vectors are the hardest case for an approximate index (no cluster structure)."""
    mask = allowed_mask(corpus)
    found = 0
    for dense, _ in queries:
        exact = {f"{corpus.prefix}-{i}" for i in exact_top(corpus, dense, mask)}
        hits = store.search(dense.tolist(), None, LIMIT, FILTER, method="dense")
        found += len(exact & {hit.chunk.chunk_id for hit in hits})
    print(f"  {label:<28} dense recall@{LIMIT} with the filter against exact search: "
          f"{found / (LIMIT * len(queries)):.3f}")


def load(store: Store, corpus: Corpus) -> float:
    start = time.perf_counter()
    for batch in corpus.batches():
        store.upsert(batch)
    return time.perf_counter() - start


def bench_edge(corpus: Corpus, queries, optimize: bool, index: IndexSettings, during: bool,
               keep: Path | None = None) -> None:
    """keep: build the store in keep/SIZE and leave it there; a later run with the same keep and size (and the same
    index settings) skips the insert and the build and measures searches on the kept store."""
    if keep is not None:
        folder = keep / str(corpus.size)
        built = folder / "built.json"
        if built.exists():
            measure_kept(folder, corpus, queries, index, json.loads(built.read_text()))
            return
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="enclave-bench-"))
    try:
        store = EdgeStore(folder / "shard", DIMENSION, index=index)
        seconds = load(store, corpus)
        print(f"  edge insert: {corpus.size / seconds:,.0f} chunks/s ({seconds:.1f} s, flush after each {BATCH})")
        report_store("edge, not optimized", store, queries)
        if optimize and during:
            optimize_while_upserting(store)
            report_store("edge, optimized", store, queries, parts=True)
            report_recall("edge, optimized", store, corpus, queries)
        elif optimize:
            start = time.perf_counter()
            store.optimize()
            print(f"  edge optimize(): {time.perf_counter() - start:.1f} s (blocks the process, GIL held)")
            report_store("edge, optimized", store, queries, parts=True)
            report_recall("edge, optimized", store, corpus, queries)
        else:
            print("  edge optimize(): skipped at this size (--optimize-up-to)")
        store.close()
        opened = reopen_in_child(folder / "shard", index)
        disk = du(folder)
        print(f"  edge reopen (new process): {opened['open_s']:.2f} s; {opened['points']:,} points; resident memory "
              f"{opened['rss'] / 1e6:,.0f} MB after opening + {opened['queries']} searches "
              f"({opened['rss'] / opened['points']:,.0f} B/chunk); disk {disk / 1e6:,.0f} MB "
              f"({disk / opened['points']:,.0f} B/chunk)")
        if keep is not None and optimize and store_built(folder, corpus, index):
            print(f"  kept in {folder}: rerun with --keep {keep} to measure searches without rebuilding")
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def store_built(folder: Path, corpus: Corpus, index: IndexSettings) -> bool:
    """Marks a kept store as complete (inserted and optimized), with the settings it was built with."""
    (folder / "built.json").write_text(json.dumps({"size": corpus.size, "index": index.__dict__}))
    return True


def measure_kept(folder: Path, corpus: Corpus, queries, index: IndexSettings, built: dict) -> None:
    if built["index"] != index.__dict__:
        raise SystemExit(f"{folder} was built with {built['index']}, not {index.__dict__}: give the same index "
                         "options, or another --keep folder")
    start = time.perf_counter()
    store = EdgeStore(folder / "shard", DIMENSION, index=index)
    print(f"  edge (kept store, built before): opened in {time.perf_counter() - start:.1f} s; "
          f"{store.count():,} points")
    try:
        report_first_searches(store, queries)
        report_store("edge, optimized", store, queries, parts=True)
        report_recall("edge, optimized", store, corpus, queries)
    finally:
        store.close()


def report_first_searches(store: Store, queries) -> None:
    """A store just opened answers its first searches slower (its files are mapped in as they are read): the mean
    time of hybrid searches 1-20, 21-60 and the rest, from the first one after opening. The lines after it are warm."""
    samples = []
    for dense, sparse in queries:
        start = time.perf_counter()
        store.search(dense.tolist(), sparse, LIMIT, None, prefetch_limit=PREFETCH)
        samples.append(time.perf_counter() - start)
    spans = [(1, 20), (21, 60), (61, len(samples))]
    print("  edge, just opened            hybrid, no filter, mean of searches " + "; ".join(
        f"{a}-{b}: {statistics.mean(samples[a - 1:b]) * 1000:.1f} ms" for a, b in spans if len(samples) >= b))


def optimize_while_upserting(store: EdgeStore) -> None:
    """optimize() in a thread, as a background index build would be; meanwhile this thread upserts batches of 100 new
    chunks, made beforehand so that only the wait for each upsert is timed, and a ticker thread wakes every 10 ms
    (its longest gap shows how long Python was frozen)."""
    extra = Corpus(5_000, seed=11, prefix="late")
    batches = [[extra.point(i) for i in range(start, start + 100)] for start in range(0, extra.size, 100)]
    done = threading.Event()
    gaps: list[float] = []
    built: list[float] = []

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    def build() -> None:
        began = time.perf_counter()
        try:
            store.optimize()
        finally:
            built.append(time.perf_counter() - began)
            done.set()

    ticker = threading.Thread(target=tick, daemon=True)
    builder = threading.Thread(target=build)
    ticker.start()
    start = time.perf_counter()
    builder.start()
    # Each upsert is timed from the end of the one before: a freeze between two calls (the GIL held) is a wait too.
    # One more upsert after the build ends, so the wait that spans its end is counted.
    upserts: list[float] = []
    last = start
    while batches:
        finished = done.is_set()
        store.upsert(batches.pop())
        now = time.perf_counter()
        upserts.append(now - last)
        last = now
        if finished:
            break
    builder.join()
    build_s = built[0]
    ticker.join()
    print(f"  edge optimize() in a thread: {build_s:.1f} s; meanwhile {len(upserts)} upserts of 100 chunks: worst "
          f"{max(upserts, default=0):.2f} s, median {statistics.median(upserts) if upserts else 0:.2f} s; a 10 ms "
          f"ticker thread's longest gap {max(gaps, default=0):.2f} s")


def reopen_in_child(shard: Path, index: IndexSettings) -> dict:
    """Open the store in a fresh process and search it: its resident memory is the store's, not this corpus's."""
    argv = [sys.executable, __file__, "--reopen", str(shard), "--index", json.dumps(index.__dict__)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def reopen_and_measure(shard: str, index: IndexSettings, count: int = 50) -> None:
    rng = np.random.default_rng(3)
    queries = [(q / np.linalg.norm(q)).tolist() for q in rng.standard_normal((count, DIMENSION), dtype=np.float32)]
    sparse = SparseVector([1, 2, 3], [1.0, 1.0, 1.0])
    before = resident_bytes()
    start = time.perf_counter()
    store = EdgeStore(shard, DIMENSION, index=index)
    open_s = time.perf_counter() - start
    for dense in queries:
        store.search(dense, sparse, LIMIT, FILTER, prefetch_limit=PREFETCH)
    rss = resident_bytes() - before
    points = store.count()
    store.close()
    print(json.dumps({"open_s": open_s, "rss": rss, "points": points, "queries": count}))


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


def index_from(args: argparse.Namespace) -> IndexSettings:
    return IndexSettings(
        hnsw_m=args.hnsw_m, hnsw_ef_construct=args.hnsw_ef_construct, quantization=args.quantization,
        on_disk_vectors=True if args.on_disk_vectors else None, on_disk_payload=True if args.on_disk_payload else None,
        indexing_threshold_kb=args.indexing_threshold_kb,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--optimize-up-to", type=int, default=None, help="run Edge optimize() only up to this size")
    parser.add_argument("--hnsw-m", type=int, default=None, help="ENCLAVE_STORE_HNSW_M (Edge's default 16)")
    parser.add_argument("--hnsw-ef-construct", type=int, default=None, help="ENCLAVE_STORE_HNSW_EF_CONSTRUCT (100)")
    parser.add_argument("--quantization", choices=("none", "int8"), default=None, help="ENCLAVE_STORE_QUANTIZATION")
    parser.add_argument("--on-disk-payload", action="store_true", help="ENCLAVE_STORE_ON_DISK_PAYLOAD=true")
    parser.add_argument("--on-disk-vectors", action="store_true", help="ENCLAVE_STORE_ON_DISK_VECTORS=true")
    parser.add_argument("--indexing-threshold-kb", type=int, default=None, help="ENCLAVE_STORE_INDEXING_THRESHOLD_KB")
    parser.add_argument("--during-optimize", action="store_true",
                        help="run optimize() in a thread while upserting, and time the upserts")
    parser.add_argument("--no-embedding", action="store_true", help="skip the query embedding line")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build each size's store in KEEP/SIZE and keep it; with a kept store, only search it")
    parser.add_argument("--reopen", help=argparse.SUPPRESS)  # the child of reopen_in_child
    parser.add_argument("--index", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reopen:
        reopen_and_measure(args.reopen, IndexSettings(**json.loads(args.index)))
        return
    index = index_from(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"synthetic corpus: random unit vectors ({DIMENSION} d), Zipf sparse vectors ({TERMS_PER_CHUNK} terms), "
          f"1 of {len(GROUPS)} groups per chunk; filter = MatchAny over {len(FILTER.groups)} groups (~20%)")
    print(f"one retrieval = EdgeStore/QdrantServerStore.search(limit={LIMIT}, prefetch_limit={PREFETCH}), "
          f"RRF(k=60), payloads converted to Chunk; query embedding excluded (below)")
    chosen = ", ".join(f"{k}={v}" for k, v in index.__dict__.items() if v is not None)
    print(f"edge index settings: {chosen or 'none set (Edge defaults)'}")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.queries} queries per line\n")
    if not args.no_embedding:
        bench_embedding(min(args.queries, 50))
    url = os.environ.get("ENCLAVE_QDRANT_URL", "")
    for size in sizes:
        print(f"\n== {size:,} chunks ==")
        corpus = Corpus(size)
        queries = corpus.queries(args.queries)
        report_numpy(corpus, queries)
        bench_edge(corpus, queries, optimize=args.optimize_up_to is None or size <= args.optimize_up_to,
                   index=index, during=args.during_optimize, keep=args.keep)
        if url:
            bench_server(url, corpus, queries)
        else:
            print("  qdrant server: skipped (ENCLAVE_QDRANT_URL not set)")
        print(f"  load average after this size: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
