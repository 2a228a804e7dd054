"""The ingestion log behind the Documents page's status table, in the database (SQLite and PostgreSQL)."""

import shutil

from ingest import load_settings, open_database
from ingest.pipeline.ingestor import open_ingestor
from ingest.pipeline.jobs import JobLog
from shared_data import BAD, DOCS


def test_statuses_survive_reopening_the_database(ingest_database, database_url, tmp_path):
    log = JobLog(ingest_database)
    batch = log.start("alice", ["/a.pdf", "/b.txt"])
    log.update(batch, "/a.pdf", "embedding")
    log.update(batch, "/b.txt", "failed", "empty file (0 bytes)", 0)
    ingest_database.close()

    again = open_database(load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))
    try:
        latest = JobLog(again).latest(running=True)
    finally:
        again.close()
    assert latest.batch_id == batch and latest.user == "alice"
    assert [(f.name, f.status, f.reason) for f in latest.files] == [
        ("a.pdf", "embedding", ""), ("b.txt", "failed", "empty file (0 bytes)")]


def test_a_batch_that_never_finished_shows_its_open_files_as_interrupted(ingest_database):
    log = JobLog(ingest_database)
    batch = log.start("alice", ["/a.pdf", "/b.txt"])
    log.update(batch, "/a.pdf", "added", chunks=3)
    log.update(batch, "/b.txt", "parsing")
    # the process died here: no finish()
    assert [f.status for f in log.latest(running=False).files] == ["added", "interrupted"]
    log.finish(batch)
    assert log.latest().finished_at is not None


def test_the_latest_batch_is_the_one_started_last_even_within_the_same_second(ingest_database):
    log = JobLog(ingest_database)
    batches = [log.start(user, ["/a.pdf"]) for user in ("alice", "bob", "carol")]

    assert log.latest().batch_id == batches[-1]


def test_a_file_the_batch_did_not_list_is_logged_after_the_others_and_keeps_its_chunk_count(ingest_database):
    log = JobLog(ingest_database)
    batch = log.start("alice", ["/a.pdf", "/b.txt"])
    log.update(batch, "/mail.eml#attachment.pdf", "added", chunks=4)
    log.update(batch, "/mail.eml#attachment.pdf", "removed")  # no count given: the one logged stays

    files = log.latest(running=True).files
    assert [(f.path, f.status, f.chunks) for f in files] == [
        ("/a.pdf", "queued", 0), ("/b.txt", "queued", 0), ("/mail.eml#attachment.pdf", "removed", 4)]


def test_a_path_listed_twice_is_logged_once(ingest_database):
    log = JobLog(ingest_database)
    log.start("alice", ["/a.pdf", "/a.pdf"])

    assert [f.path for f in log.latest(running=True).files] == ["/a.pdf"]


def test_an_empty_log_has_no_latest_batch(ingest_database):
    assert JobLog(ingest_database).latest() is None


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


def test_a_batch_is_read_by_its_id_and_abandoning_it_fails_only_its_open_files(ingest_database):
    log = JobLog(ingest_database)
    batch = log.start("alice", ["/a.pdf", "/b.txt", "/c.docx"])
    log.update(batch, "/a.pdf", "added", chunks=3)
    log.update(batch, "/b.txt", "embedding")
    log.start("bob", ["/other.pdf"])  # a later batch: `get` still finds the first

    log.abandon(batch, "its worker stopped 3 times")

    status = log.get(batch)
    assert status.finished_at is not None and status.user == "alice"
    assert [(f.name, f.status, f.reason) for f in status.files] == [
        ("a.pdf", "added", ""), ("b.txt", "failed", "its worker stopped 3 times"),
        ("c.docx", "failed", "its worker stopped 3 times")]
    assert log.get("no-such-batch") is None


def test_a_batch_carried_on_keeps_the_results_it_has_and_leaves_the_rest_to_do(ingest_database, tmp_path):
    from pathlib import Path

    from ingest import FileResult

    log = JobLog(ingest_database)
    a, b, c = (str(tmp_path / name) for name in ("a.pdf", "b.txt", "c.docx"))
    batch = log.start("alice", [a, b, c, "/gone.pdf"])
    log.update(batch, a, "added", chunks=3)
    log.update(batch, b, "parsing")  # its worker died here
    log.update(batch, "/gone.pdf", "failed", "no such file or folder")

    files, known = log.left_to_do(batch, [Path(a), Path(b), Path(c)],
                                  [FileResult("/gone.pdf", "failed", "no such file or folder")])

    assert files == [Path(b), Path(c)]
    assert sorted((r.path, r.status, r.chunks) for r in known) == [
        ("/gone.pdf", "failed", 0), (a, "added", 3)]


def test_ingesting_into_a_queued_batch_logs_there_and_does_not_redo_what_it_settled(tmp_path):
    """A worker taking a batch up again after the one before it died: the file the log has as added is not parsed
    or written again (it stays as the log has it), the others are done, all in the same batch."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("memo-supply-delivery.pdf", "sample-presentation.pptx"):
        shutil.copy(DOCS / name, folder)
    memo, slides = str(folder / "memo-supply-delivery.pdf"), str(folder / "sample-presentation.pptx")
    ingestor = open_ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        batch = ingestor.jobs.start("alice", [memo, slides])
        ingestor.jobs.update(batch, memo, "added", chunks=7)  # as the worker that died logged it
        results = ingestor.ingest([folder], user="alice", batch_id=batch)
        stored = {r.name for r in ingestor.documents()}
        logged = ingestor.jobs.get(batch, running=False)
        batches = ingestor.jobs.latest().batch_id
    finally:
        ingestor.close()

    by_path = {r.path: r for r in results}
    assert (by_path[memo].status, by_path[memo].chunks) == ("added", 7)  # from the log: not done again
    assert by_path[slides].status == "added" and by_path[slides].chunks > 0
    assert stored == {"sample-presentation.pptx"}  # the memo was not written again (the log said it was done)
    assert logged.finished_at is not None and [f.status for f in logged.files] == ["added", "added"]
    assert batches == batch  # no second batch was logged
