"""The Enclave with the ingestion queue on (ENCLAVE_INGEST_QUEUE=postgres), as the app and the API use it: `ingest`
queues the batch and follows it, and a worker (`work_queue`, here on a thread of the same Enclave, because one
process alone can hold the embedded store) does it and records it in the audit trail as the asker's. Real PostgreSQL,
real store, real embedding model, real files. The worker as its own process: tests/ui/commands/test_worker.py."""

from __future__ import annotations

import shutil
import threading

import pytest

from assistant import NotAllowed, User
from shared_data import DOCS

ADMIN_WITH_KEY = User("root", groups=("it",), is_admin=True, api_key="key-42")
ALICE = User("alice", groups=("everyone",))


@pytest.fixture
def enclave(queued_enclave):
    """The queued Enclave of tests/queues.py (its worker, where a test asks for `queue_worker`, on a thread)."""
    return queued_enclave


def test_an_upload_is_queued_done_by_the_worker_and_audited_as_the_askers(enclave, queue_worker, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    for name in ("memo-supply-delivery.pdf", "family-day.eml"):
        shutil.copy(DOCS / name, folder)
    events = []

    results = enclave.ingest([folder], ADMIN_WITH_KEY, groups=["logistics"], progress=events.append)

    assert sorted((r.path.rsplit("/", 1)[-1], r.status) for r in results) == [
        ("family-day.eml", "added"), ("memo-supply-delivery.pdf", "added")]
    assert all(r.chunks > 0 and r.document_id for r in results)
    stored = {d.name: d.groups for d in enclave.documents()}
    assert stored == {"memo-supply-delivery.pdf": ("logistics",), "family-day.eml": ("logistics",)}
    assert events[0].kind == "start" and events[0].total == 2
    assert {e.stage for e in events if e.kind == "stage"} >= {"queued", "parsing"}
    assert [e.result.status for e in events if e.kind == "file"] == ["added", "added"]
    records = enclave.audit.records(action="document.ingest")
    assert len(records) == 2 and {(r.actor, r.details["key"]) for r in records} == {("root", "key-42")}
    latest = enclave.latest_batch(running=False)
    assert latest.finished_at is not None and [f.status for f in latest.files] == ["added", "added"]
    assert enclave.queue.depth() == 0


def test_a_member_cannot_queue_anything(enclave, tmp_path):
    (tmp_path / "note.txt").write_text("A note on the quarterly budget.")

    with pytest.raises(NotAllowed):
        enclave.ingest([tmp_path / "note.txt"], ALICE)

    assert enclave.queue.depth() == 0 and enclave.latest_batch(running=False) is None


def test_a_queued_batch_not_yet_taken_shows_as_queued_not_interrupted(enclave, tmp_path):
    (tmp_path / "note.txt").write_text("A note on the quarterly budget.")

    batch_id = enclave.queue.submit([tmp_path / "note.txt"], user="root")  # no worker runs

    latest = enclave.latest_batch(running=False)
    assert latest.batch_id == batch_id and [f.status for f in latest.files] == ["queued"]


def test_a_worker_asked_to_stop_ends_its_batch_and_is_not_taken_for_dead_meanwhile(enclave, tmp_path, caplog):
    """Stopping (SIGTERM, a rollout) lets the running batch end; the worker's heart beats on until it is done, so
    neither it nor another worker sends that batch back to the queue while it runs (ENCLAVE_WORKER_STALLED_SECONDS
    is 5 s here; the batch runs on well past that)."""
    folder = tmp_path / "upload"
    folder.mkdir()
    for name in ("usa-patriot-act-public-law-107-56.htm", "doj-chapter13-trustee-handbook.docx"):
        shutil.copy(DOCS / name, folder)
    batch_id = enclave.queue.submit([folder], user="root")
    stop = threading.Event()
    thread = threading.Thread(target=enclave.work_queue, kwargs={"stop": stop}, name="worker")
    thread.start()
    try:
        while not any(f.status == "embedding" for f in enclave.queue._log.get(batch_id).files):
            assert thread.is_alive(), "the worker stopped before it took the batch"
            threading.Event().wait(0.05)
    finally:
        stop.set()  # asked to stop mid-batch
        thread.join(timeout=600)

    batch = enclave.queue._log.get(batch_id, running=False)
    assert batch.finished_at is not None and [f.status for f in batch.files] == ["added", "added"]
    assert enclave.queue.progress(batch_id) == "finished" and enclave.queue.depth() == 0  # not sent back
    assert "worker died" not in caplog.text
