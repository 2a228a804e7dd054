"""The parts ingestion and retrieval share, built once from settings: the embedding model, the sparse encoder, the
store, the database, and the registry of stored documents.

Whoever needs them is handed them: the Ingestor writes with them, the assistant's retriever searches with them.
Opening them starts no parse worker and changes nothing in the store, so a read-only command (ask, search) opens
only these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.database import INGEST_TABLES, Database, import_legacy_files, open_database, upgrade_tree
from ingest.encoders.dense import Embedder
from ingest.encoders.sparse import SparseEncoder
from ingest.models import DocumentRecord
from ingest.settings import IngestSettings
from ingest.store import Registry, Store, open_store


@dataclass
class Components:
    """One embedding model, one sparse encoder, one store, one database and its registry, for one data folder (or
    one set of servers). `assistant` keeps its own tables in the same database."""

    settings: IngestSettings
    embedder: Embedder
    sparse: SparseEncoder
    store: Store
    registry: Registry
    database: Database

    def documents(self) -> list[DocumentRecord]:
        """Every stored document, complete ones only (the registry records a document once all its chunks are in)."""
        return self.registry.all()

    def document(self, document_id: str) -> DocumentRecord | None:
        return self.registry.get(document_id)

    def close(self) -> None:
        try:
            self.database.close()
        finally:
            self.store.close()


def open_components(settings: IngestSettings) -> Components:
    """Load the embedding model, open the store, the database and the registry the settings name. Brings ingest's
    tables to the newest revision, and imports the registry and ingestion log an older Enclave left in the data folder
    (see `ingest.database.legacy`): both are safe beside another process doing the same, so read-only opens do too.

    Raises StoreBusy, StoreUnavailable, SettingsError or DiskFull as `open_store` does, DatabaseUnavailable as
    `open_database` and `upgrade_tree` do, IngestError when an older Enclave's file cannot be read."""
    embedder = Embedder(
        settings.embedding_model_path, batch_size=settings.embedding_batch_size,
        backend=settings.embedding_backend, cache_dir=settings.embedding_cache_dir,
    )  # fmt: skip
    store = open_store(settings, embedder.dimension, fusion=settings.search_fusion)
    try:
        database = open_database(settings)
    except BaseException:
        store.close()
        raise
    try:
        upgrade_tree(database, INGEST_TABLES)
        import_legacy_files(database, settings.data_dir)
    except BaseException:
        database.close()
        store.close()
        raise
    return Components(settings, embedder, SparseEncoder(), store, Registry(database), database)


__all__ = ["Components", "open_components"]
