from assistant.citations import build_citations, cited_numbers, remove_invalid_markers
from assistant.models import Passage
from ingest.models import Chunk


def passage(n: int, name: str) -> Passage:
    chunk = Chunk(chunk_id=f"c{n}", document_id=f"d{n}", index=0, text=f"text {n}", document_name=name,
                  title=name, pages=(n,))
    return Passage(n=n, chunk=chunk, score=1.0 / n)


def test_cited_numbers_reads_single_and_grouped_markers_in_order():
    assert cited_numbers("A [2]. B [1, 3] and C [3; 4] again [2].") == [2, 1, 3, 4]


def test_markers_naming_no_passage_are_removed_and_valid_ones_kept():
    assert remove_invalid_markers("X [1] Y [7] Z [2, 9]", {1, 2}) == "X [1] Y  Z [2]"


def test_citations_follow_the_cited_passages_in_number_order():
    passages = [passage(1, "a.pdf"), passage(2, "b.pdf"), passage(3, "c.pdf")]
    citations = build_citations("Fact [3]. Other [1].", passages)
    assert [(c.n, c.document, c.page) for c in citations] == [(1, "a.pdf", 1), (3, "c.pdf", 3)]


def test_an_answer_citing_nothing_lists_every_passage_it_was_given():
    passages = [passage(1, "a.pdf"), passage(2, "b.pdf")]
    assert [c.n for c in build_citations("No markers here.", passages)] == [1, 2]
