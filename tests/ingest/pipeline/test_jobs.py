"""The ingestion log behind the Documents page's status table."""

import shutil

from ingest.pipeline.ingestor import open_ingestor
from ingest.pipeline.jobs import JobLog
from ingest.settings import load_settings
from shared_data import BAD, DOCS


def test_statuses_survive_reopening_the_log(tmp_path):
    log = JobLog(tmp_path / "jobs.sqlite3")
    batch = log.start("alice", ["/a.pdf", "/b.txt"])
    log.update(batch, "/a.pdf", "embedding")
    log.update(batch, "/b.txt", "failed", "empty file (0 bytes)", 0)
    log.close()

    latest = JobLog(tmp_path / "jobs.sqlite3").latest(running=True)
    assert latest.batch_id == batch and latest.user == "alice"
    assert [(f.name, f.status, f.reason) for f in latest.files] == [
        ("a.pdf", "embedding", ""), ("b.txt", "failed", "empty file (0 bytes)")]


def test_a_batch_that_never_finished_shows_its_open_files_as_interrupted(tmp_path):
    log = JobLog(tmp_path / "jobs.sqlite3")
    batch = log.start("alice", ["/a.pdf", "/b.txt"])
    log.update(batch, "/a.pdf", "added", chunks=3)
    log.update(batch, "/b.txt", "parsing")
    # the process died here: no finish()
    assert [f.status for f in log.latest(running=False).files] == ["added", "interrupted"]
    log.finish(batch)
    assert log.latest().finished_at is not None


def test_ingesting_records_every_files_outcome_in_the_log(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(DOCS / "memo-supply-delivery.pdf", folder)
    shutil.copy(BAD / "encrypted-user-password.pdf", folder)
    ingestor = open_ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        ingestor.ingest([folder], user="bob")
        latest = ingestor.jobs.latest()
    finally:
        ingestor.close()
    assert latest.user == "bob" and latest.finished_at is not None and latest.done == 2
    by_name = {f.name: f for f in latest.files}
    assert by_name["memo-supply-delivery.pdf"].status == "added"
    assert by_name["memo-supply-delivery.pdf"].chunks > 0
    assert by_name["encrypted-user-password.pdf"].status == "failed"
    assert "encrypted" in by_name["encrypted-user-password.pdf"].reason
