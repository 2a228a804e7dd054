"""A full disk: ingestion stops with a clear error before anything is written (the embedded store's memory-mapped
files turn a write the disk cannot hold into SIGBUS), what is stored stays in agreement with the registry, and a
rerun after space is freed stores the rest. On real small filesystems the tests mount (tests/small_disks.py): ext4 on
a loop device, and a tmpfs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.disk_space import MB, RESERVE_BYTES, bytes_for_chunks, ensure_free_space, free_bytes
from ingest.errors import DiskFull
from ingest.models import SearchFilter
from ingest.settings import load_settings
from shared_data import DOCS
from small_disks import fill

ENCLAVE = str(Path(sys.executable).with_name("enclave"))


def notes(folder: Path, count: int = 12) -> Path:
    """Notes of ~15 chunks each: together far more than 1 MB of store."""
    folder.mkdir()
    for i in range(count):
        (folder / f"note-{i:02d}.txt").write_text(f"Note {i}. " + "The warehouse shipped pallets of goods. " * 300)
    return folder


def enclave(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(data))
    return subprocess.run([ENCLAVE, *args], env=env, capture_output=True, text=True, timeout=900)


def ingest_here(shared_models, data: Path, *paths: Path) -> list:
    """Ingest in this process, where the disk has room: what must not crash on a full one runs as `enclave`."""
    ingestor = shared_models.ingestor(load_settings(data_dir=data, _env_file=None))
    try:
        return ingestor.ingest(paths)
    finally:
        ingestor.close()


def assert_store_agrees_with_registry(shared_models, data: Path) -> list:
    parts = shared_models.components(load_settings(data_dir=data, _env_file=None))
    try:
        documents = parts.documents()
        assert parts.registry.pending() == []
        for record in documents:
            assert parts.store.count(SearchFilter(document_ids=(record.document_id,))) == record.chunks
        assert parts.store.count() == sum(d.chunks for d in documents)
        return documents
    finally:
        parts.close()


def test_ingesting_onto_a_full_disk_fails_each_file_clearly_and_a_rerun_stores_them(small_disk, tmp_path,
                                                                                   shared_models):
    data = small_disk / "data"
    assert [r.status for r in ingest_here(shared_models, data, DOCS / "memo-supply-delivery.pdf")] == ["added"]
    ballast = fill(small_disk, leave=RESERVE_BYTES + 1 * MB)  # room for the reserve and 1 MB: not for the notes
    folder = notes(tmp_path / "notes")

    full = enclave("ingest", str(folder), "--json", data=data)

    assert full.returncode == 1, full.stderr  # some files failed; not 135 (SIGBUS) or 2
    results = json.loads(full.stdout)
    assert len(results) == 12 and {r["status"] for r in results} == {"failed"}
    reason = results[0]["reason"]
    assert reason.startswith("disk full: ") and "MB free under ENCLAVE_DATA_DIR" in reason and "MB needed" in reason
    assert f"{Path(results[0]['path']).name}: disk full" in full.stderr  # each file named on its failure line
    assert [d.name for d in assert_store_agrees_with_registry(shared_models, data)] == ["memo-supply-delivery.pdf"]

    ballast.unlink()
    rerun = ingest_here(shared_models, data, folder)

    assert [r.status for r in rerun] == ["added"] * 12, rerun
    assert len(assert_store_agrees_with_registry(shared_models, data)) == 13


def test_a_command_on_a_disk_too_full_to_open_the_store_says_so_instead_of_crashing(small_disk, shared_models):
    data = small_disk / "data"
    assert [r.status for r in ingest_here(shared_models, data, DOCS / "memo-supply-delivery.pdf")] == ["added"]
    fill(small_disk, leave=4 * MB)

    search = enclave("search", "bottles of water", data=data)

    assert search.returncode == 2  # could not do the work at all: one line saying why
    assert "disk full: 4 MB free under ENCLAVE_DATA_DIR" in search.stderr


def test_a_full_disk_mid_run_stops_before_the_batch_that_does_not_fit(small_disk, tmp_path, monkeypatch,
                                                                     shared_models):
    from ingest.pipeline import writer

    monkeypatch.setattr(writer, "_UPSERT_BATCH", 16)  # batches of one note or two: the disk fills between them
    data = small_disk / "data"
    ingestor = shared_models.ingestor(load_settings(data_dir=data, parse_workers=1, embedding_batch_size=16,
                                           _env_file=None))
    try:
        folder = notes(tmp_path / "notes")
        # Room for about four batches of 16 chunks (with the jobs log's writes): the twelve notes need about 14.
        batch = bytes_for_chunks(["x" * 1200] * 16, ingestor.embedder.dimension)
        fill(small_disk, leave=RESERVE_BYTES + 4 * batch)

        results = ingestor.ingest([folder])

        statuses = [r.status for r in results]
        assert "added" in statuses and "failed" in statuses
        assert all(r.reason.startswith("disk full: ") for r in results if r.status == "failed")
    finally:
        ingestor.close()
    stored = {d.name for d in assert_store_agrees_with_registry(shared_models, data)}
    assert stored == {Path(r.path).name for r in results if r.status == "added"}


def test_on_a_small_ram_filesystem_the_store_s_mapped_files_are_counted_instead_of_crashing(ram_disk, tmp_path):
    # Opening a store maps ~46 MB of it whole, which a tmpfs must hold in memory: 48 MB cannot take it and the
    # reserve. Counted, that is a refusal with its reason; uncounted, the next command dies with SIGBUS.
    data = ram_disk / "data"

    ingest = enclave("ingest", str(notes(tmp_path / "notes")), "--json", data=data)
    search = enclave("search", "pallets of goods", data=data)

    assert ingest.returncode == 1, ingest.stderr
    assert {r["status"] for r in json.loads(ingest.stdout)} == {"failed"}
    assert "on a RAM filesystem the store's memory-mapped files take their full size" in ingest.stderr
    assert search.returncode == 2, search.stderr  # one line saying why, not 135
    assert "disk full: " in search.stderr


def test_free_space_is_read_from_the_nearest_existing_folder(tmp_path):
    assert free_bytes(tmp_path / "not" / "yet" / "made") == free_bytes(tmp_path)


def test_the_error_names_what_is_free_and_what_is_needed(tmp_path):
    needed = free_bytes(tmp_path) + 5 * MB

    with pytest.raises(DiskFull, match=r"^disk full: \d+ MB free under ENCLAVE_DATA_DIR .* about \d+ MB needed"):
        ensure_free_space(tmp_path, needed)


def test_the_estimate_grows_with_the_text_and_covers_both_copies_of_each_vector():
    short, long = bytes_for_chunks(["a"] * 100, 384), bytes_for_chunks(["a" * 1000] * 100, 384)

    assert short >= 100 * 2 * 4 * 384  # each vector is in the segment and in the write-ahead log
    assert long - short >= 100 * 2 * 999
