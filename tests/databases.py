"""Database fixtures: a test that asks for `database` runs twice, on the default SQLite file under its data folder
and on a fresh PostgreSQL database (tests/postgres.py). The database matters to every test of what is kept in it.

    def test_something(database): ...          # an open ingest.Database, empty
    def test_something(ingest_database): ...   # the same, with ingest's tables (INGEST_TABLES) created
    def test_something(database_url): ...      # only the setting: None (the SQLite file) or a PostgreSQL URL

    with opened_registry(data_dir) as registry: ...  # the registry of a data folder some other part wrote
    run_together(write, write)                       # calls started at once in threads, as processes would
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

import pytest

if TYPE_CHECKING:
    from ingest.store import Registry

T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """ENCLAVE_DATABASE_URL for this run of the test: None means the SQLite file under the data folder."""
    return request.getfixturevalue("postgres_database") if request.param == "postgresql" else None


@pytest.fixture
def database(database_url, tmp_path) -> Iterator[object]:
    from ingest import load_settings, open_database

    database = open_database(load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))
    yield database
    database.close()


@pytest.fixture
def ingest_database(database) -> object:
    from ingest import INGEST_TABLES, upgrade_tree

    upgrade_tree(database, INGEST_TABLES)
    return database


@contextmanager
def opened_registry(data_dir: Path) -> Iterator[Registry]:
    """The registry of the data folder's default database (its SQLite file), read or written beside whatever else
    has it open (an app, another test's Enclave), as a second process would."""
    from ingest import load_settings, open_database
    from ingest.store import Registry

    database = open_database(load_settings(data_dir=data_dir, _env_file=None))
    try:
        yield Registry(database)
    finally:
        database.close()


def run_together(*calls: Callable[[], T]) -> list[T]:
    """Each call in a thread of its own, all released at once (processes started together, the app's threads), then
    their results in order; a call's failure is raised here, in the test's own thread."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = calls[n]()
        except BaseException as exc:  # handed to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results
