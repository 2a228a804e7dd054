"""Ingestion's promises: idempotent, versioned, synced, crash-safe — with real files, model and store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.models import SearchFilter
from ingest.settings import load_settings
from shared_data import DOCS


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DOCS / "memo-supply-delivery.pdf", folder)
    (folder / "policy.txt").write_text("Travel policy. Employees book economy class for flights under six hours.\n")
    return folder


@pytest.fixture
def ingestor(tmp_path, shared_models):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None))
    yield ingestor
    ingestor.close()


def chunks_of(ingestor, document_id: str) -> int:
    return ingestor.store.count(SearchFilter(document_ids=(document_id,)))


def test_unchanged_files_are_not_parsed_or_embedded_again(ingestor, folder):
    first = ingestor.ingest([folder])
    assert {r.status for r in first} == {"added"}
    stored = ingestor.store.count()

    events = []
    second = ingestor.ingest([folder], progress=events.append)
    assert [r.status for r in second] == ["unchanged", "unchanged"]
    assert not [e for e in events if e.kind in ("chunks", "stage")]  # no parsing, no embedding
    assert ingestor.store.count() == stored


def test_a_changed_file_replaces_its_chunks_and_gets_a_new_version(ingestor, folder):
    policy = folder / "policy.txt"
    (added,) = [r for r in ingestor.ingest([folder]) if r.path.endswith("policy.txt")]

    policy.write_text("Travel policy. Employees may book business class for flights over eight hours.\n")
    (updated,) = [r for r in ingestor.ingest([folder]) if r.path.endswith("policy.txt")]

    assert updated.status == "updated" and updated.document_id == added.document_id
    assert ingestor.registry.get(added.document_id).version == 2
    assert chunks_of(ingestor, added.document_id) == updated.chunks
    texts = [p.chunk.text for p in _search(ingestor, "economy class flights")]
    assert not any("economy" in t for t in texts)  # no old chunk is left to be found
    assert any("business class" in t for t in texts)


def test_sync_removes_documents_whose_files_are_gone(ingestor, folder):
    ingestor.ingest([folder])
    (folder / "policy.txt").unlink()
    results = ingestor.ingest([folder], sync=True)
    assert [r.status for r in results] == ["unchanged", "removed"]
    assert [d.name for d in ingestor.documents()] == ["memo-supply-delivery.pdf"]
    assert not any("Travel policy" in p.chunk.text for p in _search(ingestor, "travel policy economy"))


def test_remove_by_file_name_deletes_the_document_and_its_chunks(ingestor, folder):
    ingestor.ingest([folder])
    (record,) = [d for d in ingestor.documents() if d.name == "policy.txt"]
    assert [r.status for r in ingestor.remove(["policy.txt"])] == ["removed"]
    assert chunks_of(ingestor, record.document_id) == 0
    assert [r.status for r in ingestor.remove(["policy.txt"])] == ["failed"]


def test_kill_9_during_ingest_then_rerun_leaves_no_duplicate_or_partial_document(tmp_path, shared_models):
    """A real `enclave ingest` killed with SIGKILL while it writes, then run again (here: opening repairs, then the
    rerun stores what is missing)."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):  # enough work that the kill lands mid-run
        (folder / f"note-{i:02d}.txt").write_text(f"Note {i}. " + "The warehouse shipped pallets of goods. " * 60)
    data = tmp_path / "data"
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_EMBEDDING_BATCH_SIZE="8")
    enclave = str(Path(sys.executable).with_name("enclave"))

    log = tmp_path / "killed.log"
    with log.open("w") as out:
        # In a session of its own, so that what it leaves behind can be found: killed, it orphans its parse server
        # and workers, which then wait for work for good (the server alone holds ~660 MB).
        process = subprocess.Popen([enclave, "ingest", str(folder)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            registry = data / "enclave.db"  # the default database, a SQLite file
            while time.monotonic() < deadline and process.poll() is None:
                if registry.exists() and _pending_rows(registry) > 0:
                    break  # chunks are being written right now
                time.sleep(0.05)
            assert process.poll() is None, "ingest finished before it could be killed: " + log.read_text()
            process.send_signal(signal.SIGKILL)  # the ingest process alone, as a crash takes it
            process.wait()
        finally:
            _kill_group(process.pid)
    first_run = _committed(registry)
    assert first_run < 40, "the kill landed after every document was stored"

    ingestor = shared_models.ingestor(load_settings(data_dir=data, _env_file=None))
    try:
        rerun = ingestor.ingest([folder])
        assert {r.status for r in rerun} <= {"added", "unchanged"} and len(rerun) == 40, rerun
        assert sum(r.status == "unchanged" for r in rerun) == first_run  # what the killed run committed is kept
        documents = ingestor.documents()
        assert len(documents) == 40
        for record in documents:
            assert chunks_of(ingestor, record.document_id) == record.chunks
        assert ingestor.store.count() == sum(d.chunks for d in documents)
        assert ingestor.registry.pending() == []
    finally:
        ingestor.close()


def _kill_group(group: int) -> None:
    """SIGKILL whatever is left of a process group."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:  # nothing is
        pass


def _pending_rows(registry: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{registry}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
    except sqlite3.Error:
        return 0


def _committed(registry: Path) -> int:
    import sqlite3

    with sqlite3.connect(registry) as db:
        return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]


def _search(ingestor, text: str):
    return ingestor.store.search(ingestor.embedder.embed_query(text), ingestor.sparse.encode_query(text), limit=10)


def test_text_records_are_chunked_stored_and_skipped_when_unchanged(ingestor):
    from ingest.pipeline.sources import TextRecord

    records = [
        TextRecord("r1", "r1", "Vitamin D and bone density", "Supplementation increased bone mineral density. " * 40),
        TextRecord("r2", "r2", "", "A short abstract about sleep and memory consolidation."),
    ]
    first = ingestor.ingest_records(records)
    assert [r.status for r in first] == ["added", "added"]
    assert first[0].chunks > 1  # long text is chunked, not truncated
    assert [r.status for r in ingestor.ingest_records(records)] == ["unchanged", "unchanged"]
    hits = _search(ingestor, "sleep memory consolidation")
    assert hits[0].chunk.document_name == "r2"


def test_chunks_are_encoded_with_their_title_but_stored_as_they_are(ingestor):
    from ingest.pipeline.sources import TextRecord

    body = " ".join(f"Sentence {i} about bone mineral density in older adults." for i in range(120))
    ingestor.ingest_records([TextRecord("r1", "r1", "Zebrafish cardiology trial", body)])
    hits = ingestor.store.search(None, ingestor.sparse.encode_query("zebrafish"), limit=20, method="sparse")
    later = [h for h in hits if h.chunk.index > 0]
    assert later, "a chunk from the middle of the document is found by a word only its title has"
    assert all("Zebrafish" not in h.chunk.text for h in later)  # the header is encoded, never stored or shown


# -- re-index ---------------------------------------------------------------------------------------------------


def test_reindex_of_an_unchanged_file_stores_a_new_version_and_only_its_chunks(ingestor, folder):
    ingestor.ingest([folder])
    (before,) = [d for d in ingestor.documents() if d.name == "policy.txt"]

    events = []
    (result,) = ingestor.reindex(["policy.txt"], user="admin", progress=events.append)

    after = ingestor.registry.get(before.document_id)
    assert result.status == "updated" and result.document_id == before.document_id
    assert (after.version, after.content_hash, after.groups) == (before.version + 1, before.content_hash, before.groups)
    assert ingestor.store.document_versions()[before.document_id] == {after.version}
    assert chunks_of(ingestor, before.document_id) == after.chunks == result.chunks
    assert [e.stage for e in events if e.kind == "stage"] == ["queued", "parsing", "embedding", "stored"]
    batch = ingestor.jobs.latest()
    assert (batch.user, [(f.name, f.status) for f in batch.files]) == ("admin", [("policy.txt", "updated")])


def test_reindex_all_reindexes_every_stored_document(ingestor, folder):
    ingestor.ingest([folder])

    results = ingestor.reindex_all()

    assert sorted(Path(r.path).name for r in results) == ["memo-supply-delivery.pdf", "policy.txt"]
    assert {r.status for r in results} == {"updated"}
    assert {d.version for d in ingestor.documents()} == {2}


def test_reindex_of_a_document_whose_file_is_gone_fails_clearly_and_keeps_it(ingestor, folder):
    ingestor.ingest([folder])
    (before,) = [d for d in ingestor.documents() if d.name == "policy.txt"]
    (folder / "policy.txt").unlink()

    (result,) = ingestor.reindex([before.document_id])

    assert result.status == "failed"
    assert result.reason.startswith(f"original file is gone: {before.source}; upload it again"), result.reason
    assert ingestor.registry.get(before.document_id) == before
    assert chunks_of(ingestor, before.document_id) == before.chunks
    assert ingestor.jobs.latest().files[0].status == "failed"


def test_reindex_of_an_unknown_document_fails_and_the_others_go_on(ingestor, folder):
    ingestor.ingest([folder])

    results = ingestor.reindex(["no-such-document.pdf", "policy.txt"])

    assert [(Path(r.path).name, r.status) for r in results] == [
        ("no-such-document.pdf", "failed"), ("policy.txt", "updated")
    ]
    assert "no stored document" in results[0].reason


def test_an_unreadable_attachment_is_reported_on_the_stored_email(ingestor, tmp_path):
    from email.message import EmailMessage

    from shared_data import BAD

    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Chairs", "a@example.com", "b@example.com"
    message.set_content("The warehouse received 500 chairs this week.")
    message.add_attachment((BAD / "truncated-paper.pdf").read_bytes(), maintype="application", subtype="pdf",
                           filename="paper.pdf")
    mail = tmp_path / "chairs.eml"
    mail.write_bytes(bytes(message))

    (result,) = ingestor.ingest([mail])

    assert result.status == "added"
    assert "attachment 'paper.pdf' skipped: corrupt or truncated PDF" in result.reason
    assert _search(ingestor, "500 chairs")[0].chunk.document_name == "chairs.eml"


def test_a_store_failure_mid_ingest_stops_it_and_leaves_no_partial_document(tmp_path, monkeypatch, shared_models):
    from ingest.errors import StoreUnavailable
    from ingest.pipeline import writer

    monkeypatch.setattr(writer, "_UPSERT_BATCH", 4)  # many small batches, so the fault lands between documents
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(12):
        (folder / f"note-{i:02d}.txt").write_text(f"Note {i}. " + "The warehouse shipped pallets of goods. " * 40)
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", embedding_batch_size=4,
                                                    _env_file=None))
    try:
        upsert, calls = ingestor.store.upsert, []

        def fails_third_time(points):  # the injected fault: the store goes away mid-run
            calls.append(len(points))
            if len(calls) == 3:
                raise StoreUnavailable("the vector store stopped answering (injected)")
            return upsert(points)

        monkeypatch.setattr(ingestor.store, "upsert", fails_third_time)
        with pytest.raises(StoreUnavailable):
            ingestor.ingest([folder])

        stored = ingestor.documents()
        assert len(stored) < 12 and ingestor.registry.pending() == []
        assert all(chunks_of(ingestor, d.document_id) == d.chunks for d in stored)
        assert ingestor.store.count() == sum(d.chunks for d in stored)  # nothing of the others is left behind

        monkeypatch.setattr(ingestor.store, "upsert", upsert)  # the store is back: a rerun stores the rest
        again = ingestor.ingest([folder])
        assert sorted({r.status for r in again}) <= ["added", "unchanged"] and len(ingestor.documents()) == 12
        assert ingestor.store.count() == sum(d.chunks for d in ingestor.documents())
    finally:
        ingestor.close()
