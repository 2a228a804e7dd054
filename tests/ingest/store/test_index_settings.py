"""ENCLAVE_STORE_*: how the embedded store builds its index. Unset, Edge's defaults; set, fixed when the store is
created, refused (untouched) for a store built otherwise; the indexing threshold alone applies to an existing store."""

from __future__ import annotations

import pytest

from ingest.encoders.sparse import SparseEncoder
from ingest.errors import SettingsError
from ingest.models import Chunk, SearchFilter, StoredChunk
from ingest.settings import load_settings
from ingest.store import EDGE_DEFAULTS, EdgeStore, IndexSettings, open_store

TEXTS = [
    ("handbook", "Employees may carry over up to five days of unused vacation into the next calendar year.", ("hr",)),
    ("handbook", "Expense claims must be filed within 30 days with the original receipts attached.", ("hr",)),
    ("pump", "Replace the seals of pump XR-7734 every 2,000 running hours.", ("ops",)),
    ("pump", "Before servicing any pump, isolate the power supply.", ("ops",)),
    ("board", "The board approved the merger agreement subject to regulatory review.", ("legal",)),
]
TUNED = IndexSettings(hnsw_m=8, hnsw_ef_construct=32, quantization="int8", on_disk_vectors=True,
                      on_disk_payload=False, indexing_threshold_kb=1)  # 1 KB: optimize() indexes even these few


@pytest.fixture(scope="module")
def points(embedder) -> list[StoredChunk]:
    texts = [text for _, text, _ in TEXTS]
    sparse = SparseEncoder().encode_documents(texts, language="en")
    dense = embedder.embed_documents(texts)
    return [
        StoredChunk(Chunk(chunk_id=f"{doc}:{i}", document_id=doc, index=i, text=text, document_name=f"{doc}.txt",
                          title=doc, groups=groups), dense[i], sparse[i])
        for i, (doc, text, groups) in enumerate(TEXTS)
    ]  # fmt: skip


def hr_hits(store: EdgeStore, points: list[StoredChunk]) -> list[str]:
    query = points[0]
    hits = store.search(query.dense, query.sparse, 3, SearchFilter(groups=("hr",)))
    return [hit.chunk.chunk_id for hit in hits]


def test_a_store_built_with_every_index_setting_searches_and_reopens(tmp_path, embedder, points):
    store = EdgeStore(tmp_path / "edge", embedder.dimension, index=TUNED)
    store.upsert(points)
    assert store.optimize() is True  # the 1 KB threshold: HNSW and its int8 copy were built
    before = hr_hits(store, points)
    store.close()

    reopened = EdgeStore(tmp_path / "edge", embedder.dimension, index=TUNED)
    try:
        assert before == ["handbook:0", "handbook:1"]
        assert hr_hits(reopened, points) == before
        assert reopened.count() == len(points)
        assert reopened.optimize() is False  # nothing to rebuild: opened as it was built
    finally:
        reopened.close()


def test_other_build_settings_for_an_existing_store_are_refused_and_leave_it_as_it_was(tmp_path, embedder, points):
    store = EdgeStore(tmp_path / "edge", embedder.dimension)
    store.upsert(points)
    store.close()
    files_before = sorted(p.name for p in (tmp_path / "edge").iterdir())
    config_before = (tmp_path / "edge" / "edge_config.json").read_bytes()

    with pytest.raises(SettingsError) as refused:
        EdgeStore(tmp_path / "edge", embedder.dimension, index=IndexSettings(hnsw_m=32, quantization="int8"))

    message = str(refused.value)
    assert "ENCLAVE_STORE_HNSW_M=32 (the store has 16)" in message
    assert "ENCLAVE_STORE_QUANTIZATION=int8 (the store has none)" in message
    assert "ENCLAVE_COLLECTION" in message
    assert (tmp_path / "edge" / "edge_config.json").read_bytes() == config_before
    assert sorted(p.name for p in (tmp_path / "edge").iterdir()) == files_before
    again = EdgeStore(tmp_path / "edge", embedder.dimension)  # the refusal let go of the folder's lock
    try:
        assert again.count() == len(points)
    finally:
        again.close()


def test_unset_settings_open_a_store_as_it_was_built(tmp_path, embedder, points):
    EdgeStore(tmp_path / "edge", embedder.dimension, index=TUNED).close()

    store = EdgeStore(tmp_path / "edge", embedder.dimension)
    try:
        store.upsert(points)
        assert hr_hits(store, points) == ["handbook:0", "handbook:1"]
    finally:
        store.close()
    EdgeStore(tmp_path / "edge", embedder.dimension, index=TUNED).close()  # still built as TUNED says


def test_the_indexing_threshold_applies_to_an_existing_store(tmp_path, embedder, points):
    store = EdgeStore(tmp_path / "edge", embedder.dimension)
    store.upsert(points)
    assert store.optimize() is False  # 5 vectors are far below Edge's 10,000 KB
    store.close()

    store = EdgeStore(tmp_path / "edge", embedder.dimension, index=IndexSettings(indexing_threshold_kb=1))
    try:
        assert store.optimize() is True
        assert hr_hits(store, points) == ["handbook:0", "handbook:1"]
    finally:
        store.close()


def test_open_store_passes_the_store_settings_to_the_embedded_store(tmp_path):
    built = load_settings(data_dir=tmp_path, store_quantization="int8", store_hnsw_m=8, _env_file=None)
    open_store(built, 8).close()

    open_store(load_settings(data_dir=tmp_path, _env_file=None), 8).close()
    with pytest.raises(SettingsError, match="ENCLAVE_STORE_QUANTIZATION=none .the store has int8."):
        open_store(load_settings(data_dir=tmp_path, store_quantization="none", _env_file=None), 8)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ENCLAVE_STORE_QUANTIZATION", "int4"), ("ENCLAVE_STORE_HNSW_M", "lots"), ("ENCLAVE_STORE_HNSW_M", "2"),
     ("ENCLAVE_STORE_HNSW_EF_CONSTRUCT", "0"), ("ENCLAVE_STORE_ON_DISK_PAYLOAD", "maybe"),
     ("ENCLAVE_STORE_ON_DISK_VECTORS", "sometimes"), ("ENCLAVE_STORE_INDEXING_THRESHOLD_KB", "-1")],
)
def test_a_bad_store_setting_is_a_settings_error_naming_it(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=f"bad setting: {variable}:"):
        load_settings(_env_file=None)


def test_a_store_opened_with_nothing_set_is_built_with_the_documented_edge_defaults(tmp_path):
    open_store(load_settings(data_dir=tmp_path, _env_file=None), 8).close()
    documented = {name: value for name, value in EDGE_DEFAULTS.items() if name != "indexing_threshold_kb"}

    EdgeStore(tmp_path / "qdrant" / "enclave", 8, index=IndexSettings(**documented)).close()  # not refused
