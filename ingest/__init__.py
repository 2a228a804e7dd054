"""Ingestion: parse → chunk → embed → store. Knows files and Qdrant, nothing about chat. Other packages use only the
names listed in `__all__` here.

parsing/      what a file is, its elements, title, language and chunks (unstructured, offline, patched in one place)
encoders/     dense embeddings (sentence-transformers, ONNX / OpenVINO) and BM25-style sparse vectors
database/     the relational database (SQLite or PostgreSQL) and its Alembic migration trees
store/        Qdrant (embedded Edge or a server) and the registry of which documents are stored, complete
components    the parts ingestion and retrieval share, built once from settings
backup        back up the database, the store and the original files into a folder with checksums; restore them
pipeline/     the Ingestor: parse workers, batched embedding and writing, repair, the ingestion log
settings, errors, models, offline, disk_space, hashing, metrics: the basics every room shares (metrics: what the
              pipeline counts for Prometheus)
"""

from typing import TYPE_CHECKING

from ingest.disk_space import ensure_free_space
from ingest.errors import (
    BackupDamaged,
    BackupRefused,
    CorruptDocument,
    DatabaseUnavailable,
    DiskFull,
    DocumentBusy,
    DocumentError,
    DocumentNotFound,
    EmptyDocument,
    EncryptedDocument,
    FileTooLarge,
    IngestError,
    MissingSystemTool,
    SettingsError,
    SharingRefused,
    StoreBusy,
    StoreUnavailable,
    UnsupportedFileType,
)
from ingest.models import (
    Chunk,
    DocumentRecord,
    FileResult,
    Progress,
    ProgressCallback,
    SearchFilter,
    SearchHit,
    SparseVector,
    summarize,
)
from ingest.offline import enforce_offline
from ingest.settings import IngestSettings, describe_validation_error, load_settings

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from ingest.backup import BackupManifest, BackupProgress, back_up, restore_backup, verify_backup
    from ingest.components import Components, open_components
    from ingest.database import (
        INGEST_TABLES,
        Database,
        MigrationTree,
        current_revision,
        head_revision,
        open_database,
        run_env,
        upgrade_tree,
    )
    from ingest.encoders.dense import Embedder
    from ingest.encoders.sparse import SparseEncoder
    from ingest.hashing import hash_file
    from ingest.parsing.file_names import MAX_NAME_BYTES, clean_file_name
    from ingest.pipeline.ingestor import Ingestor, open_ingestor
    from ingest.pipeline.jobs import BatchStatus
    from ingest.pipeline.parse_pool import ParsePool
    from ingest.pipeline.sources import RECORD_SOURCE, TextRecord
    from ingest.store import open_store, Store
    from ingest.queue import BatchJob, IngestQueue, open_queue, run_worker

# Heavier parts load on first use, so `from ingest import IngestError` stays cheap (PEP 562).
_LAZY = {
    "BackupManifest": "ingest.backup",
    "BackupProgress": "ingest.backup",
    "back_up": "ingest.backup",
    "restore_backup": "ingest.backup",
    "verify_backup": "ingest.backup",
    "MAX_NAME_BYTES": "ingest.parsing.file_names",
    "clean_file_name": "ingest.parsing.file_names",
    "BatchStatus": "ingest.pipeline.jobs",
    "Components": "ingest.components",
    "Database": "ingest.database",
    "INGEST_TABLES": "ingest.database",
    "MigrationTree": "ingest.database",
    "current_revision": "ingest.database",
    "head_revision": "ingest.database",
    "open_database": "ingest.database",
    "run_env": "ingest.database",
    "upgrade_tree": "ingest.database",
    "Embedder": "ingest.encoders.dense",
    "Ingestor": "ingest.pipeline.ingestor",
    "open_components": "ingest.components",
    "open_ingestor": "ingest.pipeline.ingestor",
    "ParsePool": "ingest.pipeline.parse_pool",
    "RECORD_SOURCE": "ingest.pipeline.sources",
    "TextRecord": "ingest.pipeline.sources",
    "hash_file": "ingest.hashing",
    "SparseEncoder": "ingest.encoders.sparse",
    "Store": "ingest.store",
    "open_store": "ingest.store",
    "BatchJob": "ingest.queue",
    "IngestQueue": "ingest.queue",
    "open_queue": "ingest.queue",
    "run_worker": "ingest.queue",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")


__all__ = [
    "BatchJob",
    "IngestQueue",
    "open_queue",
    "run_worker",
    "BackupDamaged",
    "BackupManifest",
    "BackupProgress",
    "BackupRefused",
    "back_up",
    "restore_backup",
    "verify_backup",
    "MAX_NAME_BYTES",
    "BatchStatus",
    "Components",
    "Database",
    "DatabaseUnavailable",
    "Embedder",
    "INGEST_TABLES",
    "MigrationTree",
    "Ingestor",
    "ParsePool",
    "Progress",
    "ProgressCallback",
    "RECORD_SOURCE",
    "SparseEncoder",
    "Store",
    "TextRecord",
    "clean_file_name",
    "current_revision",
    "hash_file",
    "head_revision",
    "open_components",
    "open_database",
    "run_env",
    "upgrade_tree",
    "open_ingestor",
    "open_store",
    "summarize",
    "Chunk",
    "CorruptDocument",
    "DiskFull",
    "DocumentBusy",
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
    "SharingRefused",
    "SparseVector",
    "StoreBusy",
    "StoreUnavailable",
    "UnsupportedFileType",
    "describe_validation_error",
    "enforce_offline",
    "ensure_free_space",
    "load_settings",
]
