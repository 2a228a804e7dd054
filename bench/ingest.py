"""Ingestion throughput: documents/s and chunks/s over a folder, against the raw speed of the same embedder.

    .venv/bin/python bench/ingest.py [FOLDER ...] [--generated N] [--skip-large]
    .venv/bin/python bench/ingest.py --workers N [--files-per-batch K] [--qdrant-url URL] [--database-url URL]
                                     [FOLDER ...] [--skip-large]

Prints, from one run: the first ingest (parse + chunk + embed + store), a second ingest of the same files
(everything unchanged), and the embedding model alone on exactly the chunk texts the first run produced.

With --workers: the same files through the ingestion queue (ENCLAVE_INGEST_QUEUE=postgres), one batch per file as
many uploads would be (or K files a batch), taken by N `enclave worker` processes; then checks that every file is stored once (one
document per file, one version each, the store holding exactly the chunks the registry counts). PostgreSQL: a
throwaway cluster from Debian's package unless --database-url names one. More than one worker needs a store they
can all write to, a Qdrant server (--qdrant-url): the embedded store is held by one process.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import enforce_offline  # noqa: E402

enforce_offline()

from ingest.pipeline.ingestor import open_ingestor  # noqa: E402
from ingest.settings import load_settings  # noqa: E402

DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "docs"


def generate_corpus(folder: Path, count: int, seed: int = 7) -> None:
    """Plain-text documents of a few paragraphs, built from a fixed vocabulary so runs are comparable."""
    rng = random.Random(seed)
    words = (
        "policy contract invoice supplier warranty delivery audit safety training budget quarter revenue "
        "customer report incident access password network server backup retention privacy employee manager "
        "review approval deadline project milestone risk compliance shipment inventory payment refund"
    ).split()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        paragraphs = []
        for _ in range(rng.randint(2, 6)):
            sentences = [" ".join(rng.choices(words, k=rng.randint(8, 20))).capitalize() + "." for _ in range(rng.randint(3, 8))]
            paragraphs.append(" ".join(sentences))
        (folder / f"doc-{i:05d}.txt").write_text(f"Document {i}\n\n" + "\n\n".join(paragraphs) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--generated", type=int, default=0, help="Also ingest N generated text documents.")
    parser.add_argument("--skip-large", action="store_true", help="Leave out war-and-peace-tolstoy.txt.")
    parser.add_argument("--workers", type=int, default=0, help="Ingest through the queue with N `enclave worker`s.")
    parser.add_argument("--qdrant-url", default="", help="With --workers: the Qdrant server they share.")
    parser.add_argument("--database-url", default="", help="With --workers: PostgreSQL (default: a throwaway one).")
    parser.add_argument("--files-per-batch", type=int, default=1, help="With --workers: files in each queued batch.")
    args = parser.parse_args()
    folders = args.folders or [DEFAULT_DOCS]
    if args.workers:
        from bench_workers import measure_workers

        sys.exit(measure_workers(folders, args.workers, args.skip_large, args.qdrant_url, args.database_url,
                                 args.files_per_batch))

    with tempfile.TemporaryDirectory() as tmp:
        corpora: list[tuple[str, list[Path]]] = []
        for folder in folders:
            paths = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith((".", "MANIFEST", "README"))]
            if args.skip_large:
                paths = [p for p in paths if p.name != "war-and-peace-tolstoy.txt"]
            corpora.append((str(folder), paths))
        if args.generated:
            generate_corpus(Path(tmp) / "generated", args.generated)
            corpora.append((f"{args.generated} generated documents", [Path(tmp) / "generated"]))

        settings = load_settings(data_dir=Path(tmp) / "data", _env_file=None)
        started = time.perf_counter()
        ingestor = open_ingestor(settings, warm_parsers=True)
        print(f"load models + open store: {time.perf_counter() - started:.1f} s (embedding backend {settings.embedding_backend})")
        try:
            for label, paths in corpora:
                print(f"\n== {label}")
                measure(ingestor, paths)
        finally:
            ingestor.close()


def measure(ingestor, paths: list[Path]) -> None:
    """First ingest, second ingest, then the embedder alone on exactly the chunk texts the first ingest embedded."""
    texts: list[str] = []
    busy = [0.0]  # seconds the encoder spent embedding during the ingest
    embed = ingestor.embedder.embed_documents

    def recording_embed(batch):
        texts.extend(batch)
        began = time.perf_counter()
        try:
            return embed(batch)
        finally:
            busy[0] += time.perf_counter() - began

    ingestor.embedder.embed_documents = recording_embed
    try:
        started, cpu = time.perf_counter(), time.process_time()
        results = ingestor.ingest(paths)
        first, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        ingestor.embedder.embed_documents = embed
    stored = [r for r in results if r.status in ("added", "updated")]
    failed = [r for r in results if r.status == "failed"]
    chunks = sum(r.chunks for r in stored)
    print(f"first ingest: {len(results)} files ({len(stored)} stored, {len(failed)} failed), {chunks} chunks in {first:.1f} s"
          f" -> {len(stored) / first:.2f} documents/s, {chunks / first:.1f} chunks/s")
    for r in failed:
        print(f"  failed {Path(r.path).name}: {r.reason}")
    print(f"  of which the encoder embedded {busy[0]:.1f} s; main process CPU {cpu:.1f} s "
          f"({cpu / first:.2f} cores; the parse workers use the rest)")

    started = time.perf_counter()
    again = ingestor.ingest(paths)
    second = time.perf_counter() - started
    unchanged = sum(r.status == "unchanged" for r in again)
    print(f"second ingest: {unchanged}/{len(again)} unchanged in {second:.2f} s ({second / first:.1%} of the first)")

    started = time.perf_counter()
    for i in range(0, len(texts), 256):
        embed(texts[i : i + 256])
    raw = time.perf_counter() - started
    print(f"raw embedding of the same {len(texts)} chunk texts: {raw:.1f} s -> {len(texts) / raw:.1f} chunks/s")
    print(f"ingestion / raw embedding throughput: {(chunks / first) / (len(texts) / raw):.0%}")


if __name__ == "__main__":
    main()
