"""A copy of the whole database in one file, and that copy put back: SQLite through sqlite3's online backup API (a
consistent copy of a live database, its WAL included, never a copy of the file under a writer), PostgreSQL through
pg_dump's custom format and pg_restore, in one transaction. Every package's tables are in the database (the registry,
the ingestion log, accounts, the audit trail, conversations), so one dump holds them all."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from ingest.database.engine import BUSY_SECONDS
from ingest.errors import DatabaseUnavailable

DUMP_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}  # the dump's name in a backup folder


def dump_database(url: URL, dest: Path) -> None:
    """Write a consistent copy of the database at `url` to the file `dest`. Raises DatabaseUnavailable."""
    if url.get_backend_name() == "sqlite":
        try:
            with closing(_sqlite(url.database or "")) as source, closing(sqlite3.connect(dest)) as copy:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one file: reading it later leaves no -wal beside it
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"could not copy the database {url.database}: {exc}. Check that the file "
                                      "is readable and the backup folder's disk has room.") from exc
        return
    _run_pg("pg_dump", url, "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}")


def restore_database(url: URL, source: Path) -> None:
    """Replace the whole database at `url` with the copy in `source` (made by `dump_database` for the same kind of
    database): on SQLite page by page through the backup API, on PostgreSQL the dumped tables dropped and made again
    in one transaction (an error leaves the database as it was). Raises DatabaseUnavailable."""
    if url.get_backend_name() == "sqlite":
        try:
            Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
            copy = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)  # the backup stays as it is
            with closing(copy), closing(_sqlite(url.database or "")) as target:
                copy.backup(target)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseUnavailable(f"could not restore the database {url.database}: {exc}. Check that no other "
                                      "process holds it and that its disk has room.") from exc
        return
    _run_pg("pg_restore", url, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            str(source))


def database_is_empty(url: URL) -> bool:
    """Whether the database at `url` holds no table at all (a new Enclave, or a missing SQLite file)."""
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return True
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot read the database {url.render_as_string(hide_password=True)}: "
                                  f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _sqlite(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_SECONDS)


def libpq_url(url: URL) -> tuple[str, dict[str, str]]:
    """The URL pg_dump and pg_restore understand (no SQLAlchemy driver name), and its password as the environment
    variable libpq reads, so it never shows on a command line (`ps`)."""
    password = url.password
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                      query=url.query)  # `set(password=None)` would keep the password: None means "unchanged" there
    plain = bare.render_as_string(hide_password=False)
    return plain, ({"PGPASSWORD": str(password)} if password else {})


def _run_pg(program: str, url: URL, *args: str) -> None:
    found = shutil.which(program)
    if found is None:
        raise DatabaseUnavailable(f"{program} is not installed: install PostgreSQL's client programs "
                                  "(Debian: apt install postgresql-client) and try again")
    plain, secret = libpq_url(url)
    command = [found, f"--dbname={plain}", *args]
    try:
        result = subprocess.run(command, env={**os.environ, **secret}, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DatabaseUnavailable(f"could not run {program}: {exc}") from exc
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise DatabaseUnavailable(f"{program} failed on {url.render_as_string(hide_password=True)}: {said}. "
                                  "Check that the server runs and accepts this user, and that its version is not "
                                  "older than the client's.")
