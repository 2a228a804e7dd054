"""Both store backends pass the same tests: Edge in a temp dir, qdrant-client local mode standing in for a server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest
from qdrant_client import QdrantClient

from ingest.encoders.sparse import SparseEncoder
from ingest.errors import IngestError, SettingsError, StoreBusy, StoreUnavailable
from ingest.models import Chunk, SearchFilter, SparseVector, StoredChunk
from ingest.settings import load_settings
from ingest.store import EdgeStore, QdrantServerStore, Store, open_store

# The identifier appears once, in a chunk about shipping; the chunks about servicing look closer to the query.
CORPUS = [
    ("circulator", "Servicing the circulator unit XR7743: replace its seals every 2,000 running hours and note each "
     "visit in the plant register.", ("ops",)),
    ("circulator", "The XR7374 circulator loses pressure when its inlet filter clogs; technicians clean that filter "
     "weekly.", ("ops",)),
    ("circulator", "Upkeep of the XQ7734 circulating unit: inspect the impeller for wear and grease the bearings "
     "monthly.", ("ops",)),
    ("safety", "Before servicing any circulator, isolate the power supply and open the casing only when it is cold.",
     ("ops",)),
    ("shipping", "Quarterly shipping report: the Lisbon warehouse received 14 pallets, including spare part XR-7734 "
     "for the cooling line.", ("ops",)),
    ("handbook", "Employees may carry over up to five days of unused vacation into the next calendar year.", ("hr",)),
    ("handbook", "Expense claims must be filed within 30 days with the original receipts attached.", ("hr",)),
    ("board", "The board approved the merger agreement subject to regulatory review.", ("legal",)),
    ("reception", "Visitors must sign in at reception and wear a badge at all times.", ("ops",)),
]  # fmt: skip


@dataclass
class Vectors:
    embed: Callable[[str], list[float]]
    dense: list[list[float]]
    sparse: list[SparseVector]
    encoder: SparseEncoder
    dimension: int


@pytest.fixture(scope="module")
def vectors(embedder) -> Vectors:
    encoder = SparseEncoder()
    texts = [text for _, text, _ in CORPUS]
    return Vectors(
        embed=embedder.embed_query,
        dense=embedder.embed_documents(texts),
        sparse=encoder.encode_documents(texts, language="en"),
        encoder=encoder,
        dimension=embedder.dimension,
    )


def corpus_points(vectors: Vectors, version: int = 1) -> list[StoredChunk]:
    points = []
    for i, (doc, text, groups) in enumerate(CORPUS):
        chunk = Chunk(
            chunk_id=f"{doc}:{version}:{i}", document_id=doc, index=i, text=text, document_name=f"{doc}.txt",
            title=doc, version=version, groups=groups,
        )  # fmt: skip
        points.append(StoredChunk(chunk, vectors.dense[i], vectors.sparse[i]))
    return points


Opener = Callable[[int], Store]


@pytest.fixture(params=["edge", "server", "qdrant-server"])
def open_backend(request, tmp_path) -> Opener:
    """Opens the backend on the same storage each call, so a test can close and reopen it. "server" is the server
    store's client on qdrant-client's local mode; "qdrant-server" the same client on a real Qdrant server, when
    ENCLAVE_TEST_QDRANT_URL names one (none can run where Enclave is built: no Docker engine, no package of it)."""
    url = os.environ.get("ENCLAVE_TEST_QDRANT_URL", "")
    if request.param == "qdrant-server" and not url:
        pytest.skip("needs a Qdrant server: set ENCLAVE_TEST_QDRANT_URL")
    collection = f"chunks_{uuid.uuid4().hex[:12]}"
    opened: list[Store] = []

    def open_(dimension: int) -> Store:
        if request.param == "edge":
            store: Store = EdgeStore(tmp_path / "edge", dimension)
        elif request.param == "server":
            store = QdrantServerStore(QdrantClient(path=str(tmp_path / "local")), "chunks", dimension)
        else:
            store = QdrantServerStore(QdrantClient(url=url, timeout=60), collection, dimension)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
    if request.param == "qdrant-server":
        QdrantClient(url=url).delete_collection(collection)


def search_ids(store: Store, vectors: Vectors, query: str, method: str, limit: int, flt=None) -> list[str]:
    hits = store.search(vectors.embed(query), vectors.encoder.encode_query(query), limit, flt, method=method)
    return [hit.chunk.chunk_id for hit in hits]


def test_upserted_chunks_come_back_whole_from_search(open_backend, vectors):
    store = open_backend(vectors.dimension)
    points = corpus_points(vectors)
    store.upsert(points)

    hits = store.search(vectors.dense[5], vectors.sparse[5], 1, with_vectors=True)

    assert store.count() == len(CORPUS)
    assert hits[0].chunk == points[5].chunk
    assert hits[0].dense == pytest.approx(vectors.dense[5], abs=1e-5)


def test_hybrid_finds_an_exact_identifier_that_dense_alone_misses(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    query = "pump XR-7734 maintenance"

    dense = search_ids(store, vectors, query, "dense", 3)
    hybrid = search_ids(store, vectors, query, "hybrid", 1)

    assert "shipping:1:4" not in dense
    assert hybrid == ["shipping:1:4"]


@pytest.mark.parametrize("method", ["hybrid", "dense", "sparse"])
def test_group_filter_applies_inside_the_search_not_after(open_backend, vectors, method):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    query = "vacation days under the agreement"
    assert search_ids(store, vectors, query, method, 1) == ["handbook:1:5"]

    # With limit=1, a filter applied after the search would drop the vacation chunk and return nothing.
    allowed = search_ids(store, vectors, query, method, 1, SearchFilter(groups=("legal", "finance")))

    assert allowed == ["board:1:7"]
    assert store.count(SearchFilter(groups=("legal",))) == 1


def test_a_user_in_no_group_sees_nothing(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))

    assert search_ids(store, vectors, "vacation", "hybrid", 5, SearchFilter(groups=())) == []
    assert store.count(SearchFilter(groups=())) == 0


def test_search_can_be_restricted_to_documents(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))

    ids = search_ids(store, vectors, "vacation", "hybrid", 5, SearchFilter(document_ids=("board", "reception")))

    assert sorted(ids) == ["board:1:7", "reception:1:8"]


def test_search_can_be_restricted_to_languages_inside_the_search(open_backend, vectors):
    """A translated question searches only the documents of its language, still under the permission filter."""
    languages = {"handbook": "es", "board": "de"}
    points = [replace(p, chunk=replace(p.chunk, language=languages.get(p.chunk.document_id, "en")))
              for p in corpus_points(vectors)]
    store = open_backend(vectors.dimension)
    store.upsert(points)

    spanish = search_ids(store, vectors, "circulator seals", "hybrid", 5, SearchFilter(languages=("es",)))
    either = search_ids(store, vectors, "vacation", "dense", 9, SearchFilter(languages=("es", "de")))
    permitted = search_ids(store, vectors, "vacation", "hybrid", 9, SearchFilter(groups=("legal",), languages=("es",)))

    assert sorted(spanish) == ["handbook:1:5", "handbook:1:6"]  # nothing about circulators: none is in Spanish
    assert sorted(either) == ["board:1:7", "handbook:1:5", "handbook:1:6"]
    assert permitted == []  # the Spanish chunks are HR's, not legal's
    assert search_ids(store, vectors, "vacation", "hybrid", 5, SearchFilter(languages=())) == []


def test_delete_document_with_keep_version_removes_only_older_versions(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors, version=1))
    store.upsert([p for p in corpus_points(vectors, version=2) if p.chunk.document_id == "handbook"])

    store.delete_document("handbook", keep_version=2)

    assert store.document_versions()["handbook"] == {2}
    assert store.count(SearchFilter(document_ids=("handbook",))) == 2
    assert store.count() == len(CORPUS)
    store.delete_document("handbook")
    assert "handbook" not in store.document_versions()


def test_set_document_groups_reshares_every_version_of_one_document_without_rewriting_it(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    store.upsert([p for p in corpus_points(vectors, version=2) if p.chunk.document_id == "handbook"])
    query = "vacation days under the agreement"

    store.set_document_groups("handbook", ("legal",))

    assert search_ids(store, vectors, query, "hybrid", 1, SearchFilter(groups=("hr",))) == []
    assert search_ids(store, vectors, query, "hybrid", 1, SearchFilter(groups=("legal",)))[0].startswith("handbook:")
    assert {c.groups for c in store.document_chunks("handbook")} == {("legal",)}  # both versions
    assert {c.groups for c in store.document_chunks("board")} == {("legal",)}  # the others keep theirs
    assert store.count(SearchFilter(groups=("ops",))) == 6
    texts = {c.chunk_id: c.text for c in store.document_chunks("handbook")}
    assert texts == {p.chunk.chunk_id: p.chunk.text for p in corpus_points(vectors) + corpus_points(vectors, version=2)
                     if p.chunk.document_id == "handbook"}  # the rest of each payload is as it was


def test_a_document_shared_with_no_group_is_found_only_without_a_permission_filter(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))

    store.set_document_groups("board", ())

    assert store.count(SearchFilter(groups=("legal", "hr", "ops"))) == len(CORPUS) - 1
    assert search_ids(store, vectors, "merger agreement", "hybrid", 1) == ["board:1:7"]  # an admin's search


def test_new_groups_survive_close_and_reopen(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    store.set_document_groups("board", ("legal", "finance"))
    store.close()

    reopened = open_backend(vectors.dimension)

    assert reopened.count(SearchFilter(groups=("finance",))) == 1
    assert [c.groups for c in reopened.document_chunks("board")] == [("legal", "finance")]


def test_data_survives_close_and_reopen(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    store.close()

    reopened = open_backend(vectors.dimension)

    assert reopened.count() == len(CORPUS)
    assert search_ids(reopened, vectors, "pump XR-7734 maintenance", "hybrid", 1) == ["shipping:1:4"]


def test_reopening_with_another_dimension_is_a_settings_error(open_backend, vectors):
    open_backend(vectors.dimension).close()

    with pytest.raises(SettingsError, match="ENCLAVE_COLLECTION"):
        open_backend(vectors.dimension * 2)


def test_a_vector_of_the_wrong_size_is_refused_at_the_boundary(open_backend, vectors):
    store = open_backend(vectors.dimension)
    point = corpus_points(vectors)[0]

    with pytest.raises(IngestError, match="dimension"):
        store.upsert([StoredChunk(point.chunk, point.dense[:10], point.sparse)])


def test_a_closed_store_says_so(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.close()

    with pytest.raises(StoreUnavailable, match="closed"):
        store.count()


def test_optimize_keeps_every_chunk_findable(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    store.delete_document("board")

    store.optimize()

    assert store.count() == len(CORPUS) - 1
    assert search_ids(store, vectors, "pump XR-7734 maintenance", "hybrid", 1) == ["shipping:1:4"]


def test_threads_can_search_while_another_writes(open_backend, vectors):
    store = open_backend(vectors.dimension)
    store.upsert(corpus_points(vectors))
    query = (vectors.dense[5], vectors.sparse[5])

    def search(_: int) -> str:
        return store.search(*query, 1, SearchFilter(groups=("hr",)))[0].chunk.chunk_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(search, range(40))
        for version in range(2, 6):
            store.upsert(corpus_points(vectors, version=version)[:4])
        assert set(found) == {"handbook:1:5"}
    assert store.count() == len(CORPUS) + 16


def test_a_second_opener_of_an_edge_dir_is_busy(tmp_path):
    first = EdgeStore(tmp_path / "edge", 8)
    try:
        with pytest.raises(StoreBusy, match="in use by another Enclave process"):
            EdgeStore(tmp_path / "edge", 8)
    finally:
        first.close()
    EdgeStore(tmp_path / "edge", 8).close()  # the lock went with the first opener


def test_another_process_cannot_open_an_edge_dir_in_use(tmp_path):
    store = EdgeStore(tmp_path / "edge", 8)
    script = (
        "import sys\n"
        "from ingest.errors import StoreBusy\n"
        "from ingest.store import EdgeStore\n"
        "try:\n"
        f"    EdgeStore({str(tmp_path / 'edge')!r}, 8)\n"
        "except StoreBusy:\n"
        "    sys.exit(3)\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[3], capture_output=True, timeout=60
        )
    finally:
        store.close()
    assert result.returncode == 3, result.stderr.decode()


def test_open_store_picks_edge_when_no_url_is_set(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", _env_file=None)

    store = open_store(settings, 8)
    store.close()

    assert isinstance(store, EdgeStore)
    assert (settings.qdrant_path / settings.collection / "segments").is_dir()


def test_open_store_reports_an_unreachable_server(tmp_path):
    settings = load_settings(data_dir=tmp_path, qdrant_url="http://127.0.0.1:9", _env_file=None)

    with pytest.raises(StoreUnavailable, match="unreachable.*ENCLAVE_QDRANT_URL"):
        open_store(settings, 8)
