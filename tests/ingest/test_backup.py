"""Backing up an Enclave into a folder and restoring it: what comes back is what was there at the backup, a backup is
checked whole before anything changes, and what would be lost is refused rather than replaced.

The full round trip through the command line (search results, documents, accounts, audit trail) is in
tests/ui/commands/test_backup.py."""

from __future__ import annotations

import json
import shutil

import pytest

from ingest import (
    BackupDamaged,
    BackupRefused,
    DatabaseUnavailable,
    DocumentRecord,
    IngestError,
    StoreBusy,
    back_up,
    load_settings,
    open_database,
    restore_backup,
    verify_backup,
)
from ingest import INGEST_TABLES, upgrade_tree
from ingest.store import Registry, holding_store_folder
from shared_data import DOCS


def record(name: str, source: str | None = None) -> DocumentRecord:
    return DocumentRecord(document_id=f"id-{name}", name=name, source=source or f"/docs/{name}",
                          content_hash=f"sha-{name}", version=1, chunks=3, pages=None, size=1234, groups=("everyone",))


def registered(settings, *records: DocumentRecord) -> list[str]:
    """Commit these records (if any) to the settings' registry; the names it holds after."""
    database = open_database(settings)
    try:
        upgrade_tree(database, INGEST_TABLES)
        registry = Registry(database)
        registry.commit(*records)
        return [r.name for r in registry.all()]
    finally:
        database.close()


@pytest.fixture
def settings(tmp_path, database_url):
    return load_settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)


def test_a_restore_over_a_changed_enclave_brings_back_what_the_backup_held(settings, tmp_path):
    registered(settings, record("memo.pdf"))
    (settings.originals_dir / "team").mkdir(parents=True)
    (settings.originals_dir / "team" / "upload.txt").write_text("kept upload")
    back_up(settings, tmp_path / "backup")
    registered(settings, record("later.pdf"))
    shutil.rmtree(settings.originals_dir)

    restore_backup(settings, tmp_path / "backup", force=True)

    assert registered(settings) == ["memo.pdf"]
    assert (settings.originals_dir / "team" / "upload.txt").read_text() == "kept upload"


def test_a_restore_over_an_enclave_that_holds_anything_is_refused_without_force(settings, tmp_path):
    registered(settings, record("memo.pdf"))
    back_up(settings, tmp_path / "backup")
    registered(settings, record("later.pdf"))

    with pytest.raises(BackupRefused, match="--force"):
        restore_backup(settings, tmp_path / "backup")

    assert registered(settings) == ["later.pdf", "memo.pdf"]


def test_a_file_that_does_not_match_its_checksum_is_named_and_nothing_is_restored(tmp_path):
    source = load_settings(data_dir=tmp_path / "data", _env_file=None)
    registered(source, record("memo.pdf"))
    (source.originals_dir).mkdir()
    (source.originals_dir / "upload.txt").write_text("kept upload")
    back_up(source, tmp_path / "backup")
    damaged = tmp_path / "backup" / "originals" / "upload.txt"
    damaged.write_text("kept uploaD")  # the same size: only the checksum tells
    target = load_settings(data_dir=tmp_path / "new", _env_file=None)

    with pytest.raises(BackupDamaged, match=str(damaged)):
        restore_backup(target, tmp_path / "backup")

    assert not (tmp_path / "new" / "enclave.db").exists()
    assert not target.originals_dir.exists()


def test_a_missing_file_is_named(tmp_path):
    source = load_settings(data_dir=tmp_path / "data", _env_file=None)
    registered(source, record("memo.pdf"))
    back_up(source, tmp_path / "backup")
    (tmp_path / "backup" / "database.sqlite").unlink()

    with pytest.raises(BackupDamaged, match="database.sqlite is missing"):
        verify_backup(tmp_path / "backup")


def test_a_manifest_naming_a_file_outside_the_backup_is_refused(tmp_path):
    back_up(load_settings(data_dir=tmp_path / "data", _env_file=None), tmp_path / "backup")
    manifest = tmp_path / "backup" / "manifest.json"
    edited = json.loads(manifest.read_text())
    edited["files"]["store/../../../elsewhere.txt"] = {"sha256": "0" * 64, "size": 0}
    manifest.write_text(json.dumps(edited))

    with pytest.raises(BackupDamaged, match="outside the backup"):
        verify_backup(tmp_path / "backup")


def test_a_backup_without_its_manifest_is_refused_as_unfinished(tmp_path):
    source = load_settings(data_dir=tmp_path / "data", _env_file=None)
    back_up(source, tmp_path / "backup")
    (tmp_path / "backup" / "manifest.json").unlink()

    with pytest.raises(BackupDamaged, match="manifest.json is missing"):
        restore_backup(load_settings(data_dir=tmp_path / "new", _env_file=None), tmp_path / "backup")


def test_a_backup_into_a_folder_that_holds_files_is_refused(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "older.txt").write_text("an older backup's file")

    with pytest.raises(BackupRefused, match="not an empty folder"):
        back_up(load_settings(data_dir=tmp_path / "data", _env_file=None), tmp_path / "backup")


def test_a_backup_while_another_process_holds_the_store_is_busy_and_writes_nothing(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", _env_file=None)

    with holding_store_folder(settings.qdrant_path / settings.collection):  # as the running app does
        with pytest.raises(StoreBusy):
            back_up(settings, tmp_path / "backup")

    assert not (tmp_path / "backup").exists()


def test_a_backup_that_fails_halfway_leaves_nothing_behind(tmp_path):
    unreachable = "postgresql://enclave:pw@127.0.0.1:1/enclave"  # port 1: nothing listens there
    settings = load_settings(data_dir=tmp_path / "data", database_url=unreachable, _env_file=None)
    (tmp_path / "empty").mkdir()

    for folder in (tmp_path / "new", tmp_path / "empty"):
        with pytest.raises(DatabaseUnavailable, match="pg_dump failed"):
            back_up(settings, folder)

    assert not (tmp_path / "new").exists()
    assert list((tmp_path / "empty").iterdir()) == []  # the folder it was given stays, empty


def test_a_restore_that_cannot_finish_says_the_enclave_is_partly_restored_and_to_run_it_again(tmp_path):
    outside = tmp_path / "shared" / "memo.txt"
    outside.parent.mkdir()
    outside.write_text("a memo kept outside the data folder")
    source = load_settings(data_dir=tmp_path / "data", _env_file=None)
    registered(source, record("memo.txt", source=str(outside)))
    back_up(source, tmp_path / "backup")
    shutil.rmtree(outside.parent)
    outside.parent.write_text("a file where its folder was: the memo cannot be put back")

    with pytest.raises(IngestError, match="partly restored") as failure:
        restore_backup(load_settings(data_dir=tmp_path / "new", _env_file=None), tmp_path / "backup")

    assert f"enclave restore {tmp_path / 'backup'} --force" in str(failure.value)


def test_a_backup_of_another_kind_of_database_is_refused(tmp_path, postgres_database):
    back_up(load_settings(data_dir=tmp_path / "data", _env_file=None), tmp_path / "backup")
    target = load_settings(data_dir=tmp_path / "new", database_url=postgres_database, _env_file=None)

    with pytest.raises(BackupRefused, match="sqlite database"):
        restore_backup(target, tmp_path / "backup")


def test_uploads_restored_elsewhere_point_at_their_new_place_and_outside_files_come_back(tmp_path, shared_models):
    source = load_settings(data_dir=tmp_path / "data", _env_file=None)
    source.originals_dir.mkdir(parents=True)
    upload = shutil.copy(DOCS / "memo-supply-delivery.pdf", source.originals_dir / "memo.pdf")
    outside = tmp_path / "shared" / "norwich-city-iwan-roberts.txt"
    outside.parent.mkdir()
    shutil.copy(DOCS / outside.name, outside)
    ingestor = shared_models.ingestor(source)
    try:
        assert [r.status for r in ingestor.ingest([upload, outside])] == ["added", "added"]
    finally:
        ingestor.close()
    manifest = back_up(source, tmp_path / "backup")
    outside.unlink()  # the shared folder lost it since
    target = load_settings(data_dir=tmp_path / "moved", _env_file=None)

    restore_backup(target, tmp_path / "backup")

    assert manifest.documents == 2 and json.loads((tmp_path / "backup" / "manifest.json").read_text())["external"]
    database = open_database(target)
    try:
        sources = sorted(r.source for r in Registry(database).all())
    finally:
        database.close()
    assert sources == sorted([str((target.originals_dir / "memo.pdf").resolve()), str(outside)])
    assert outside.read_bytes() == (DOCS / outside.name).read_bytes()
    assert (target.originals_dir / "memo.pdf").read_bytes() == (DOCS / "memo-supply-delivery.pdf").read_bytes()
