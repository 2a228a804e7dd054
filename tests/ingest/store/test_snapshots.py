"""A copy of the store for a backup. Embedded: the shard's files, without the lock its holder keeps. Server: there is
no Qdrant server on the test machines, so the snapshot calls are checked against the documented API (qdrant-client's
`create_snapshot` / `delete_snapshot`, the REST download and upload routes) with a stand-in client and httpx's
MockTransport, not against a live server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from qdrant_client.http.models import SnapshotDescription

from ingest import StoreBusy, StoreUnavailable
from ingest.store import clear_store_folder, holding_store_folder, recover_collection, snapshot_collection, store_files

SNAPSHOT = b"a snapshot's bytes" * 1000


class SnapshottingClient:
    """Stands in for QdrantClient: the two snapshot calls, recorded."""

    def __init__(self, checksum: str | None) -> None:
        self.checksum = checksum
        self.calls: list[tuple[str, dict]] = []

    def create_snapshot(self, **options) -> SnapshotDescription:
        self.calls.append(("create_snapshot", options))
        return SnapshotDescription(name="enclave-1.snapshot", creation_time=None, size=len(SNAPSHOT),
                                   checksum=self.checksum)

    def delete_snapshot(self, **options) -> bool:
        self.calls.append(("delete_snapshot", options))
        return True


def serving(handler) -> httpx.Client:
    return httpx.Client(base_url="http://qdrant:6333", transport=httpx.MockTransport(handler))


def test_a_server_snapshot_is_downloaded_checked_and_deleted_on_the_server(tmp_path):
    client = SnapshottingClient(hashlib.sha256(SNAPSHOT).hexdigest())
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append((request.method, request.url.path))
        return httpx.Response(200, content=SNAPSHOT)

    progress: list[int] = []
    with serving(handler) as http:
        snapshot_collection(client, http, "enclave", tmp_path / "store.snapshot", progress.append)

    assert (tmp_path / "store.snapshot").read_bytes() == SNAPSHOT
    assert progress and progress[-1] == len(SNAPSHOT)  # the bytes done so far, as they arrive
    assert asked == [("GET", "/collections/enclave/snapshots/enclave-1.snapshot")]
    assert [name for name, _ in client.calls] == ["create_snapshot", "delete_snapshot"]
    assert client.calls[1][1]["snapshot_name"] == "enclave-1.snapshot"


def test_a_snapshot_that_arrives_damaged_is_an_error_and_still_deleted_on_the_server(tmp_path):
    client = SnapshottingClient(hashlib.sha256(b"something else").hexdigest())

    with serving(lambda request: httpx.Response(200, content=SNAPSHOT)) as http:
        with pytest.raises(StoreUnavailable, match="damaged"):
            snapshot_collection(client, http, "enclave", tmp_path / "store.snapshot")

    assert [name for name, _ in client.calls] == ["create_snapshot", "delete_snapshot"]


def test_recovering_uploads_the_snapshot_with_priority_to_the_snapshot(tmp_path):
    (tmp_path / "store.snapshot").write_bytes(SNAPSHOT)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": True, "status": "ok"})

    with serving(handler) as http:
        recover_collection(http, "enclave", tmp_path / "store.snapshot")

    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/collections/enclave/snapshots/upload")
    assert request.url.params["priority"] == "snapshot"
    assert SNAPSHOT in request.read() and b'name="snapshot"' in request.read()


def test_a_server_that_refuses_the_upload_is_one_clear_error(tmp_path):
    (tmp_path / "store.snapshot").write_bytes(SNAPSHOT)

    with serving(lambda request: httpx.Response(507, text="no room")) as http:
        with pytest.raises(StoreUnavailable, match="did not take the snapshot"):
            recover_collection(http, "enclave", tmp_path / "store.snapshot")


def test_the_embedded_store_files_leave_out_the_lock_and_clearing_keeps_it(tmp_path):
    store = tmp_path / "enclave"
    (store / "segments" / "one").mkdir(parents=True)
    (store / "segments" / "one" / "segment.json").write_text("{}")
    (store / "edge_config.json").write_text("{}")
    with holding_store_folder(store):
        assert [p.relative_to(store) for p in store_files(store)] == [
            Path("edge_config.json"), Path("segments/one/segment.json")
        ]
        clear_store_folder(store)
        assert sorted(p.name for p in store.iterdir()) == ["enclave.lock"]


def test_a_held_store_folder_cannot_be_held_twice(tmp_path):
    with holding_store_folder(tmp_path / "enclave"):
        with pytest.raises(StoreBusy):
            with holding_store_folder(tmp_path / "enclave"):
                pass
