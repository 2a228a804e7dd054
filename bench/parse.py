"""Time parsing and chunking, file by file, over a folder (default: the shared test documents) and print a table.

    .venv/bin/python bench/parse.py [FOLDER] [--skip NAME ...] [--max-tokens 200] [--overlap 32]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


_DEFAULT_FOLDER = Path("/work/shared/data/docs")
_NOT_DOCUMENTS = {"MANIFEST.tsv", "README.md"}


def time_file(path: Path, options) -> tuple[str, float, float, int, int]:
    """(kind or error, parse seconds, chunk seconds, elements, chunks) for one file."""
    from ingest.errors import DocumentError
    from ingest.parsing.chunking import chunk_document
    from ingest.parsing.detection import detect_file_type
    from ingest.parsing.partitioning import parse_file

    started = time.perf_counter()
    try:
        kind = detect_file_type(str(path)).kind
        document = parse_file(str(path))
    except DocumentError as exc:
        return f"{type(exc).__name__}", time.perf_counter() - started, 0.0, 0, 0
    parsed = time.perf_counter()
    chunks = chunk_document(document, options)
    return kind, parsed - started, time.perf_counter() - parsed, len(document.elements), len(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=_DEFAULT_FOLDER)
    parser.add_argument("--skip", nargs="*", default=[], help="file names to leave out")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=32)
    args = parser.parse_args()

    from ingest.parsing.chunking import ChunkingOptions, load_tokenizer
    from ingest.parsing.partitioning import parse_file
    from ingest.pipeline.parse_pool import SINGLE_THREADED
    from ingest.pipeline.worker import warm_up
    from ingest.settings import packaged_embedding_model

    os.environ.update(SINGLE_THREADED)  # one thread for Tesseract too: as the parse workers run
    warm_up()  # offline, quiet, light spaCy pipeline and the body-text shortcuts: as the parse workers do
    options = ChunkingOptions(packaged_embedding_model(), args.max_tokens, args.overlap)
    load_tokenizer(options.tokenizer_path)
    # Warm-up outside the figures: the first parse loads spaCy and unstructured (~3-5 s), once per worker process.
    parse_file(str(_DEFAULT_FOLDER / "udhr-english-spanish.html"))

    files = sorted(p for p in args.folder.iterdir() if p.is_file() and p.name not in _NOT_DOCUMENTS | set(args.skip))
    print(f"{'file':44} {'kind':20} {'KB':>7} {'parse s':>8} {'chunk s':>8} {'elems':>6} {'chunks':>6}")
    total_parse = total_chunk = 0.0
    total_bytes = 0
    for path in files:
        kind, parse_s, chunk_s, elements, chunks = time_file(path, options)
        size = path.stat().st_size
        total_parse, total_chunk, total_bytes = total_parse + parse_s, total_chunk + chunk_s, total_bytes + size
        print(f"{path.name[:44]:44} {kind:20} {size / 1024:7.0f} {parse_s:8.2f} {chunk_s:8.2f} {elements:6} {chunks:6}")
    print(
        f"{len(files)} files, {total_bytes / 1048576:.1f} MB: parse {total_parse:.1f} s, chunk {total_chunk:.1f} s, "
        f"{total_bytes / 1048576 / max(total_parse + total_chunk, 1e-9):.2f} MB/s"
    )


if __name__ == "__main__":
    main()
