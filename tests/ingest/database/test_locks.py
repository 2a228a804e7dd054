"""Locks on what is being written (`Database.locking`), on the SQLite file and on PostgreSQL: held against other
threads and processes, waited for or refused, and released when their holder ends, even by kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest import load_settings, open_database

BOUND = 120  # seconds; never reached unless something is stuck
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def elsewhere():
    """Another thread, as the app's sessions (and, to a lock, another process) are."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="other-holder") as pool:
        yield lambda call, *args: pool.submit(call, *args).result(BOUND)


def free(database, *names: str) -> bool:
    """Whether these locks could all be taken now, without waiting (taken and let go at once)."""
    with database.locking(list(names), wait=False) as held:
        return held


def test_a_lock_held_is_refused_to_another_holder_and_the_other_names_are_free(database, elsewhere):
    with database.locking(["document:a"]) as held:
        assert held
        assert not elsewhere(free, database, "document:a")
        assert elsewhere(free, database, "document:b")
        assert not elsewhere(free, database, "document:b", "document:a")
        assert elsewhere(free, database, "document:b")  # refused as a whole: b was not kept

    assert elsewhere(free, database, "document:a", "document:b")


def test_a_holder_that_waits_is_told_and_gets_the_lock_once_it_is_let_go(database):
    told: list[str] = []
    waiting, got = threading.Event(), []

    def wait_for_it() -> None:
        with database.locking(["document:a", "document:b"],
                              on_wait=lambda name: (told.append(name), waiting.set())) as held:
            got.append(held)

    with ThreadPoolExecutor(max_workers=1) as pool:
        with database.locking(["document:a"]):
            waiter = pool.submit(wait_for_it)
            assert waiting.wait(BOUND)
            assert got == [] and told == ["document:a"]  # it waits: it holds nothing of the document yet
        waiter.result(BOUND)

    assert got == [True]


def test_the_locks_of_a_killed_process_are_released(database, database_url, tmp_path):
    script = (
        "import sys\n"
        "from ingest import load_settings, open_database\n"
        "database = open_database(load_settings(data_dir=sys.argv[1], database_url=sys.argv[2] or None,"
        " _env_file=None))\n"
        "with database.locking(['document:a']):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.read()  # until killed\n"
    )
    with subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data"), database_url or ""], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline() == "held\n"
            assert not free(database, "document:a")
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(BOUND)
    assert holder.returncode == -signal.SIGKILL

    with ThreadPoolExecutor(max_workers=1) as pool:  # waits for the server to see the connection gone (PostgreSQL)
        taken = pool.submit(lambda: free_after_waiting(database, "document:a"))
        assert taken.result(BOUND)


def free_after_waiting(database, name: str) -> bool:
    with database.locking([name]) as held:
        return held


def test_no_lock_file_is_left_beside_the_sqlite_file(tmp_path):
    database = open_database(load_settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        with database.locking(["document:a", "document:b"]):
            assert len(list((tmp_path / "data" / "enclave.db-locks").iterdir())) == 2
    finally:
        database.close()

    assert list((tmp_path / "data" / "enclave.db-locks").iterdir()) == []
