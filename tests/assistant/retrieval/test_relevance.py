"""The relevance gate that decides between answering and saying nothing was found (a pure function)."""

from assistant.models import Passage
from assistant.retrieval.relevance import is_relevant
from ingest.models import Chunk

CHUNK = Chunk(chunk_id="c", document_id="d", index=0, text="May 5, 2023", document_name="memo.pdf", title="memo")


def passage(relevance: float | None, shared: int) -> Passage:
    return Passage(n=1, chunk=CHUNK, score=0.5, relevance=relevance, shared_terms=shared)


def test_a_close_paraphrase_is_relevant_without_shared_words():
    assert is_relevant(passage(0.6, 0), 0.2, 0.5)


def test_a_short_passage_near_every_question_is_not_relevant_without_a_shared_word():
    # measured: "What is the orbital period of Kepler-452b?" vs the chunk "May 5, 2023" has cosine 0.26
    assert not is_relevant(passage(0.26, 0), 0.2, 0.5)


def test_a_moderately_close_passage_sharing_a_word_is_relevant():
    assert is_relevant(passage(0.3, 2), 0.2, 0.5)


def test_a_shared_word_alone_is_not_enough():
    assert not is_relevant(passage(0.1, 3), 0.2, 0.5)


def test_most_of_a_long_questions_words_pass_a_little_below_the_threshold():
    # "What did Mallori say the attachment includes?": four content words, three of them in the e-mail
    words = Passage(n=1, chunk=CHUNK, score=0.5, relevance=0.35, shared_terms=6, coverage=0.75, question_terms=8)
    assert is_relevant(words, 0.4, 0.5, min_coverage=0.3)


def test_two_words_of_a_three_word_question_are_not_most_of_it():
    # "What is our annual leave policy?" and a handbook passage on the annual report's policy (cosine 0.30)
    words = Passage(n=1, chunk=CHUNK, score=0.5, relevance=0.30, shared_terms=4, coverage=0.67, question_terms=6)
    assert not is_relevant(words, 0.4, 0.5, min_coverage=0.3)
