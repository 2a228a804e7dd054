from assistant.models import Passage
from assistant.prompting import build_messages, estimate_tokens
from ingest.models import Chunk


def passage(n: int, words: int) -> Passage:
    chunk = Chunk(chunk_id=f"c{n}", document_id="d", index=n, text="word " * words, document_name="doc.pdf",
                  title="doc", pages=(n,), section=("Chapter", "Part"))
    return Passage(n=n, chunk=chunk, score=1.0)


def test_passages_are_numbered_with_document_page_and_section():
    messages, used = build_messages("What?", [passage(1, 10), passage(2, 10)], 4096, 512)
    assert len(used) == 2
    content = messages[1]["content"]
    assert "[1] (doc.pdf, page 1 — Chapter › Part)" in content
    assert "[2] (doc.pdf, page 2" in content
    assert content.endswith("Question: What?")


def test_prompt_stops_adding_passages_before_the_context_window_is_full():
    passages = [passage(i, 300) for i in range(1, 20)]
    messages, used = build_messages("What?", passages, 2048, 512)
    assert 0 < len(used) < len(passages)
    total = sum(estimate_tokens(m["content"]) for m in messages)
    assert total + 512 <= 2048


def test_a_single_passage_longer_than_the_window_is_truncated_not_dropped():
    messages, used = build_messages("What?", [passage(1, 5000)], 1024, 256)
    assert len(used) == 1
    assert sum(estimate_tokens(m["content"]) for m in messages) + 256 <= 1024
