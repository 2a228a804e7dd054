"""Queuing a batch for the workers (ENCLAVE_INGEST_QUEUE=postgres), on a real PostgreSQL: the batch is in the log at
once, its job in procrastinate's tables; following it ends however its job ends. The workers themselves are tested
as the real `enclave worker` processes (tests/ui/commands/test_worker.py)."""

from __future__ import annotations

import shutil

import pytest
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import inspect, text

from ingest import INGEST_TABLES, SettingsError, load_settings, open_database, upgrade_tree
from ingest.queue import QUEUE, TASK, IngestQueue
from shared_data import DOCS


@pytest.fixture
def queue_settings(postgres_database, tmp_path):
    return load_settings(data_dir=tmp_path / "data", database_url=postgres_database, ingest_queue="postgres",
                         _env_file=None)


@pytest.fixture
def queue(queue_settings):
    database = open_database(queue_settings)
    upgrade_tree(database, INGEST_TABLES)
    queue = IngestQueue(queue_settings, database, poll_seconds=0.05, owns_database=True)
    yield queue
    queue.close()


def test_the_queue_needs_postgresql_and_says_so(tmp_path):
    with pytest.raises(SettingsError, match="ENCLAVE_INGEST_QUEUE=postgres keeps its jobs in PostgreSQL") as failure:
        load_settings(data_dir=tmp_path, ingest_queue="postgres", _env_file=None)
    assert "ENCLAVE_DATABASE_URL" in str(failure.value) and "ENCLAVE_:" not in str(failure.value)
    with pytest.raises(SettingsError, match="ENCLAVE_INGEST_QUEUE"):
        load_settings(data_dir=tmp_path, ingest_queue="redis", _env_file=None)


def test_a_worker_cannot_be_set_to_be_taken_for_dead_between_two_heartbeats(tmp_path, postgres_database):
    with pytest.raises(SettingsError, match="more than twice ENCLAVE_WORKER_HEARTBEAT_SECONDS"):
        load_settings(data_dir=tmp_path, database_url=postgres_database, worker_heartbeat_seconds=10,
                      worker_stalled_seconds=15, _env_file=None)


def test_the_database_migration_makes_the_queue_tables_on_postgresql_only(database):
    upgrade_tree(database, INGEST_TABLES)

    tables = set(inspect(database.engine).get_table_names())
    if database.dialect == "postgresql":
        assert {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events"} <= tables
    else:
        assert not any(name.startswith("procrastinate") for name in tables)


def test_a_submitted_batch_is_logged_as_queued_and_becomes_one_job(queue, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    for name in ("memo-supply-delivery.pdf", "family-day.eml"):
        shutil.copy(DOCS / name, folder)

    batch_id = queue.submit([folder, tmp_path / "missing.pdf"], user="alice", groups=["legal"],
                            actor={"api_key": "k1"})

    log = queue._log.get(batch_id)
    assert log.user == "alice" and log.total == 3 and log.finished_at is None
    assert sorted((f.name, f.status) for f in log.files) == [
        ("family-day.eml", "queued"), ("memo-supply-delivery.pdf", "queued"), ("missing.pdf", "failed")]
    assert queue.depth() == 1 and queue.pending(batch_id) and queue.workers() == 0
    with queue._database.reading("read the job") as connection:
        task, queue_name, args = connection.execute(
            text("SELECT task_name, queue_name, args FROM procrastinate_jobs")).one()
    assert (task, queue_name) == (TASK, QUEUE)
    assert args == {"batch_id": batch_id, "paths": [str(folder), str(tmp_path / "missing.pdf")], "user": "alice",
                    "groups": ["legal"], "sync": False, "actor": {"api_key": "k1"}}


def test_metrics_show_the_queue_depth(queue, tmp_path):
    (tmp_path / "note.txt").write_text("A short note about the quarterly budget.")
    queue.submit([tmp_path / "note.txt"], user="alice")
    queue.submit([tmp_path / "note.txt"], user="alice")

    exposed = generate_latest(REGISTRY).decode()

    assert "enclave_ingest_queue_depth 2.0" in exposed and "enclave_ingest_workers 0.0" in exposed


def test_following_a_batch_whose_job_failed_ends_it_with_each_open_file_failed(queue, tmp_path):
    (tmp_path / "note.txt").write_text("A short note about the quarterly budget.")
    batch_id = queue.submit([tmp_path / "note.txt", tmp_path / "missing.pdf"], user="alice")
    with queue._database.writing("fail the job, as a worker that hit a bug would") as connection:  # the fault
        connection.execute(text("UPDATE procrastinate_jobs SET status = 'failed'"))
    events = []

    results = queue.follow(batch_id, events.append)

    assert [(r.path.rsplit("/", 1)[-1], r.status) for r in results] == [("missing.pdf", "failed"), ("note.txt", "failed")]
    assert "the worker failed on this batch" in results[1].reason and "upload it again" in results[1].reason
    assert events[0].kind == "start" and events[0].total == 2
    assert sorted(e.path.rsplit("/", 1)[-1] for e in events if e.kind == "file") == ["missing.pdf", "note.txt"]
    assert queue._log.get(batch_id).finished_at is not None and not queue.pending(batch_id)
