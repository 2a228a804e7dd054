"""Read a BEIR-format dataset: corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError


@dataclass(frozen=True)
class BeirDocument:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirDataset:
    name: str
    corpus: list[BeirDocument]
    queries: dict[str, str]  # only the queries judged in the split
    qrels: dict[str, dict[str, int]]


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise AssistantError(f"{path} is missing: a BEIR dataset folder holds corpus.jsonl, queries.jsonl and qrels/")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise AssistantError(f"{path}:{number} is not valid JSON ({exc.msg})") from exc
    return rows


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise AssistantError(f"no relevance judgments for split {split!r} at {qrels_path} (available: {available or 'none'})")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(row["score"])
    corpus = [
        BeirDocument(str(row["_id"]), row.get("title") or "", row.get("text") or "")
        for row in _read_jsonl(folder / "corpus.jsonl")
    ]
    queries = {str(row["_id"]): row["text"] for row in _read_jsonl(folder / "queries.jsonl") if str(row["_id"]) in qrels}
    return BeirDataset(folder.resolve().name, corpus, queries, qrels)
