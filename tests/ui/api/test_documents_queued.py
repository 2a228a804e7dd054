"""/v1/documents where ingestion workers run (ENCLAVE_INGEST_QUEUE=postgres): an upload waits for the worker's
results as before, or with wait=false is answered at once (202) with its batch, which /v1/batches/{id} follows to
its end. Real API on loopback, real PostgreSQL, real files; the worker is `Enclave.work_queue` on a thread of the
same Enclave (one process alone can hold the embedded store: tests/ui/commands/test_worker.py runs it as a process).
"""

from __future__ import annotations

import time

import httpx
import pytest

from api_servers import bearer, served
from shared_data import BAD, DOCS

DEADLINE = 300  # seconds a batch may take on a loaded machine before the test fails saying so


@pytest.fixture
def http(queued_enclave):
    enclave = queued_enclave
    from ui.api import create_app
    from ui.settings import load_ui_settings

    enclave.accounts.add_user("root", "admin", by="test")
    enclave.accounts.add_user("alice", "member", by="test")
    with served(create_app(enclave, load_ui_settings(_env_file=None))) as url, \
            httpx.Client(base_url=url, timeout=600) as client:
        client.keys = {name: enclave.accounts.keys.create(name, by="test").secret for name in ("root", "alice")}
        yield client


def upload(http, *paths, wait=True):
    files = [("files", (path.name, path.read_bytes())) for path in paths]
    return http.post("/v1/documents", params={"wait": str(wait).lower()}, files=files,
                     headers=bearer(http.keys["root"]))


def test_an_upload_not_waited_for_is_queued_then_followed_to_its_results(http, queued_enclave, queue_worker):
    response = upload(http, DOCS / "memo-supply-delivery.pdf", BAD / "encrypted-user-password.pdf", wait=False)

    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["object"] == "batch" and batch["total"] == 2 and batch["status"] in ("queued", "running", "finished")
    deadline = time.monotonic() + DEADLINE
    while batch["status"] != "finished":
        assert time.monotonic() < deadline, f"the batch did not finish: {batch}"
        time.sleep(0.2)
        followed = http.get(f"/v1/batches/{batch['id']}", headers=bearer(http.keys["root"]))
        assert followed.status_code == 200, followed.text
        batch = followed.json()
    by_file = {f["file"]: f for f in batch["data"]}
    assert by_file["memo-supply-delivery.pdf"]["status"] == "added" and by_file["memo-supply-delivery.pdf"]["chunks"]
    assert by_file["encrypted-user-password.pdf"]["status"] == "failed"
    assert "encrypted" in by_file["encrypted-user-password.pdf"]["reason"]
    assert batch["done"] == 2 and [d.name for d in queued_enclave.documents()] == ["memo-supply-delivery.pdf"]


def test_an_upload_waited_for_gets_the_workers_results(http, queue_worker):
    response = upload(http, DOCS / "family-day.eml")

    assert response.status_code == 200, response.text
    [result] = response.json()["data"]
    assert (result["file"], result["status"]) == ("family-day.eml", "added") and result["document_id"]


def test_batches_are_for_admins_and_an_unknown_one_is_404(http):
    assert http.get("/v1/batches/nope", headers=bearer(http.keys["root"])).status_code == 404
    assert http.get("/v1/batches/nope", headers=bearer(http.keys["alice"])).status_code == 403
