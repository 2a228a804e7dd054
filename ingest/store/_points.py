"""What both backends share: point ids, payloads and hits, independent of the Qdrant library in use."""

from __future__ import annotations

import uuid
from typing import Any

from ingest.models import Chunk, SearchFilter, SearchHit, StoredChunk

_NAMESPACE = uuid.UUID("3d8c8a8e-52a4-4f57-9a0e-3c7d3c2a5b61")

# Payload fields with an index: the permission filter, the per-document delete, the per-version delete.
KEYWORD_FIELDS = ("document_id", "groups", "language")
INTEGER_FIELDS = ("version",)


def point_id_for(chunk_id: str) -> str:
    """Qdrant accepts UUIDs or integers as ids: keep a UUID chunk id as is, derive a stable UUID from any other."""
    try:
        return str(uuid.UUID(chunk_id))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, chunk_id))


def payload_for(stored: StoredChunk) -> dict[str, Any]:
    payload = stored.chunk.to_payload()
    if point_id_for(stored.chunk.chunk_id) != stored.chunk.chunk_id:
        payload["chunk_id"] = stored.chunk.chunk_id  # the id was not a UUID: keep the caller's own
    return payload


def hit_from(point_id: Any, score: float, payload: dict | None, dense: list[float] | None) -> SearchHit:
    payload = payload or {}
    chunk_id = payload.get("chunk_id") or str(point_id)
    return SearchHit(chunk=Chunk.from_payload(chunk_id, payload), score=float(score), dense=dense)


def matches_nothing(flt: SearchFilter | None) -> bool:
    """An empty tuple means "none allowed" (a user in no group): answer without asking the engine."""
    return flt is not None and (flt.groups == () or flt.document_ids == () or flt.languages == ())


def check_query(dense: list[float] | None, sparse_empty: bool, method: str) -> str:
    """The method that can actually run with the vectors given (hybrid degrades to one side when the other is empty)."""
    if method not in ("hybrid", "dense", "sparse"):
        raise ValueError(f"unknown search method {method!r}: use 'hybrid', 'dense' or 'sparse'")
    if method == "hybrid":
        if dense is None and sparse_empty:
            raise ValueError("hybrid search needs a dense or a sparse query vector")
        if sparse_empty:
            return "dense"  # a query of stop words only has no lexical side
        if dense is None:
            return "sparse"
    if method == "dense" and dense is None:
        raise ValueError("dense search needs a dense query vector")
    return method
