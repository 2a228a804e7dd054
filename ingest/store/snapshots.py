"""A copy of the vector store for a backup, and that copy put back.

Embedded (Qdrant Edge): the engine can unpack a server's snapshot but not make one, so the copy is the shard's folder,
taken while the backup holds the folder's lock (`holding_store_folder`): no opener can write, and every opener
flushed and closed the shard before letting go. The files to copy are `store_files`.

Server: Qdrant's snapshot API. qdrant-client asks the server for a snapshot of the collection (`create_snapshot`);
the snapshot is downloaded over the REST API (`GET /collections/{name}/snapshots/{snapshot}`; the client has no call
for it), checked against the checksum the server gives, and deleted on the server. Restoring uploads it
(`POST /collections/{name}/snapshots/upload?priority=snapshot`), which replaces the collection with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import httpx

from ingest.errors import StoreUnavailable
from ingest.settings import IngestSettings
from ingest.store._edge import LOCK_FILE

Advance = Callable[[int], None]  # told how many bytes are done so far
_BLOCK = 1 << 20


def store_files(folder: Path) -> list[Path]:
    """The embedded store's files under `folder` (its segments, WAL, config), without the lock file, in a stable
    order: what a backup copies and a restore puts back."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder) != Path(LOCK_FILE))


def clear_store_folder(folder: Path) -> None:
    """Delete the embedded store's files under `folder` (held by the caller), keeping the lock file it holds."""
    import shutil

    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def snapshot_collection(client: Any, http: httpx.Client, collection: str, dest: Path,
                        advance: Advance | None = None) -> None:
    """Download a new snapshot of `collection` to `dest`, then delete it on the server.
    client: a qdrant_client.QdrantClient; http: an httpx.Client with the server's base URL (and its api-key header).
    Raises StoreUnavailable."""
    try:
        snapshot = client.create_snapshot(collection_name=collection, wait=True)
    except Exception as exc:  # qdrant-client raises its own errors and httpx's: wrap them once, here
        raise StoreUnavailable(f"the Qdrant server could not snapshot the collection {collection!r} ({exc}): check "
                               "that it runs and that its snapshots folder has room") from exc
    if snapshot is None:
        raise StoreUnavailable(f"the Qdrant server made no snapshot of the collection {collection!r}")
    try:
        digest, done = hashlib.sha256(), 0
        with http.stream("GET", f"/collections/{collection}/snapshots/{snapshot.name}") as response:
            response.raise_for_status()
            with dest.open("wb") as out:
                for block in response.iter_bytes(_BLOCK):
                    digest.update(block)
                    out.write(block)
                    done += len(block)
                    if advance is not None:
                        advance(done)
        if snapshot.checksum and digest.hexdigest() != snapshot.checksum:
            raise StoreUnavailable(f"the snapshot of the collection {collection!r} arrived damaged (its SHA-256 is "
                                   "not the server's): run the backup again")
    except httpx.HTTPError as exc:
        raise StoreUnavailable(f"could not download the snapshot of the collection {collection!r} ({exc})") from exc
    finally:
        try:
            client.delete_snapshot(collection_name=collection, snapshot_name=snapshot.name, wait=True)
        except Exception:  # noqa: BLE001 - a snapshot left on the server takes room but harms nothing: say so
            import logging

            logging.getLogger(__name__).warning("could not delete the snapshot %s of %s on the Qdrant server",
                                                snapshot.name, collection)


def recover_collection(http: httpx.Client, collection: str, source: Path) -> None:
    """Replace `collection` on the server with the snapshot in `source` (uploaded; the server need not see our
    disk). http: an httpx.Client with the server's base URL (and its api-key header). Raises StoreUnavailable."""
    try:
        with source.open("rb") as snapshot:
            response = http.post(f"/collections/{collection}/snapshots/upload",
                                 params={"priority": "snapshot", "wait": "true"},
                                 files={"snapshot": (source.name, snapshot, "application/octet-stream")})
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise StoreUnavailable(f"the Qdrant server did not take the snapshot of the collection {collection!r} "
                               f"({exc}): check that it runs and that its disk has room") from exc


def snapshot_server(settings: IngestSettings, dest: Path, advance: Advance | None = None) -> None:
    """Download a new snapshot of the settings' collection on their Qdrant server to `dest` (`snapshot_collection`)."""
    from qdrant_client import QdrantClient

    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    client = QdrantClient(url=settings.qdrant_url, api_key=api_key, timeout=600, check_compatibility=False)
    try:
        with server_http(settings.qdrant_url, api_key) as http:
            snapshot_collection(client, http, settings.collection, dest, advance)
    finally:
        client.close()


def recover_server(settings: IngestSettings, source: Path) -> None:
    """Replace the settings' collection on their Qdrant server with the snapshot in `source` (`recover_collection`)."""
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    with server_http(settings.qdrant_url, api_key) as http:
        recover_collection(http, settings.collection, source)


def server_http(url: str, api_key: str | None, timeout: float = 600) -> httpx.Client:
    """An httpx client for the server's REST API, with its API key (the header Qdrant reads)."""
    return httpx.Client(base_url=url.rstrip("/"), headers={"api-key": api_key} if api_key else {}, timeout=timeout)
