"""Rankings of several searches fused by their ranks (the question and its translations)."""

from __future__ import annotations

from assistant.retrieval.search import RRF_K, fuse_rankings
from ingest import Chunk, SearchHit


def hit(name: str, score: float = 1.0, dense: list[float] | None = None) -> SearchHit:
    chunk = Chunk(chunk_id=name, document_id=name, index=0, text=name, document_name=f"{name}.txt", title=name)
    return SearchHit(chunk, score, dense)


def names(hits: list[SearchHit]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def test_a_hit_found_by_several_searches_rises_above_those_found_once():
    question = [hit("a"), hit("b"), hit("c")]
    translation = [hit("d"), hit("c"), hit("e")]

    fused = fuse_rankings([question, translation], limit=10)

    assert names(fused) == ["c", "a", "d", "b", "e"]  # ties: the question's own search first
    assert fused[0].score == 1 / (RRF_K + 3) + 1 / (RRF_K + 2)


def test_fusion_keeps_the_limit_and_a_copy_that_carries_its_vector():
    fused = fuse_rankings([[hit("a"), hit("b")], [hit("b", dense=[0.1, 0.2]), hit("a")]], limit=1)

    assert names(fused) == ["a"]
    assert fuse_rankings([[hit("b")], [hit("b", dense=[0.1])]], limit=5)[0].dense == [0.1]
