"""Fixtures for the assistant's tests that keep tables: the same test on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from ingest import IngestSettings, load_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def database_settings(request: pytest.FixtureRequest, tmp_path) -> IngestSettings:
    """Settings naming a new, empty database: the SQLite file under a fresh data folder, or a PostgreSQL database of
    the test's own (tests/postgres.py)."""
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    return load_settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)
