"""Where ingestion keeps what it stored.

The vector store (`Store`): embedded Qdrant Edge by default (`_edge`), a Qdrant server when ENCLAVE_QDRANT_URL is
set (`_server`), both behind one protocol (`_base`) and one point layout (`_points`).
The registry (`Registry`, in the database): which documents are stored, at which version; the truth about what is
complete.
How the embedded store builds its index (`_index`, ENCLAVE_STORE_*): fixed when the store is created.
Snapshots (`snapshots`): a copy of the store for a backup (the embedded shard's folder, or a server's snapshot), and
that copy put back.
"""

from __future__ import annotations

from ingest.disk_space import ensure_free_space
from ingest.settings import IngestSettings
from ingest.store._base import DENSE, SPARSE, SearchMethod, Store
from ingest.store._edge import EdgeStore, holding_store_folder
from ingest.store._index import EDGE_DEFAULTS, IndexSettings
from ingest.store._server import QdrantServerStore
from ingest.store.registry import Registry
from ingest.store.snapshots import (clear_store_folder, recover_collection, recover_server, server_http,
                                     snapshot_collection, snapshot_server, store_files)

__all__ = [
    "DENSE",
    "EDGE_DEFAULTS",
    "SPARSE",
    "EdgeStore",
    "IndexSettings",
    "QdrantServerStore",
    "Registry",
    "SearchMethod",
    "Store",
    "clear_store_folder",
    "holding_store_folder",
    "open_store",
    "recover_collection",
    "recover_server",
    "server_http",
    "snapshot_collection",
    "snapshot_server",
    "store_files",
]


def open_store(settings: IngestSettings, dimension: int, fusion: str = "rrf") -> Store:
    """Open (and create if missing) the collection for vectors of this dimension.

    Raises StoreBusy when the embedded store is held by another process, StoreUnavailable when the server
    cannot be reached, SettingsError when the existing collection was built for other vectors, DiskFull when the
    data folder's disk is too full to open the embedded store safely.
    """
    if not settings.qdrant_url:
        # One shard directory per collection, so ENCLAVE_COLLECTION works the same in both modes.
        path = settings.qdrant_path / settings.collection
        # Opening replays the store's log after a crash, through memory-mapped files: on a full disk that crashes.
        ensure_free_space(settings.data_dir, mapped=path)
        return EdgeStore(path, dimension, fusion=fusion, index=index_settings(settings))
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return QdrantServerStore(settings.qdrant_url, settings.collection, dimension, api_key=api_key, fusion=fusion)


def index_settings(settings: IngestSettings) -> IndexSettings:
    """The ENCLAVE_STORE_* settings for the embedded store (None where unset)."""
    return IndexSettings(
        hnsw_m=settings.store_hnsw_m,
        hnsw_ef_construct=settings.store_hnsw_ef_construct,
        quantization=settings.store_quantization,
        on_disk_vectors=settings.store_on_disk_vectors,
        on_disk_payload=settings.store_on_disk_payload,
        indexing_threshold_kb=settings.store_indexing_threshold_kb,
    )
