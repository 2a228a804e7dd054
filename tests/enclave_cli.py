"""The `enclave` command line, run two ways: in this process through Click's CliRunner (most tests: the command's
own work, its output and exit code, without a cold start per call: Python, torch and the parsers imported again,
5-10 s), or as the installed program in a subprocess (the few tests about the process itself: the exit code a
shell sees).

In-process, a command reads its settings from os.environ as the program does: `env` overrides it for the call only
(CliRunner sets the variables and puts them back). Its stdout and stderr are captured at the Python level; the
command line's rich Console looks sys.stderr up at each print, so its error lines land in `result.stderr` too.
An exception the command does not handle is raised into the test (it would be a traceback and exit 1 in a shell),
and a command that left an embedded store open fails the test: the next opener in this process would find it busy.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

ENCLAVE = str(Path(sys.executable).with_name("enclave"))
STORE_LOCK = "enclave.lock"  # the embedded store's directory lock (ingest/store/_edge.py)


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run `enclave ARGS` in this process; result.exit_code, .stdout and .stderr as the program would give them.
    `input`: what the command reads from stdin (a pipe, not a terminal)."""
    from ui.commands.cli import main

    env = dict(env or {})
    result = CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False, prog_name="enclave")
    if "ENCLAVE_DATA_DIR" in env:  # the test's own data (not a data dir of the person running the tests)
        assert_stores_closed(Path(env["ENCLAVE_DATA_DIR"]))
    return result


def assert_stores_closed(data_dir: Path) -> None:
    """Every embedded store under data_dir is closed: its directory lock can be taken (and is let go at once)."""
    for lock in data_dir.rglob(STORE_LOCK):
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AssertionError(f"the command left the store at {lock.parent} open") from None
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def run_process(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed `enclave ARGS` as a separate process with exactly this environment."""
    return subprocess.run([ENCLAVE, *args], env=env, capture_output=True, text=True, timeout=timeout)
