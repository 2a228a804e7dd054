"""A data folder of the versions before the database is imported into it, not lost, on SQLite and PostgreSQL.

The folder is tests/data/legacy-data-folder.tar.gz: two real files from ../shared/data/docs ingested by the code
before the database (tests/data/build_legacy_data_folder.py says how, and which commit): its registry
`enclave.sqlite3` and log `jobs.sqlite3` beside the embedded store holding the documents' chunks. It is checked in as
an archive, not as a folder, because the store preallocates its files: 184 MB, nearly all holes, which git would
check out at full size; the archive keeps the holes and weighs 0.7 MB. Each test unpacks its own copy.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tarfile
from contextlib import closing
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from databases import run_together
from ingest import IngestError, SearchFilter, load_settings, open_database
from ingest.database import import_legacy_files, legacy, tables
from ingest.pipeline.jobs import JobLog
from ingest.store import Registry

ARCHIVE = Path(__file__).resolve().parents[2] / "data" / "legacy-data-folder.tar.gz"
OLD_FILES = ("enclave.sqlite3", "jobs.sqlite3")


@pytest.fixture
def old_folder(tmp_path) -> Path:
    """A data folder written by the code before the database, with the store's holes kept (fast to unpack)."""
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(tmp_path / "data", filter="data")
    return tmp_path / "data"


def old_documents(folder: Path) -> dict[str, tuple[str, tuple[str, ...], int]]:
    """What the old registry holds: {document id: (name, groups, chunks)}."""
    with closing(sqlite3.connect(folder / "enclave.sqlite3")) as db:
        rows = db.execute("SELECT document_id, name, groups_json, chunks FROM documents").fetchall()
    return {i: (name, tuple(json.loads(groups)), chunks) for i, name, groups, chunks in rows}


def test_every_document_of_an_old_folder_stays_listed_searchable_and_stored(old_folder, database_url, shared_models,
                                                                           caplog):
    """Opened as `enclave ingest` and the writing app open it: the import, then repair. Without the import the
    registry would vouch for none of the chunks in the store."""
    before = old_documents(old_folder)
    assert len(before) == 2
    settings = load_settings(data_dir=old_folder, database_url=database_url, _env_file=None)

    with caplog.at_level(logging.WARNING, logger=legacy.__name__):
        ingestor = shared_models.ingestor(settings)
    try:
        listed = {d.document_id: (d.name, d.groups, d.chunks) for d in ingestor.documents()}
        assert listed == before
        for document_id, (_, _, chunks) in before.items():
            assert ingestor.store.count(SearchFilter(document_ids=(document_id,))) == chunks
        assert ingestor.store.count() == sum(chunks for _, _, chunks in before.values())
        assert top_document(ingestor, "Iwan Roberts, Norwich City striker") == "norwich-city-iwan-roberts.txt"
        assert top_document(ingestor, "install the unstructured library with pip") == "unstructured-readme.md"
        latest = ingestor.jobs.latest()
        assert latest.user == "bob" and [(f.name, f.status) for f in latest.files] == [
            ("unstructured-readme.md", "added")]
        assert ingestor.registry.pending() == []
    finally:
        ingestor.close()

    for name in OLD_FILES:
        assert not (old_folder / name).exists() and (old_folder / f"{name}.imported").is_file()
    assert sum("kept as" in r.getMessage() for r in caplog.records) == 2


def top_document(ingestor, question: str) -> str:
    hits = ingestor.store.search(ingestor.embedder.embed_query(question), ingestor.sparse.encode_query(question),
                                 limit=1)
    return hits[0].chunk.document_name


def test_an_import_whose_files_were_not_set_aside_never_runs_again(old_folder, ingest_database, monkeypatch):
    """A crash between the import's commit and the renames: the files are still there at the next open."""
    monkeypatch.setattr(legacy, "_set_aside", lambda path: None)
    first = import_legacy_files(ingest_database, old_folder)
    assert [(i.file, i.kept_as) for i in first] == [("enclave.sqlite3", None), ("jobs.sqlite3", None)]
    registry = Registry(ingest_database)
    removed = registry.all()[0]
    registry.delete(removed.document_id)  # a change made after the import
    monkeypatch.undo()

    again = import_legacy_files(ingest_database, old_folder)

    assert again == []  # nothing imported a second time: the removed document stays removed
    assert removed.document_id not in {r.document_id for r in registry.all()} and len(registry.all()) == 1
    for name in OLD_FILES:
        assert not (old_folder / name).exists() and (old_folder / f"{name}.imported").is_file()


def test_a_write_the_old_registry_had_under_way_is_still_pending_for_repair(old_folder, ingest_database):
    with closing(sqlite3.connect(old_folder / "enclave.sqlite3")) as db, db:  # closed, after a commit
        [document_id] = db.execute("SELECT document_id FROM documents WHERE name = 'unstructured-readme.md'").fetchone()
        db.execute("INSERT INTO pending (document_id) VALUES (?)", (document_id,))

    import_legacy_files(ingest_database, old_folder)

    assert Registry(ingest_database).pending() == [document_id]


def test_batches_logged_after_the_import_come_after_the_imported_ones(old_folder, ingest_database):
    import_legacy_files(ingest_database, old_folder)
    log = JobLog(ingest_database)
    assert log.latest().user == "bob"

    batch = log.start("carol", ["/new.txt"])

    assert log.latest().batch_id == batch


def test_two_processes_opening_an_old_folder_at_once_import_it_once(old_folder, ingest_database, database_url,
                                                                    tmp_path):
    """The app and `enclave ingest` started together, each with an engine of its own."""
    other = open_database(load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))
    try:
        results = run_together(*(partial(import_legacy_files, db, old_folder) for db in (ingest_database, other)))
    finally:
        other.close()

    assert sorted(i.file for done in results for i in done) == sorted(OLD_FILES)
    with ingest_database.reading("count") as connection:
        assert connection.execute(select(func.count()).select_from(tables.documents)).scalar() == 2
        assert connection.execute(select(func.count()).select_from(tables.legacy_imports)).scalar() == 2


def test_a_folder_without_old_files_imports_nothing(tmp_path, ingest_database):
    assert import_legacy_files(ingest_database, tmp_path) == []
    with ingest_database.reading("count") as connection:
        assert connection.execute(select(func.count()).select_from(tables.legacy_imports)).scalar() == 0


def test_an_unreadable_old_file_stops_the_open_saying_what_to_do_and_imports_nothing(old_folder, ingest_database):
    (old_folder / "enclave.sqlite3").write_bytes(b"not a database, whatever it once was" * 100)

    with pytest.raises(IngestError, match="Restore it from a backup, or move it out of the data folder"):
        import_legacy_files(ingest_database, old_folder)

    assert (old_folder / "enclave.sqlite3").is_file() and (old_folder / "jobs.sqlite3").is_file()
    with ingest_database.reading("count") as connection:
        assert connection.execute(select(func.count()).select_from(tables.batches)).scalar() == 0


def test_setting_a_file_aside_never_overwrites_an_earlier_backup(old_folder, ingest_database):
    (old_folder / "jobs.sqlite3.imported").write_text("an earlier backup")

    import_legacy_files(ingest_database, old_folder)

    assert (old_folder / "jobs.sqlite3.imported").read_text() == "an earlier backup"
    assert (old_folder / "jobs.sqlite3.imported.2").is_file()
