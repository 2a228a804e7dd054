"""The parse workers: started once and kept, below the encoder's priority, replaced after a crash."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from ingest.pipeline.parse_pool import FORK_SERVER_PRELOAD, WORKER_NICENESS, ParsePool
from ingest.settings import load_settings

# Each new worker imports this module to run the functions here it is handed (pid_once_all_have_met, parse_or_die):
# keep its imports light. With the Ingestor imported at the top (the store client, the embedding stack), every
# worker spent seconds importing them, and the crash test starts several rounds of workers.


@pytest.fixture(scope="module")
def pool():
    pool = ParsePool(workers=2)
    yield pool
    pool.close()


@pytest.fixture
def own_pool():
    pool = ParsePool(workers=1)
    yield pool
    pool.close()


def worker_pids(pool: ParsePool, tasks: int = 6) -> set[int]:
    return {pool.submit(os.getpid).result(timeout=120) for _ in range(tasks)}


def pid_once_all_have_met(barrier) -> int:
    """Runs in a worker: returns only when every task of the batch has started, so each took a worker of its own."""
    barrier.wait(timeout=300)
    return os.getpid()


def every_worker_pid(pool: ParsePool) -> set[int]:
    """The pid of each of the pool's workers: which worker takes a task is up to the pool, so a batch of one task
    per worker that all wait for each other is the only way to reach every one of them."""
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(pool.workers)
        futures = [pool.submit(pid_once_all_have_met, barrier) for _ in range(pool.workers)]
        return {future.result(timeout=300) for future in futures}


def test_the_fork_server_preloads_a_module_that_exists():
    # Looked up, not imported: importing it loads the parsers, as it does in the fork server.
    assert importlib.util.find_spec(FORK_SERVER_PRELOAD) is not None


def test_workers_are_kept_for_the_next_batch(pool):
    first = every_worker_pid(pool)
    second = every_worker_pid(pool)

    assert len(first) == 2 and os.getpid() not in first
    assert second == first


def test_workers_run_below_the_callers_priority(pool):
    niceness = pool.submit(os.nice, 0).result(timeout=120)

    assert niceness == min(os.nice(0) + WORKER_NICENESS, 19)


def test_workers_and_the_tools_they_start_run_on_one_thread(pool):
    import subprocess

    env = pool.submit(subprocess.check_output, ["env"]).result(timeout=120).decode().split()

    assert "OMP_THREAD_LIMIT=1" in env  # Tesseract's OpenMP threads spin against each other and the encoder


def test_a_crashed_pool_is_replaced(own_pool):
    before = worker_pids(own_pool)
    with pytest.raises(BrokenProcessPool):
        own_pool.submit(os._exit, 70).result(timeout=120)

    own_pool.discard()

    after = worker_pids(own_pool)
    assert after and not after & before


def wait_until(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_idle_workers_are_released_and_come_back_for_the_next_batch():
    pool = ParsePool(workers=1, idle_seconds=0.2)
    try:
        (first,) = worker_pids(pool)
        pool.release_when_idle()

        assert wait_until(lambda: not pool.running)
        assert wait_until(lambda: not _alive(first))  # the process has exited, not merely been forgotten
        (second,) = worker_pids(pool)
        assert second != first
    finally:
        pool.close()


def test_a_new_batch_keeps_the_workers_from_being_released():
    pool = ParsePool(workers=1, idle_seconds=3600)  # the release never comes due during the test: no race with it
    try:
        (first,) = worker_pids(pool)
        pool.release_when_idle()
        assert pool.release_pending

        (again,) = worker_pids(pool, tasks=1)  # the next batch

        assert not pool.release_pending  # it called the release off
        assert pool.running and again == first
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parse_or_die(path: str, options, max_attachment_bytes):
    """A parser that dies (as a native crash would) on one file; runs in the worker, so it is module-level."""
    if path.endswith("die.txt"):
        os._exit(70)
    from ingest.pipeline.worker import parse_and_chunk

    return parse_and_chunk(path, options, max_attachment_bytes)


def test_a_worker_crash_fails_only_its_file_and_the_batch_goes_on(tmp_path, monkeypatch, shared_models):
    monkeypatch.setattr("ingest.pipeline.ingestor.parse_and_chunk", parse_or_die)
    (tmp_path / "a-policy.txt").write_text("Travel policy. Employees book economy class for flights under six hours.\n")
    (tmp_path / "die.txt").write_text("This file kills its parser.\n")
    (tmp_path / "z-leave.txt").write_text("Leave policy. Employees get twenty-five days of paid leave a year.\n")
    (tmp_path / "later.txt").write_text("Expenses. Receipts are kept for seven years.\n")
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None), warm_parsers=True)
    try:
        batch = ingestor.ingest([tmp_path / "a-policy.txt", tmp_path / "die.txt", tmp_path / "z-leave.txt"])
        (later,) = ingestor.ingest([tmp_path / "later.txt"])
        stored = ingestor.store.count()
    finally:
        ingestor.close()

    statuses = {Path(r.path).name: r.status for r in batch}
    assert statuses == {"a-policy.txt": "added", "die.txt": "failed", "z-leave.txt": "added"}
    (crashed,) = [r for r in batch if r.status == "failed"]
    assert "parser crashed on this file" in crashed.reason
    assert later.status == "added"
    assert stored == sum(r.chunks for r in batch) + later.chunks  # nothing stored for the crashed file


OWNER_SCRIPT = """
import os, sys, time
from ingest.pipeline.parse_pool import ParsePool
pool = ParsePool(workers=2)
worker = pool.submit(os.getpid).result(timeout=300)
server = pool.submit(os.getppid).result(timeout=300)
print(worker, server, flush=True)
time.sleep(3600)
"""


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody has reaped yet counts as exited: it holds no memory and runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_killed_owner_leaves_no_fork_server_or_worker_behind():
    """kill -9 of an Enclave process (the OOM killer, a container stop) must not leave its fork server (~660 MB of
    parsers) and workers running, orphaned, until the machine restarts."""
    import signal
    import subprocess
    import sys

    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[3])
    try:
        worker, server = (int(pid) for pid in owner.stdout.readline().split())
        assert not _gone(worker) and not _gone(server)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=60)

        assert wait_until(lambda: _gone(server) and _gone(worker), seconds=120)
    finally:
        owner.kill()
        owner.wait(timeout=60)
        owner.stdout.close()
