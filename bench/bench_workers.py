"""`bench/ingest.py --workers N`: ingestion through the queue by N `enclave worker` processes, and the check that
every file is stored once. Run through bench/ingest.py (its docstring says how)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENCLAVE = str(Path(sys.executable).with_name("enclave"))


def measure_workers(folders: list[Path], workers: int, skip_large: bool, qdrant_url: str, database_url: str,
                    files_per_batch: int = 1) -> int:
    from ingest import load_settings, open_components, open_queue

    if workers > 1 and not qdrant_url:
        print(f"{workers} workers need a store they can all write to: give --qdrant-url (a Qdrant server). The "
              "embedded store is held by one process, so on it one worker is all there can be.")
        return 2
    files = [p for folder in folders for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith((".", "MANIFEST", "README"))
             and not (skip_large and p.name == "war-and-peace-tolstoy.txt")]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = database_url or stack.enter_context(_throwaway_postgres())
        env = dict(os.environ, ENCLAVE_DATA_DIR=str(tmp / "data"), ENCLAVE_DATABASE_URL=url,
                   ENCLAVE_INGEST_QUEUE="postgres", ENCLAVE_QDRANT_URL=qdrant_url, ENCLAVE_WORKER_HEALTH_PORT="0",
                   ENCLAVE_COLLECTION=f"bench_workers_{os.getpid()}")
        settings = load_settings(data_dir=tmp / "data", database_url=url, ingest_queue="postgres",
                                 qdrant_url=qdrant_url, collection=env["ENCLAVE_COLLECTION"], _env_file=None)
        queue = open_queue(settings)
        stack.callback(queue.close)
        started = time.perf_counter()
        processes = [subprocess.Popen([ENCLAVE, "worker"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=(tmp / f"worker-{i}.log").open("wb")) for i in range(workers)]
        stack.callback(_stop, processes)
        while queue.workers() < workers:  # each one registers once its models are loaded and its store open
            if any(p.poll() is not None for p in processes):
                print("a worker exited:\n" + "\n".join(f.read_text() for f in tmp.glob("worker-*.log")))
                return 2
            time.sleep(0.2)
        ready = time.perf_counter() - started
        print(f"{workers} worker(s) ready in {ready:.1f} s (models loaded, store open); {len(files)} files, "
              f"{files_per_batch} a batch")
        started = time.perf_counter()
        batches = [queue.submit(files[i:i + files_per_batch], user="bench")
                   for i in range(0, len(files), files_per_batch)]
        results = [result for batch in batches for result in queue.follow(batch)]
        seconds = time.perf_counter() - started
        stored = [r for r in results if r.status in ("added", "updated")]
        chunks = sum(r.chunks for r in stored)
        print(f"through the queue: {len(stored)} stored, {len(results) - len(stored)} failed, {chunks} chunks in "
              f"{seconds:.1f} s -> {len(stored) / seconds:.2f} documents/s, {chunks / seconds:.1f} chunks/s")
        _stop(processes)
        components = open_components(settings)
        try:
            records = components.registry.all()
            versions = components.store.document_versions()
            duplicates = len(records) - len({r.source for r in records})
            extra = sum(len(v) > 1 for v in versions.values()) + len(set(versions) - {r.document_id for r in records})
            points, counted = components.store.count(), sum(r.chunks for r in records)
        finally:
            components.close()
        print(f"stored once: {len(records)} documents for {len(stored)} files, {duplicates} duplicate, {extra} "
              f"extra version(s), {points} points for the registry's {counted} chunks")
        return 0 if duplicates == 0 and extra == 0 and points == counted and len(records) == len(stored) else 1


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=600)


def _throwaway_postgres():
    """A PostgreSQL cluster from Debian's package, as the tests start one (tests/postgres.py): in a folder of its own
    under /tmp (the server may run as `postgres`, which cannot enter our temporary folder)."""
    from contextlib import contextmanager

    sys.path.insert(0, str(ROOT / "tests"))
    from postgres import Cluster, postgres_bin  # noqa: E402

    @contextmanager
    def started():
        bindir = postgres_bin()
        if bindir is None:
            raise SystemExit("PostgreSQL is not installed: `make test-deps` installs Debian's postgresql package")
        cluster = Cluster(bindir, Path(tempfile.mkdtemp(prefix="enclave-bench-pg-")))
        cluster.start()
        try:
            cluster.execute('CREATE DATABASE "bench"')
            yield cluster.url("bench")
        finally:
            cluster.stop()

    return started()
