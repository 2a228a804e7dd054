"""A real PostgreSQL for the database tests: Debian's `postgresql` package (installed by `make test`), a throwaway
cluster in a temporary folder that listens only on a Unix socket there (no TCP port to collide with), started once
per test process and removed at its end. Each test that asks gets a database of its own.

    def test_something(postgres_database: str): ...   # a SQLAlchemy URL (postgresql+psycopg://…)
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

SUPERUSER = "enclave"


def postgres_bin() -> Path | None:
    """The newest installed server's programs (Debian keeps them out of PATH, one folder per major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class Cluster:
    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.data, self.socket, self.log = root / "data", root / "socket", root / "server.log"
        # initdb refuses to run as root: as root, the cluster belongs to Debian's `postgres` account.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, program: str, *args: str) -> None:
        command = [*self._as, str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}\n{log}")

    def start(self) -> None:
        self.socket.mkdir()
        if self._as:
            account = pwd.getpwnam("postgres")
            for path in (self.root, self.socket):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C")
        # No TCP at all; fsync off: a test database need not survive a power cut, and syncing is most of its cost.
        options = f"-k {self.socket} -c listen_addresses= -c fsync=off -c full_page_writes=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket), user=SUPERUSER, dbname="postgres", autocommit=True) as db:
            db.execute(sql)

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    bindir = postgres_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package (as root)")
    # Not under pytest's tmp folder: that one is private to our account, and the server may run as `postgres`.
    cluster = Cluster(bindir, Path(tempfile.mkdtemp(prefix="enclave-pg-")))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_database(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty database for this test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_cluster.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
