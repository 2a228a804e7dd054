"""The narrow interface every vector store backend implements (embedded Qdrant Edge, Qdrant server)."""

from __future__ import annotations

from typing import Protocol, Sequence

from ingest.models import Chunk, SearchFilter, SearchHit, SparseVector, StoredChunk

DENSE = "dense"
SPARSE = "sparse"

SearchMethod = str  # "dense" | "sparse" | "hybrid"


class Store(Protocol):
    fusion: str  # how hybrid search fuses its dense and lexical results, "rrf" or "dbsf"; read at each query

    def upsert(self, points: Sequence[StoredChunk]) -> None:
        """Write chunks with their vectors. Durable once this returns."""

    def delete_document(self, document_id: str, keep_version: int | None = None) -> None:
        """Delete a document's chunks; with keep_version, delete only the chunks of other versions."""

    def set_document_groups(self, document_id: str, groups: Sequence[str]) -> None:
        """Share every chunk of the document (all its versions) with exactly these groups, in one write: nothing is
        embedded again. Durable once this returns; an empty tuple leaves the document to admins alone."""

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
        """One query: dense and sparse prefetches fused in the engine; the filter applies inside both.

        with_vectors fills SearchHit.dense with each chunk's dense vector (for a relevance gate).
        """

    def count(self, flt: SearchFilter | None = None) -> int: ...

    def document_chunks(self, document_id: str, flt: SearchFilter | None = None,
                        first: int | None = None) -> list[Chunk]:
        """A document's chunks in reading order (only the `first` ones when given), within `flt`'s permissions."""

    def document_versions(self) -> dict[str, set[int]]:
        """Every (document_id -> versions present): used to repair after a crash."""

    def optimize(self) -> bool:
        """Build indexes now if the backend needs it (embedded Edge); True if anything changed."""

    def close(self) -> None: ...
