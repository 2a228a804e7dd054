"""Embedded vector store on qdrant-edge-py: Qdrant's Rust shard (segments, WAL, HNSW) inside this process.

Indexing policy. Edge runs no background threads and never optimizes on its own: new points land in an appendable,
un-indexed segment searched by brute force (sparse vectors and payload fields keep their indexes up to date).
That is fast enough (bench/retrieval.py, 2 cores: hybrid + group filter p50 ~8 ms at 100k chunks), so nothing here
builds HNSW behind the caller's back. `optimize()` builds HNSW, merges segments and drops deleted points, but it
blocks AND holds the GIL for its whole run (6 s at 10k, ~200 s at 100k; a Python thread got no time slice until
it returned), so running it in a "background thread" would freeze the app. Run it where a pause is fine: at the
end of a CLI bulk ingest, or as a maintenance command while the app is stopped. Later calls are cheap: points added
after it stay in a small appendable segment until that passes the indexing threshold. How the index is built
(HNSW m and ef_construct, int8 quantization, vectors and payloads on disk) is fixed when the store is created:
`_index` (ENCLAVE_STORE_*; unset, Edge's defaults) and why another value is refused for an existing store.

Locking policy. Edge's WAL takes an exclusive lock, but only after it has read (and, when given a config,
rewritten) the shard's files. An fcntl lock on `enclave.lock` in the shard directory is taken first, so a second
process (or a second opener in this process) gets StoreBusy before it touches anything. Inside a process a
threading lock serialises calls: Streamlit calls from several threads, and close() must not race a query.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import qdrant_edge as E

from ingest.errors import IngestError, SettingsError, StoreBusy, StoreUnavailable
from ingest.models import Chunk, SearchFilter, SearchHit, SparseVector, StoredChunk
from ingest.store._base import DENSE, SPARSE, SearchMethod
from ingest.store._index import IndexSettings, built_with, check_built_as_asked, edge_config
from ingest.store._points import (
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    check_query,
    hit_from,
    matches_nothing,
    payload_for,
    point_id_for,
)

LOCK_FILE = "enclave.lock"
_SCROLL_PAGE = 1000
_T = TypeVar("_T")


class EdgeStore:
    """One Edge shard in a directory: hybrid search with the permission filter inside both prefetches."""

    def __init__(
        self, path: str | Path, dimension: int, fusion: str = "rrf", rrf_k: int = 60,
        index: IndexSettings | None = None,
    ) -> None:
        if fusion not in ("rrf", "dbsf"):
            raise ValueError(f"unknown fusion {fusion!r}: use 'rrf' or 'dbsf'")
        self.path = Path(path)
        self.dimension = dimension
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.index = index or IndexSettings()
        self._lock = threading.RLock()
        self._lock_fd = self._acquire_dir_lock()
        try:
            self._shard: E.EdgeShard | None = self._open_shard()
            self._ensure_indexes()
        except BaseException:
            self._release_dir_lock()
            raise

    # -- opening ----------------------------------------------------------------------------------------------

    def _acquire_dir_lock(self) -> int:
        return lock_store_folder(self.path)

    def _release_dir_lock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = -1

    def _open_shard(self) -> E.EdgeShard:
        exists = (self.path / "segments").is_dir()
        built = built_with(self.path) if exists else None
        if exists:
            check_built_as_asked(self.path, self.index, built)  # before Edge rewrites the shard's config
        try:
            if exists:  # the config makes Edge check the sizes and keeps the build settings as they are (see _index);
                # with no record of them (built None) nothing else is set, or check_built_as_asked refused
                return E.EdgeShard.load(str(self.path), edge_config(self.dimension, self.index, built))
            return E.EdgeShard.create(str(self.path), edge_config(self.dimension, self.index))
        except Exception as exc:  # Edge raises bare Exception for everything
            message = str(exc)
            if "incompatible" in message.lower():
                raise SettingsError(
                    f"the embedded store at {self.path} was built for other vectors ({message}); the embedding "
                    f"model gives {self.dimension} dimensions: set ENCLAVE_COLLECTION to a new name, or restore "
                    "ENCLAVE_EMBEDDING_MODEL, or delete the store and ingest again"
                ) from exc
            if "WouldBlock" in message:
                raise StoreBusy(
                    f"the embedded store at {self.path} is in use by another process: stop it and try again"
                ) from exc
            raise StoreUnavailable(
                f"cannot {'load' if exists else 'create'} the embedded store at {self.path} ({message}): "
                "check the disk and permissions; if the files are damaged, restore a backup or ingest again"
            ) from exc

    def _ensure_indexes(self) -> None:
        # Payload-aware HNSW subgraphs help only the permission filter; ids and versions are used for deletes.
        wanted: dict[str, Any] = {"groups": E.PayloadSchemaType.Keyword}
        for name in KEYWORD_FIELDS:
            wanted.setdefault(name, E.KeywordIndexParams(enable_hnsw=False))
        for name in INTEGER_FIELDS:
            wanted[name] = E.IntegerIndexParams(lookup=True, range=False, enable_hnsw=False)
        present = self._call("read the payload schema", lambda shard: shard.info().payload_schema)
        for name, schema in wanted.items():
            if name not in present:
                operation = E.UpdateOperation.create_field_index(name, schema)
                self._call(f"index {name}", lambda shard: shard.update(operation))

    # -- Store ------------------------------------------------------------------------------------------------

    def upsert(self, points: Sequence[StoredChunk]) -> None:
        if not points:
            return
        operation = E.UpdateOperation.upsert_points([self._to_point(p) for p in points])
        with self._lock:
            self._call("write points", lambda shard: shard.update(operation))
            self._call("flush", lambda shard: shard.flush())  # durable once we return, not just in the WAL

    def delete_document(self, document_id: str, keep_version: int | None = None) -> None:
        must_not: list[Any] = [] if keep_version is None else [_match("version", keep_version)]
        selector = E.Filter(must=[_match("document_id", document_id)], must_not=must_not)
        with self._lock:
            self._call("delete points", lambda shard: shard.update(E.UpdateOperation.delete_points_by_filter(selector)))
            self._call("flush", lambda shard: shard.flush())

    def set_document_groups(self, document_id: str, groups: Sequence[str]) -> None:
        # One operation through the shard's WAL: replayed whole or not at all after a crash.
        operation = E.UpdateOperation.set_payload_by_filter(
            E.Filter(must=[_match("document_id", document_id)]), {"groups": list(groups)}
        )
        with self._lock:
            self._call("set the document's groups", lambda shard: shard.update(operation))
            self._call("flush", lambda shard: shard.flush())

    def search(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        limit: int,
        flt: SearchFilter | None = None,
        method: SearchMethod = "hybrid",
        prefetch_limit: int = 100,
        with_vectors: bool = False,
    ) -> list[SearchHit]:
        method = check_query(dense, sparse is None or not sparse.indices, method)
        if matches_nothing(flt) or limit <= 0:
            return []
        condition = self._filter(flt)
        options: dict[str, Any] = {"with_payload": True, "with_vector": [DENSE] if with_vectors else False}
        if method == "hybrid":
            prefetches = [
                E.Prefetch(limit=max(prefetch_limit, limit), query=self._dense_query(dense), filter=condition),
                E.Prefetch(limit=max(prefetch_limit, limit), query=self._sparse_query(sparse), filter=condition),
            ]
            request = E.QueryRequest(limit=limit, prefetches=prefetches, query=self._fusion(), **options)
        else:
            query = self._dense_query(dense) if method == "dense" else self._sparse_query(sparse)
            request = E.QueryRequest(limit=limit, query=query, filter=condition, **options)
        points = self._call("search", lambda shard: shard.query(request), StoreUnavailable)
        return [hit_from(p.id, p.score, p.payload, _dense_of(p.vector) if with_vectors else None) for p in points]

    def count(self, flt: SearchFilter | None = None) -> int:
        if matches_nothing(flt):
            return 0
        request = E.CountRequest(exact=True, filter=self._filter(flt))
        return self._call("count", lambda shard: shard.count(request), StoreUnavailable)

    def document_chunks(self, document_id: str, flt: SearchFilter | None = None,
                        first: int | None = None) -> list[Chunk]:
        if matches_nothing(flt):
            return []
        condition = self._filter(flt) or E.Filter(must=[])
        must = list(condition.must or []) + [_match("document_id", document_id)]
        if first is not None:
            must.append(E.FieldCondition(key="chunk_index", range=E.RangeFloat(lt=float(first))))
        chunks: list[Chunk] = []
        offset = None
        while True:
            request = E.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, filter=E.Filter(must=must),
                                      with_payload=True, with_vector=False)
            records, offset = self._call("scroll", lambda shard: shard.scroll(request), StoreUnavailable)
            chunks += [hit_from(r.id, 0.0, r.payload, None).chunk for r in records]
            if offset is None:
                return sorted(chunks, key=lambda c: c.index)

    def document_versions(self) -> dict[str, set[int]]:
        versions: dict[str, set[int]] = {}
        offset = None
        while True:
            request = E.ScrollRequest(
                offset=offset, limit=_SCROLL_PAGE, with_payload=["document_id", "version"], with_vector=False
            )
            records, offset = self._call("scroll", lambda shard: shard.scroll(request), StoreUnavailable)
            for record in records:
                payload = record.payload or {}
                versions.setdefault(payload.get("document_id", ""), set()).add(int(payload.get("version", 1)))
            if offset is None:
                return versions

    @contextmanager
    def paused(self) -> Iterator[Path]:
        """Hold every call of this store (a write from any thread waits) with the shard flushed, for the block: its
        files stay as they are, so a backup can copy them while this process keeps the store open."""
        with self._lock:
            self._call("flush", lambda shard: shard.flush(), StoreUnavailable)
            yield self.path

    def optimize(self) -> bool:
        """Build HNSW, merge segments, drop deleted points. Blocks the whole process (GIL held): see module doc."""
        return self._call("optimize", lambda shard: shard.optimize())

    def close(self) -> None:
        with self._lock:
            if self._shard is not None:
                shard, self._shard = self._shard, None
                try:
                    shard.flush()
                    shard.close()
                except Exception as exc:
                    raise StoreUnavailable(f"closing the embedded store at {self.path} failed ({exc})") from exc
                finally:
                    self._release_dir_lock()

    # -- conversions ------------------------------------------------------------------------------------------

    def _call(
        self, what: str, action: Callable[[E.EdgeShard], _T], error: type[IngestError] = IngestError
    ) -> _T:
        """Run one Edge call under the lock. Reads fail as StoreUnavailable (the caller can't answer without the
        store); writes as IngestError (often bad input, such as a vector of the wrong size)."""
        with self._lock:
            if self._shard is None:
                raise StoreUnavailable(f"the embedded store at {self.path} is closed: open it again")
            try:
                return action(self._shard)
            except Exception as exc:  # Edge raises bare Exception; wrap it once, here
                raise error(f"embedded store at {self.path}: {what} failed ({exc})") from exc

    @staticmethod
    def _to_point(stored: StoredChunk) -> E.Point:
        vectors: dict[str, Any] = {DENSE: list(stored.dense)}
        if stored.sparse.indices:
            vectors[SPARSE] = E.SparseVector(list(stored.sparse.indices), list(stored.sparse.values))
        return E.Point(point_id_for(stored.chunk.chunk_id), vectors, payload_for(stored))

    @staticmethod
    def _filter(flt: SearchFilter | None) -> E.Filter | None:
        if flt is None:
            return None
        must: list[Any] = []
        if flt.groups is not None:
            must.append(E.FieldCondition(key="groups", match=E.MatchAny(list(flt.groups))))
        if flt.document_ids is not None:
            must.append(E.FieldCondition(key="document_id", match=E.MatchAny(list(flt.document_ids))))
        if flt.languages is not None:
            must.append(E.FieldCondition(key="language", match=E.MatchAny(list(flt.languages))))
        return E.Filter(must=must) if must else None

    @staticmethod
    def _dense_query(dense: list[float] | None) -> E.Query:
        return E.Query.Nearest(list(dense or ()), using=DENSE)

    @staticmethod
    def _sparse_query(sparse: SparseVector | None) -> E.Query:
        vector = sparse or SparseVector([], [])
        return E.Query.Nearest(E.SparseVector(list(vector.indices), list(vector.values)), using=SPARSE)

    def _fusion(self) -> Any:
        return E.Fusion.Rrf(k=self.rrf_k) if self.fusion == "rrf" else E.Fusion.Dbsf()


def lock_store_folder(path: Path) -> int:
    """Take the store folder's lock (creating the folder) and return its descriptor; closing it lets go. Raises
    StoreBusy when another opener holds it, StoreUnavailable when the folder cannot be made."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot open the embedded store at {path} ({exc}): check ENCLAVE_DATA_DIR and its permissions"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise StoreBusy(
            f"the embedded store at {path} is in use by another Enclave process (the app?): "
            "stop it, or ingest through the app, or point ENCLAVE_QDRANT_URL at a Qdrant server"
        ) from exc
    return fd


@contextmanager
def holding_store_folder(path: str | Path) -> Iterator[Path]:
    """Hold the embedded store's folder as an opener does, without loading the shard: no other process (nor opener
    in this one) can open the store, so its files stay as they are for the block (a backup copies them, a restore
    replaces them). Every opener flushes and closes the shard before letting go, so the files are whole."""
    fd = lock_store_folder(Path(path))
    try:
        yield Path(path)
    finally:
        os.close(fd)


def _match(key: str, value: str | int) -> E.FieldCondition:
    return E.FieldCondition(key=key, match=E.MatchValue(value))


def _dense_of(vector: Any) -> list[float] | None:
    if isinstance(vector, dict):
        value = vector.get(DENSE)
        return list(value) if value is not None else None
    return None
