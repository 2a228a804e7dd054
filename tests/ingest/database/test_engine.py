"""Opening the database: the SQLite file by default, PostgreSQL by URL, a clear line when it cannot be reached."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest import DatabaseUnavailable, SettingsError, load_settings, open_database


def test_the_default_is_a_sqlite_file_under_the_data_folder_with_durable_commits(tmp_path):
    database = open_database(load_settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        with database.engine.connect() as connection:
            journal = connection.execute(text("PRAGMA journal_mode")).scalar()
            synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    finally:
        database.close()

    assert database.dialect == "sqlite"
    assert (tmp_path / "data" / "enclave.db").is_file()
    assert (journal, synchronous) == ("wal", 2)  # 2 = FULL: a commit is on disk when it returns


def test_a_postgresql_url_opens_that_server(tmp_path, postgres_database):
    plain = postgres_database.replace("postgresql+psycopg://", "postgresql://")  # as an admin would write it
    database = open_database(load_settings(data_dir=tmp_path, database_url=plain, _env_file=None))
    try:
        with database.engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
    finally:
        database.close()

    assert database.dialect == "postgresql" and version


def test_an_unreachable_server_is_one_line_naming_it_without_its_password(tmp_path):
    url = "postgresql://enclave:s3cret-pw@127.0.0.1:1/enclave"  # port 1: nothing listens there

    with pytest.raises(DatabaseUnavailable) as failure:
        open_database(load_settings(data_dir=tmp_path, database_url=url, _env_file=None))

    message = str(failure.value)
    assert "127.0.0.1:1/enclave" in message and "ENCLAVE_DATABASE_URL" in message
    assert "s3cret-pw" not in message and "\n" not in message


@pytest.mark.parametrize("url", ["not a url", "mysql://enclave@localhost/enclave"])
def test_a_url_enclave_cannot_use_is_a_settings_error(tmp_path, url):
    with pytest.raises(SettingsError, match="ENCLAVE_DATABASE_URL"):
        open_database(load_settings(data_dir=tmp_path, database_url=url, _env_file=None))


def test_a_data_folder_that_cannot_be_made_is_one_line_naming_the_setting(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")

    with pytest.raises(DatabaseUnavailable, match="cannot create the folder of the database .*ENCLAVE_DATA_DIR"):
        open_database(load_settings(data_dir=tmp_path / "a-file" / "data", _env_file=None))


def test_a_statement_the_database_refuses_is_a_bug_report_not_an_outage(database):
    from ingest import DatabaseUnavailable, IngestError

    with pytest.raises(IngestError, match="no.*table|does not exist") as failure:
        with database.writing("read a table that does not exist") as connection:
            connection.execute(text("SELECT * FROM missing"))

    assert not isinstance(failure.value, DatabaseUnavailable) and "a bug in Enclave" in str(failure.value)


def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_the_database_is_busy(tmp_path, monkeypatch):
    """Another process holding SQLite's write lock for longer than a writer waits (BUSY_SECONDS, shortened here)."""
    from ingest.database import engine

    monkeypatch.setattr(engine, "BUSY_SECONDS", 0)
    settings = load_settings(data_dir=tmp_path, _env_file=None)
    holder, waiter = open_database(settings), open_database(settings)
    try:
        with holder.writing("hold the write lock"):
            with pytest.raises(DatabaseUnavailable, match="record stored documents.*database is locked"):
                with waiter.writing("record stored documents"):
                    pass
    finally:
        holder.close()
        waiter.close()
