"""Enclave's side of bench/peers.py, run by it in the project's venv; prints one JSON line.

    .venv/bin/python bench/peer_enclave.py ingest FILE ...
    .venv/bin/python bench/peer_enclave.py scifact DATASET_DIR QUERIES_JSON

ingest:  `open_ingestor` (models and parse workers loaded first, as bench/ingest.py does), then one timed
         `Ingestor.ingest` of the files into a throwaway data folder; per file the verdict of bench/peer_rules.py on
         the chunk texts the store holds for its document.
scifact: `evaluate_beir` (what `enclave eval beir` runs: Enclave's default hybrid retrieval) on the judged queries of
         QUERIES_JSON, its index kept under ~/.cache/enclave/peers/enclave-eval and reused while it is current.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # after the project: bench/ingest.py is not `ingest`

from ingest import enforce_offline  # noqa: E402

enforce_offline()

EVAL_DATA = Path.home() / ".cache" / "enclave" / "peers" / "enclave-eval"


def ingest(paths: list[Path]) -> dict:
    from ingest import load_settings, open_ingestor
    from peer_rules import judge_text

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", _env_file=None)
        started = time.perf_counter()
        ingestor = open_ingestor(settings, warm_parsers=True)
        loaded = time.perf_counter() - started
        try:
            started = time.perf_counter()
            results = ingestor.ingest(paths)
            seconds = time.perf_counter() - started
            files = {}
            for result in results:
                texts = [c.text for c in ingestor.store.document_chunks(result.document_id)] if result.document_id else []
                files[Path(result.path).name] = {"verdict": judge_text("\n".join(texts)), "units": len(texts),
                                                 "chars": sum(len(t) for t in texts), "status": result.status,
                                                 "reason": result.reason}
        finally:
            ingestor.close()
    stored = [r for r in results if r.status in ("added", "updated")]
    return {"system": "enclave", "load_s": loaded, "seconds": seconds, "files": len(paths), "documents": len(stored),
            "chunks": sum(r.chunks for r in stored), "backend": settings.embedding_backend, "per_file": files}


def scifact(dataset: Path, queries_json: Path) -> dict:
    from assistant import evaluate_beir
    from ingest import load_settings

    limit = len(json.loads(queries_json.read_text()))
    report = evaluate_beir(dataset, split="test", settings=load_settings(data_dir=EVAL_DATA), limit=limit)
    return {"system": "enclave", "ndcg@10": report.ndcg_at_10, "method": report.method, "fusion": report.fusion,
            "chunks": report.chunks, "queries": report.queries, "queries_per_s": report.queries_per_s,
            "index_s": report.index_s, "index_reused": report.index_reused}


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    with contextlib.redirect_stdout(sys.stderr):
        figures = ingest([Path(a) for a in args]) if mode == "ingest" else scifact(Path(args[0]), Path(args[1]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
