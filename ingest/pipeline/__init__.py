"""The pipeline: files and records through parsing, the encoders and the store, idempotent and crash-safe.

ingestor      the Ingestor: plans each batch, runs it, repairs after an interruption; open_ingestor builds one
parse_pool    the parse worker processes, forked from a server that loaded the parsers once
parse_server  what that fork server imports (the one module that does work when imported)
worker        the job a parse worker runs for one file: parse, chunk
writer        embeds parsed documents' chunks in batches, writes them to the store, commits them to the registry
jobs          the ingestion log: each batch's per-file status, kept in the database
sources       where documents come from: files and folders, texts as records, and their stable ids

The Ingestor opens the store and loads the encoders, so it loads on first use (PEP 562), as in `ingest`.
"""

from typing import TYPE_CHECKING

from ingest.pipeline.jobs import BatchStatus, FileStatus, JobLog
from ingest.pipeline.parse_pool import ParsePool
from ingest.pipeline.sources import RECORD_SOURCE, TextRecord, collect_files, document_id_for
from ingest.pipeline.worker import ParseOutcome, parse_and_chunk, warm_up

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from ingest.pipeline.ingestor import Ingestor, open_ingestor

_LAZY = {
    "Ingestor": "ingest.pipeline.ingestor",
    "open_ingestor": "ingest.pipeline.ingestor",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest.pipeline' has no attribute {name!r}")


__all__ = [
    "RECORD_SOURCE",
    "BatchStatus",
    "FileStatus",
    "Ingestor",
    "JobLog",
    "ParseOutcome",
    "ParsePool",
    "TextRecord",
    "collect_files",
    "document_id_for",
    "open_ingestor",
    "parse_and_chunk",
    "warm_up",
]
