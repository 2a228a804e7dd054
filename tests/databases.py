"""Database fixtures: a test that asks for `database` runs twice, on the default SQLite file under its data folder
and on a fresh PostgreSQL database (tests/postgres.py). The database matters to every test of what is kept in it.

    def test_something(database): ...          # an open ingest.Database, empty
    def test_something(ingest_database): ...   # the same, with ingest's tables (INGEST_TABLES) created
    def test_something(database_url): ...      # only the setting: None (the SQLite file) or a PostgreSQL URL
"""

from __future__ import annotations

from typing import Iterator

import pytest


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
