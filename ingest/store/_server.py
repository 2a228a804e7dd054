"""Vector store on a Qdrant server through qdrant-client's Query API (or its local mode, which stands in for tests).

The server indexes in its own background threads, so `optimize()` has nothing to do here.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Sequence, TypeVar

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

from ingest.errors import IngestError, SettingsError, StoreUnavailable
from ingest.models import Chunk, SearchFilter, SearchHit, SparseVector, StoredChunk
from ingest.store._base import DENSE, SPARSE, SearchMethod
from ingest.store._points import (
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    check_query,
    hit_from,
    matches_nothing,
    payload_for,
    point_id_for,
)

_T = TypeVar("_T")
_SCROLL_PAGE = 1000


class QdrantServerStore:
    """One collection on a Qdrant server: hybrid search with the permission filter inside both prefetches."""

    def __init__(
        self,
        client: QdrantClient | str,
        collection: str,
        dimension: int,
        api_key: str | None = None,
        fusion: str = "rrf",
        rrf_k: int = 60,
        timeout: int = 30,
    ) -> None:
        if fusion not in ("rrf", "dbsf"):
            raise ValueError(f"unknown fusion {fusion!r}: use 'rrf' or 'dbsf'")
        self.collection = collection
        self.dimension = dimension
        self.fusion = fusion
        self.rrf_k = rrf_k
        self._owns_client = isinstance(client, str)
        self.url = client if isinstance(client, str) else "(client given)"
        # No version check: qdrant-client runs it in a thread whose failure nobody sees; our first call reports.
        self._client: QdrantClient | None = (
            QdrantClient(url=client, api_key=api_key, timeout=timeout, check_compatibility=False)
            if isinstance(client, str)
            else client
        )
        # qdrant-client is thread-safe against a server, but its local mode (tests, small setups) is not.
        self._lock = threading.RLock()
        try:
            self._ensure_collection()
        except BaseException:
            if self._owns_client:
                self.close()
            raise

    # -- opening ----------------------------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        if not self._call("check the collection", lambda c: c.collection_exists(self.collection)):
            self._call("create the collection", self._create_collection)
            return
        info = self._call("read the collection", lambda c: c.get_collection(self.collection))
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        sparse = info.config.params.sparse_vectors or {}
        if dense is None or SPARSE not in sparse:
            raise SettingsError(
                f"collection {self.collection!r} on {self.url} has no '{DENSE}' and '{SPARSE}' vectors: it was not "
                "made by Enclave; set ENCLAVE_COLLECTION to another name"
            )
        if dense.size != self.dimension:
            raise SettingsError(
                f"collection {self.collection!r} holds {dense.size}-dimensional vectors but the embedding model gives "
                f"{self.dimension}: set ENCLAVE_COLLECTION to a new name or restore ENCLAVE_EMBEDDING_MODEL"
            )

    def _create_collection(self, client: QdrantClient) -> None:
        client.create_collection(
            self.collection,
            vectors_config={DENSE: models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        schemas: dict[str, Any] = {name: models.PayloadSchemaType.KEYWORD for name in KEYWORD_FIELDS}
        schemas.update({name: models.PayloadSchemaType.INTEGER for name in INTEGER_FIELDS})
        with warnings.catch_warnings():
            # Local mode (tests) warns that payload indexes have no effect there; a server uses them.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for name, schema in schemas.items():
                client.create_payload_index(self.collection, name, field_schema=schema, wait=True)

    # -- Store ------------------------------------------------------------------------------------------------

    def upsert(self, points: Sequence[StoredChunk]) -> None:
        if not points:
            return
        structs = [self._to_point(p) for p in points]
        self._call("write points", lambda c: c.upsert(self.collection, points=structs, wait=True))

    def delete_document(self, document_id: str, keep_version: int | None = None) -> None:
        must_not: list[Any] = [] if keep_version is None else [_match("version", keep_version)]
        selector = models.FilterSelector(
            filter=models.Filter(must=[_match("document_id", document_id)], must_not=must_not)
        )
        self._call("delete points", lambda c: c.delete(self.collection, points_selector=selector, wait=True))

    def set_document_groups(self, document_id: str, groups: Sequence[str]) -> None:
        selector = models.Filter(must=[_match("document_id", document_id)])
        self._call("set the document's groups", lambda c: c.set_payload(
            self.collection, payload={"groups": list(groups)}, points=selector, wait=True
        ))

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
        condition = _filter(flt)
        options: dict[str, Any] = {"with_payload": True, "with_vectors": [DENSE] if with_vectors else False}
        if method == "hybrid":
            depth = max(prefetch_limit, limit)
            prefetch = [
                models.Prefetch(query=list(dense or ()), using=DENSE, filter=condition, limit=depth),
                models.Prefetch(query=_sparse(sparse), using=SPARSE, filter=condition, limit=depth),
            ]
            arguments: dict[str, Any] = {"prefetch": prefetch, "query": self._fusion()}
        else:
            arguments = {
                "query": list(dense or ()) if method == "dense" else _sparse(sparse),
                "using": DENSE if method == "dense" else SPARSE,
                "query_filter": condition,
            }

        def query(client: QdrantClient) -> models.QueryResponse:
            return client.query_points(self.collection, limit=limit, **arguments, **options)

        response = self._call("search", query, StoreUnavailable)
        return [
            hit_from(p.id, p.score, p.payload, _dense_of(p.vector) if with_vectors else None) for p in response.points
        ]

    def count(self, flt: SearchFilter | None = None) -> int:
        if matches_nothing(flt):
            return 0
        result = self._call(
            "count", lambda c: c.count(self.collection, count_filter=_filter(flt), exact=True), StoreUnavailable
        )
        return int(result.count)

    def document_chunks(self, document_id: str, flt: SearchFilter | None = None,
                        first: int | None = None) -> list[Chunk]:
        if matches_nothing(flt):
            return []
        condition = _filter(flt) or models.Filter(must=[])
        must: list[Any] = list(condition.must or []) + [_match("document_id", document_id)]
        if first is not None:
            must.append(models.FieldCondition(key="chunk_index", range=models.Range(lt=first)))
        chunks: list[Chunk] = []
        offset = None
        while True:
            records, offset = self._call(
                "scroll",
                lambda c: c.scroll(self.collection, scroll_filter=models.Filter(must=must), limit=_SCROLL_PAGE,
                                   offset=offset, with_payload=True, with_vectors=False),
                StoreUnavailable,
            )  # fmt: skip
            chunks += [hit_from(r.id, 0.0, r.payload, None).chunk for r in records]
            if offset is None:
                return sorted(chunks, key=lambda c: c.index)

    def document_versions(self) -> dict[str, set[int]]:
        versions: dict[str, set[int]] = {}
        offset = None
        while True:
            records, offset = self._call(
                "scroll",
                lambda c: c.scroll(
                    self.collection, limit=_SCROLL_PAGE, offset=offset,
                    with_payload=["document_id", "version"], with_vectors=False,
                ),
                StoreUnavailable,
            )  # fmt: skip
            for record in records:
                payload = record.payload or {}
                versions.setdefault(payload.get("document_id", ""), set()).add(int(payload.get("version", 1)))
            if offset is None:
                return versions

    def optimize(self) -> bool:
        """Nothing to do: a Qdrant server builds its indexes in the background."""
        return False

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- helpers ----------------------------------------------------------------------------------------------

    def _call(
        self, what: str, action: Callable[[QdrantClient], _T], error: type[IngestError] = IngestError
    ) -> _T:
        """Run one client call. Reads fail as StoreUnavailable, writes as IngestError (often bad input)."""
        with self._lock:
            if self._client is None:
                raise StoreUnavailable(f"the store for collection {self.collection!r} is closed: open it again")
            try:
                return action(self._client)
            except UnexpectedResponse as exc:
                if exc.status_code in (401, 403):
                    raise StoreUnavailable(
                        f"Qdrant server at {self.url} refused the request ({exc.status_code}): "
                        "set ENCLAVE_QDRANT_API_KEY to the server's API key"
                    ) from exc
                raise error(f"Qdrant server at {self.url}: {what} failed ({exc})") from exc
            except ApiException as exc:  # connection refused, timeout, bad response body
                raise StoreUnavailable(
                    f"Qdrant server at {self.url} is unreachable ({exc}): start it or fix ENCLAVE_QDRANT_URL"
                ) from exc
            except (ValueError, RuntimeError) as exc:  # local mode reports bad input and locked folders this way
                raise error(f"Qdrant collection {self.collection!r}: {what} failed ({exc})") from exc

    @staticmethod
    def _to_point(stored: StoredChunk) -> models.PointStruct:
        vectors: dict[str, Any] = {DENSE: list(stored.dense)}
        if stored.sparse.indices:
            vectors[SPARSE] = _sparse(stored.sparse)
        return models.PointStruct(id=point_id_for(stored.chunk.chunk_id), vector=vectors, payload=payload_for(stored))

    def _fusion(self) -> Any:
        if self.fusion == "dbsf":
            return models.FusionQuery(fusion=models.Fusion.DBSF)
        return models.RrfQuery(rrf=models.Rrf(k=self.rrf_k))


def _match(key: str, value: str | int) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _filter(flt: SearchFilter | None) -> models.Filter | None:
    if flt is None:
        return None
    must: list[Any] = []
    if flt.groups is not None:
        must.append(models.FieldCondition(key="groups", match=models.MatchAny(any=list(flt.groups))))
    if flt.document_ids is not None:
        must.append(models.FieldCondition(key="document_id", match=models.MatchAny(any=list(flt.document_ids))))
    if flt.languages is not None:
        must.append(models.FieldCondition(key="language", match=models.MatchAny(any=list(flt.languages))))
    return models.Filter(must=must) if must else None


def _sparse(vector: SparseVector | None) -> models.SparseVector:
    vector = vector or SparseVector([], [])
    return models.SparseVector(indices=list(vector.indices), values=list(vector.values))


def _dense_of(vector: Any) -> list[float] | None:
    if isinstance(vector, dict):
        value = vector.get(DENSE)
        return list(value) if isinstance(value, list) else None
    return None
