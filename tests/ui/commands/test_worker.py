"""`enclave worker` and `enclave ingest` with the ingestion queue on (ENCLAVE_INGEST_QUEUE=postgres): real worker
processes, a real PostgreSQL, the embedded store (which one worker at a time can hold: more than one worker on one
store needs a Qdrant server, as in production) and real files.

A worker killed mid-batch (its whole process group, as when a pod or container is killed) leaves no partial document
behind: the next worker sends the job back to the queue once the dead one's heart has stopped, undoes what was
half-written, and carries the batch on from the log, each file stored once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from enclave_cli import ENCLAVE, invoke, run_process
from shared_data import DOCS

HEARTBEAT, STALLED = "2", "10"  # seconds: a dead worker's job is back in the queue 10-12 s after its last beat
DEADLINE = 300  # seconds any one wait may take on a loaded machine before the test fails saying what it waited for


@pytest.fixture
def queue_env(postgres_database, tmp_path):
    from assistant.llm import find_free_port

    return dict(os.environ, ENCLAVE_DATA_DIR=str(tmp_path / "data"), ENCLAVE_DATABASE_URL=postgres_database,
                ENCLAVE_INGEST_QUEUE="postgres", ENCLAVE_WORKER_HEARTBEAT_SECONDS=HEARTBEAT,
                ENCLAVE_WORKER_STALLED_SECONDS=STALLED, ENCLAVE_WORKER_HEALTH_PORT=str(find_free_port()),
                ENCLAVE_PARSE_WORKERS="1")


class Worker:
    """One `enclave worker` process, in a process group of its own (its parse workers with it); stderr to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.url = f"http://127.0.0.1:{env['ENCLAVE_WORKER_HEALTH_PORT']}"
        with log.open("wb") as stderr:
            self.process = subprocess.Popen([ENCLAVE, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=True)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_healthy(self) -> None:
        wait_for(lambda: self._healthy(), "the worker's /healthz to answer 200")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.log.read_text()}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False  # not listening yet

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=DEADLINE)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def copy_docs(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(DOCS / name, folder)
    return folder


def test_the_worker_refuses_to_start_without_a_queue(tmp_path):
    result = invoke("worker", env={"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_INGEST_QUEUE": "off"})

    assert result.exit_code == 1
    assert "set ENCLAVE_INGEST_QUEUE=postgres" in result.stderr


def test_enclave_ingest_queues_its_batch_and_a_worker_ingests_it(queue_env, tmp_path):
    folder = copy_docs(tmp_path / "docs", "memo-supply-delivery.pdf", "family-day.eml")
    worker = Worker(queue_env, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        ingested = run_process("ingest", str(folder), "--group", "logistics", env=queue_env)
        metrics = worker.get("/metrics")[1]
    finally:
        stopped = worker.stop()

    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.strip() == "2 files: 2 added, 0 unchanged, 0 failed"
    assert "queued for the ingestion workers (1 running)" in ingested.stderr
    assert 'enclave_ingest_files_total{status="added"} 2.0' in metrics  # counted where the work was done
    assert "enclave_ingest_queue_depth 0.0" in metrics and "enclave_ingest_workers 1.0" in metrics
    assert stopped == 0 and "worker stopped" in worker.log.read_text()
    # The store is free again: what the worker stored is there, shared as asked, and audited as the command's.
    listed = json.loads(invoke("documents", "--json", env=queue_env).stdout)
    assert sorted((d["name"], tuple(d["groups"])) for d in listed) == [
        ("family-day.eml", ("logistics",)), ("memo-supply-delivery.pdf", ("logistics",))]
    audit = json.loads(invoke("audit", "--action", "document.ingest", "--json", env=queue_env).stdout)
    assert len(audit) == 2 and {record["actor"] for record in audit} == {cli_login()}


def cli_login() -> str:
    import getpass

    return getpass.getuser()


def test_a_worker_killed_mid_batch_leaves_no_partial_document_and_the_next_one_carries_the_batch_on(
    queue_env, tmp_path, postgres_database
):
    from ingest import load_settings, open_components
    from ingest.queue import open_queue

    folder = copy_docs(tmp_path / "docs", "memo-supply-delivery.pdf", "usa-patriot-act-public-law-107-56.htm",
                       "rgpd-capitulos-1-3-es.docx")
    settings = load_settings(data_dir=tmp_path / "data", database_url=postgres_database, ingest_queue="postgres",
                             worker_heartbeat_seconds=float(HEARTBEAT), worker_stalled_seconds=float(STALLED),
                             _env_file=None)
    queue = open_queue(settings)
    database = create_engine(postgres_database)
    try:
        batch_id = queue.submit([folder], user="alice")

        def writing() -> bool:  # a document is being written: marked pending, its chunks going into the store
            with database.connect() as connection:
                return connection.execute(text("SELECT count(*) FROM pending")).scalar_one() > 0

        first = Worker(queue_env, tmp_path / "first.log")
        wait_for(writing, "the first worker to be writing a document")
        first.kill()
        killed_while = queue._log.get(batch_id)
        assert writing(), "the kill came after the document was written: nothing was left half-done"

        second = Worker(queue_env, tmp_path / "second.log")
        try:
            results = queue.follow(batch_id)
        finally:
            assert second.stop() == 0
    finally:
        queue.close()
        database.dispose()

    assert killed_while.finished_at is None and killed_while.done < 3  # killed mid-batch
    assert sorted((Path(r.path).name, r.status) for r in results) == [
        ("memo-supply-delivery.pdf", "added"), ("rgpd-capitulos-1-3-es.docx", "added"),
        ("usa-patriot-act-public-law-107-56.htm", "added")]
    assert "back to the queue (attempt 2 of 3)" in (tmp_path / "second.log").read_text()
    components = open_components(settings)
    try:
        records = components.registry.all()
        assert sorted(r.name for r in records) == sorted(p.name for p in folder.iterdir())  # each file once
        assert components.registry.pending() == []
        for record in records:  # every chunk of the version the registry vouches for, and nothing else
            assert components.store.document_versions()[record.document_id] == {record.version}
            assert len(components.store.document_chunks(record.document_id)) == record.chunks
        assert components.store.count() == sum(r.chunks for r in records)
    finally:
        components.close()
