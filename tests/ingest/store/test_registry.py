"""The document registry on the database, SQLite and PostgreSQL alike: what it records reads back exactly, and the
write protocol repair relies on (begin → commit → finish) holds with several writers at once."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
from sqlalchemy import create_engine

from databases import run_together
from ingest import DatabaseUnavailable, DocumentRecord, load_settings, open_database
from ingest.database import Database, tables
from ingest.store import Registry


def record(name: str, source: str | None = None, **fields) -> DocumentRecord:
    values = dict(
        document_id=f"id-{name}", name=name, source=source or f"/docs/{name}", content_hash=f"sha-{name}",
        version=1, chunks=3, pages=None, size=1234, groups=("everyone",), ingested_at="2026-12-05T10:00:00+00:00",
        ingested_by="alice", title="", language=None,
    )
    values.update(fields)
    return DocumentRecord(**values)


@pytest.fixture
def registry(ingest_database) -> Registry:
    return Registry(ingest_database)


def test_a_committed_record_reads_back_exactly(registry):
    memo = record("memo.pdf", pages=2, size=5 * 2**30, groups=("hr", "legal"), title="Supply memo", language="en")

    registry.commit(memo)

    assert registry.get(memo.document_id) == memo  # 5 GB: past a 32-bit integer, as ENCLAVE_MAX_FILE_MB allows
    assert registry.get("id-unknown") is None


def test_committing_a_document_again_replaces_its_record_and_the_last_given_wins(registry):
    first = record("policy.txt")
    registry.commit(first)

    registry.commit(replace(first, version=2, chunks=5), replace(first, version=3, chunks=7))

    assert registry.all() == [replace(first, version=3, chunks=7)]


def test_find_matches_the_id_the_file_name_or_the_source_path(registry):
    a, b = record("a.txt", "/docs/a.txt"), record("b.txt", "/other/b.txt")
    registry.commit(a, b)

    assert registry.find("id-a.txt") == registry.find("a.txt") == registry.find("/docs/a.txt") == [a]
    assert registry.find("/docs/b.txt") == []


def test_documents_are_listed_by_name_ignoring_case(registry):
    registry.commit(record("beta.txt"), record("Alpha.pdf"), record("alpha.txt"), record("Zeta.doc"))

    assert [r.name for r in registry.all()] == ["Alpha.pdf", "alpha.txt", "beta.txt", "Zeta.doc"]


def test_under_lists_the_documents_from_a_folder_and_its_subfolders_only(registry):
    registry.commit(record("a.txt", "/docs/a.txt"), record("b.txt", "/docs2/b.txt"), record("c.txt", "/docs/sub/c.txt"))

    assert [r.name for r in registry.under("/docs/")] == ["a.txt", "c.txt"]


def test_a_document_stays_pending_from_begin_until_finish_whatever_is_committed(registry):
    memo = record("memo.pdf")

    registry.begin(memo.document_id, memo.document_id)  # marking twice is marking once
    registry.commit(memo)
    assert registry.pending() == [memo.document_id]  # stored, but the store may still hold an older version

    registry.finish(memo.document_id)
    assert registry.pending() == [] and registry.get(memo.document_id) == memo


def test_set_groups_changes_only_the_groups_of_that_document(registry):
    memo, other = record("memo.pdf", groups=("hr",)), record("other.txt", groups=("hr",))
    registry.commit(memo, other)

    assert registry.set_groups(memo.document_id, ("finance", "legal")) is True

    assert registry.get(memo.document_id) == replace(memo, groups=("finance", "legal"))
    assert registry.get(other.document_id) == other
    assert registry.set_groups(memo.document_id, ()) is True and registry.get(memo.document_id).groups == ()
    assert registry.set_groups("id-unknown", ("hr",)) is False and registry.get("id-unknown") is None


def test_only_one_of_two_writers_claiming_a_document_at_once_gets_it(ingest_database, database_url, tmp_path):
    other = open_database(load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))
    try:
        first, second = Registry(ingest_database), Registry(other)
        won = run_together(partial(first.claim, "id-memo"), partial(second.claim, "id-memo"))
        assert sorted(won) == [False, True] and first.pending() == ["id-memo"]

        first.finish("id-memo")
        assert second.claim("id-memo") is True  # free again once finished
    finally:
        other.close()


def test_delete_removes_the_record_only(registry):
    memo, other = record("memo.pdf"), record("other.txt")
    registry.commit(memo, other)
    registry.begin(memo.document_id)

    registry.delete(memo.document_id)

    assert registry.all() == [other] and registry.pending() == [memo.document_id]


def test_two_processes_writing_at_once_lose_nothing(ingest_database, database_url, tmp_path):
    """The app and `enclave ingest` each have an engine (a pool) of their own; each has two threads writing."""
    other = open_database(load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))
    registries = [Registry(ingest_database), Registry(other)]

    def write(registry: Registry, writer: int) -> None:
        for n in range(25):
            document = record(f"w{writer}-{n:02d}.txt")
            registry.begin(document.document_id)
            registry.commit(document)
            registry.finish(document.document_id)

    try:
        run_together(*(partial(write, registries[n % 2], n) for n in range(4)))
    finally:
        other.close()

    assert len(registries[0].all()) == 100 and registries[0].pending() == []


def test_a_reader_does_not_wait_for_a_writer(registry, ingest_database):
    """The page listing documents while a batch is being committed (on SQLite a writer holds the only write lock)."""
    registry.commit(record("memo.pdf"))

    with ingest_database.writing("hold the write lock") as connection:
        connection.execute(ingest_database.insert(tables.pending).values(document_id="x"))
        assert [r.name for r in registry.all()] == ["memo.pdf"]
        assert registry.pending() == []  # the writer's row is not committed yet


def test_an_unreachable_database_is_one_line_saying_what_to_check(tmp_path):
    down = Database(create_engine("postgresql+psycopg://enclave:s3cret-pw@127.0.0.1:1/enclave"))  # nothing listens
    try:
        with pytest.raises(DatabaseUnavailable) as failure:
            Registry(down).all()
    finally:
        down.close()

    message = str(failure.value)
    assert "read the document registry" in message and "ENCLAVE_DATABASE_URL" in message
    assert "s3cret-pw" not in message and "\n" not in message
