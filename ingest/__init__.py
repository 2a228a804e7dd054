"""Ingestion: parse → chunk → embed → store. Knows files and Qdrant, nothing about chat."""

from ingest.errors import (
    CorruptDocument,
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

__all__ = [
    "Chunk",
    "CorruptDocument",
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
    "load_settings",
]
