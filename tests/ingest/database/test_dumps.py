"""A copy of the whole database in one file and that copy put back, on SQLite (sqlite3's backup API) and on a real
PostgreSQL (pg_dump and pg_restore): what was there when the copy was taken is what there is after it is put back."""

from __future__ import annotations

import sqlite3

from ingest import DocumentRecord, load_settings, open_database
from ingest.database import database_is_empty, dump_database, restore_database
from ingest.database import database_url as url_of
from ingest.database.dumps import libpq_url
from ingest.store import Registry


def record(name: str) -> DocumentRecord:
    return DocumentRecord(document_id=f"id-{name}", name=name, source=f"/docs/{name}", content_hash=f"sha-{name}",
                          version=1, chunks=3, pages=None, size=1234, groups=("everyone",))


def test_a_dump_put_back_brings_back_the_rows_of_its_moment_and_only_those(ingest_database, tmp_path):
    registry = Registry(ingest_database)
    registry.commit(record("memo.pdf"), record("report.pdf"))
    url = ingest_database.engine.url
    dump = tmp_path / "database.dump"

    dump_database(url, dump)
    registry.delete("id-memo.pdf")
    registry.commit(record("later.pdf"))  # written after the copy: gone once it is put back
    restore_database(url, dump)

    assert [r.name for r in registry.all()] == ["memo.pdf", "report.pdf"]


def test_a_dump_restores_into_an_empty_database(ingest_database, tmp_path, database_url):
    Registry(ingest_database).commit(record("memo.pdf"))
    dump = tmp_path / "database.dump"
    dump_database(ingest_database.engine.url, dump)
    if database_url is None:
        target = load_settings(data_dir=tmp_path / "new", _env_file=None)
    else:  # the same server, a new database
        target = load_settings(data_dir=tmp_path / "new", database_url=_new_database(ingest_database), _env_file=None)
    assert database_is_empty(url_of(target))

    restore_database(url_of(target), dump)

    restored = open_database(target)
    try:
        assert [r.name for r in Registry(restored).all()] == ["memo.pdf"]
    finally:
        restored.close()


def test_a_sqlite_dump_is_one_file_that_reading_leaves_as_it_is(ingest_database, tmp_path, database_url):
    if database_url is not None:
        return  # SQLite only: PostgreSQL's dump is pg_dump's own format
    dump = tmp_path / "backup" / "database.sqlite"
    dump.parent.mkdir()
    dump_database(ingest_database.engine.url, dump)

    restore_database(ingest_database.engine.url, dump)

    assert sorted(p.name for p in dump.parent.iterdir()) == ["database.sqlite"]  # no -wal or -shm beside it
    with sqlite3.connect(dump) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_the_password_goes_to_libpq_in_its_environment_not_on_the_command_line():
    from sqlalchemy import make_url

    plain, secret = libpq_url(make_url("postgresql+psycopg://enclave:s3cret@db.example:5432/enclave"))

    assert plain == "postgresql://enclave@db.example:5432/enclave"
    assert secret == {"PGPASSWORD": "s3cret"}


def _new_database(database) -> str:
    import uuid

    from sqlalchemy import text

    name = f"t_{uuid.uuid4().hex[:16]}"
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return database.engine.url.set(database=name).render_as_string(hide_password=False)
