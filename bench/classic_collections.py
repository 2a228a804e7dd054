"""Write the classic Cranfield and CISI test collections as BEIR folders, for `enclave eval beir` and bench/fusion.py.

    .venv/bin/python bench/classic_collections.py cranfield SRC OUT   # SRC holds cran.all.1400, cran.qry, cranqrel
    .venv/bin/python bench/classic_collections.py cisi SRC OUT        # SRC holds CISI.ALL, CISI.QRY, CISI.REL
    ENCLAVE_DATA_DIR=/tmp/evaldata .venv/bin/enclave eval beir OUT --split test --json

Both are public test collections in the SMART format, distributed by the University of Glasgow's IR group
(ir.dcs.gla.ac.uk/resources/test_collections/) and mirrored in many public repositories; nothing here downloads
them. Cranfield: 1,400 aeronautics abstracts, 225 queries, graded judgments. CISI: 1,460 library-science abstracts,
112 queries of which 76 are judged, binary judgments. They are a second and third domain beside SciFact, with
judgments made by people, long before dense retrieval existed.

The two known traps of these files are handled: Cranfield's judgments number its queries 1..225 in file order,
not by the `.I` numbers of cran.qry (001, 002, 004, ...); and its grades run the wrong way for nDCG (1 = complete
answer ... 4 = minimum interest, -1 = no interest), so a grade g becomes the gain 5 - g and -1 is dropped.
The input files' SHA-256 are printed, so that a figure can name the exact files it came from.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
from pathlib import Path

FIELD = re.compile(r"^\.([A-Z])(?:\s+(\S+))?\s*$")


def read_records(path: Path) -> list[tuple[str, dict[str, str]]]:
    """SMART records: `.I id` starts one; `.T`, `.W`, `.A`, ... start its fields, each running to the next marker."""
    records: list[tuple[str, dict[str, str]]] = []
    field = None
    for line in path.read_text(encoding="latin-1").splitlines():
        marker = FIELD.match(line)
        if marker and marker.group(1) == "I":
            records.append((marker.group(2) or str(len(records) + 1), {}))
            field = None
        elif marker and not marker.group(2):
            field = marker.group(1)
            records[-1][1].setdefault(field, "")
        elif field is not None and records:
            fields = records[-1][1]
            fields[field] = f"{fields[field]} {line.strip()}".strip()
    return records


def clean(text: str) -> str:
    """Cranfield writes ' .' for '.' and ' ,' sometimes: join what tokenisation split, for the embedder's sake."""
    return re.sub(r"\s+([.,;:?)])", r"\1", re.sub(r"\s+", " ", text)).strip()


def cranfield(source: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    corpus = [
        {"_id": str(int(doc_id)), "title": clean(f.get("T", "")), "text": clean(f.get("W", ""))}
        for doc_id, f in read_records(source / "cran.all.1400")
    ]
    queries = [{"_id": str(n), "text": clean(f.get("W", ""))}
               for n, (_, f) in enumerate(read_records(source / "cran.qry"), start=1)]
    qrels = []
    for line in (source / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and 1 <= int(parts[2]) <= 4:
            qrels.append((parts[0], parts[1], 5 - int(parts[2])))
    return corpus, queries, qrels


def cisi(source: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    corpus = [
        {"_id": str(int(doc_id)), "title": clean(f.get("T", "")), "text": clean(f.get("W", ""))}
        for doc_id, f in read_records(source / "CISI.ALL")
    ]
    queries = [{"_id": str(int(q_id)), "text": clean(" ".join(f.get(k, "") for k in ("T", "W")))}
               for q_id, f in read_records(source / "CISI.QRY")]
    qrels = [(parts[0], parts[1], 1) for parts in map(str.split, (source / "CISI.REL").read_text().splitlines())
             if len(parts) >= 2]
    return corpus, queries, qrels


COLLECTIONS = {
    "cranfield": (cranfield, ("cran.all.1400", "cran.qry", "cranqrel")),
    "cisi": (cisi, ("CISI.ALL", "CISI.QRY", "CISI.REL")),
}


def write_beir(out: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> None:
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
        with (out / name).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows(sorted(set(qrels), key=lambda r: (int(r[0]), int(r[1]))))


def check(corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> None:
    """Refuse to write a collection whose judgments point outside it: a misread file would give plausible nonsense."""
    documents, asked = {d["_id"] for d in corpus}, {q["_id"] for q in queries}
    stray = [r for r in qrels if r[0] not in asked or r[1] not in documents]
    if stray:
        raise SystemExit(f"{len(stray)} judgments name a query or document the files do not hold, e.g. {stray[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", choices=sorted(COLLECTIONS))
    parser.add_argument("source", type=Path, help="the folder holding the collection's SMART files")
    parser.add_argument("out", type=Path, help="the BEIR folder to write")
    args = parser.parse_args()
    convert, files = COLLECTIONS[args.collection]
    missing = [name for name in files if not (args.source / name).is_file()]
    if missing:
        raise SystemExit(f"{args.source} lacks {', '.join(missing)}: give the folder holding {', '.join(files)}")
    for name in files:
        print(f"{hashlib.sha256((args.source / name).read_bytes()).hexdigest()}  {name}")
    corpus, queries, qrels = convert(args.source)
    check(corpus, queries, qrels)
    write_beir(args.out, corpus, queries, qrels)
    judged = {r[0] for r in qrels}
    empty = sum(1 for d in corpus if not d["text"])
    print(f"{args.collection}: {len(corpus):,} documents ({empty} without text), {len(queries)} queries "
          f"({len(judged)} judged), {len(qrels):,} judgments -> {args.out}")


if __name__ == "__main__":
    main()
