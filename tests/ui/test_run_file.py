"""The run file that tells the command line where a running API is: the owner's alone, whole or absent, ignored once
its process is gone, removed only by the API that wrote it."""

from __future__ import annotations

import subprocess

from ui.run_file import RunningApi, loopback_url, read_run_file, remove_run_file, run_file, write_run_file


def test_the_file_is_written_for_its_owner_alone_and_read_back(tmp_path):
    import os

    api = RunningApi("http://127.0.0.1:8000", os.getpid(), "local_secret")
    path = write_run_file(tmp_path, api)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_run_file(tmp_path) == api
    assert [p.name for p in tmp_path.iterdir()] == ["api.json"]  # no partial file left beside it


def test_a_file_left_by_a_process_that_is_gone_is_ignored(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_run_file(tmp_path, RunningApi("http://127.0.0.1:8000", gone.pid, "local_secret"))
    assert read_run_file(tmp_path) is None


def test_no_file_or_a_damaged_one_means_no_running_api(tmp_path):
    assert read_run_file(tmp_path) is None
    run_file(tmp_path).write_text('{"url": "http://127.0.0.1:8000", "pi')
    assert read_run_file(tmp_path) is None


def test_an_api_removes_only_its_own_file(tmp_path):
    import os

    mine = RunningApi("http://127.0.0.1:8000", os.getpid(), "local_mine")
    write_run_file(tmp_path, RunningApi("http://127.0.0.1:8001", os.getpid(), "local_newer"))
    remove_run_file(tmp_path, mine)
    assert read_run_file(tmp_path).token == "local_newer"


def test_an_api_on_every_interface_is_reached_on_loopback():
    assert loopback_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert loopback_url("::1", 8000) == "http://[::1]:8000"
    assert loopback_url("10.1.2.3", 8000) == "http://10.1.2.3:8000"
