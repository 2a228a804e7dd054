"""Ingestion: parse → chunk → embed → store. Knows files and Qdrant, nothing about chat."""

from ingest.disk_space import ensure_free_space
from ingest.errors import (
    CorruptDocument,
    DiskFull,
    DocumentError,
    DocumentNotFound,
    EmptyDocument,
    EncryptedDocument,
    FileTooLarge,
    IngestError,
    MissingSystemTool,
    SettingsError,
    StoreBusy,
    StoreUnavailable,
    UnsupportedFileType,
)
from ingest.models import Chunk, DocumentRecord, FileResult, SearchFilter, SearchHit, SparseVector
from ingest.offline import enforce_offline
from ingest.settings import IngestSettings, describe_validation_error, load_settings

# Heavier parts load on first use, so `from ingest import IngestError` stays cheap (PEP 562).
_LAZY = {
    "Embedder": "ingest.encoders.dense",
    "Ingestor": "ingest.pipeline.ingestor",
    "Progress": "ingest.models",
    "open_ingestor": "ingest.pipeline.ingestor",
    "summarize": "ingest.pipeline.ingestor",
    "RECORD_SOURCE": "ingest.pipeline.sources",
    "TextRecord": "ingest.pipeline.sources",
    "hash_file": "ingest.hashing",
    "SparseEncoder": "ingest.encoders.sparse",
    "Store": "ingest.store",
    "open_store": "ingest.store",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")


__all__ = [
    "Embedder",
    "Ingestor",
    "Progress",
    "RECORD_SOURCE",
    "SparseEncoder",
    "Store",
    "TextRecord",
    "hash_file",
    "open_ingestor",
    "open_store",
    "summarize",
    "Chunk",
    "CorruptDocument",
    "DiskFull",
    "DocumentError",
    "DocumentNotFound",
    "DocumentRecord",
    "EmptyDocument",
    "EncryptedDocument",
    "FileResult",
    "FileTooLarge",
    "IngestError",
    "IngestSettings",
    "MissingSystemTool",
    "SearchFilter",
    "SearchHit",
    "SettingsError",
    "SparseVector",
    "StoreBusy",
    "StoreUnavailable",
    "UnsupportedFileType",
    "describe_validation_error",
    "enforce_offline",
    "ensure_free_space",
    "load_settings",
]
