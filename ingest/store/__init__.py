"""Where ingestion keeps what it stored.

The vector store (`Store`): embedded Qdrant Edge by default (`_edge`), a Qdrant server when ENCLAVE_QDRANT_URL is
set (`_server`), both behind one protocol (`_base`) and one point layout (`_points`).
The registry (`Registry`, in the database): which documents are stored, at which version; the truth about what is
complete.
Snapshots (`snapshots`): a copy of the store for a backup (the embedded shard's folder, or a server's snapshot), and
that copy put back.
"""

from __future__ import annotations

from ingest.disk_space import ensure_free_space
from ingest.settings import IngestSettings
from ingest.store._base import DENSE, SPARSE, SearchMethod, Store
from ingest.store._edge import EdgeStore, holding_store_folder
from ingest.store._server import QdrantServerStore
from ingest.store.registry import Registry
from ingest.store.snapshots import (clear_store_folder, recover_collection, recover_server, server_http,
                                     snapshot_collection, snapshot_server, store_files)

__all__ = [
    "DENSE",
    "SPARSE",
    "EdgeStore",
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
        return EdgeStore(path, dimension, fusion=fusion)
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return QdrantServerStore(settings.qdrant_url, settings.collection, dimension, api_key=api_key, fusion=fusion)
