"""Overview questions: recognised in four languages, and pointed at the right document."""

import pytest

from assistant.prompting.overview import asks_for_overview, build_outline, choose_document
from ingest.models import Chunk, DocumentRecord


def record(name: str, title: str = "", ingested_at: str = "2026-01-01T00:00:00") -> DocumentRecord:
    return DocumentRecord(document_id=name, name=name, source=f"/data/{name}", content_hash="h", version=1, chunks=3,
                          pages=None, size=1, groups=("everyone",), ingested_at=ingested_at, title=title)


@pytest.mark.parametrize("question", [
    "What is this document about?",
    "What's the memo about?",
    "Summarise the memo",
    "Can you summarize the handbook?",
    "What does the handbook cover?",
    "Give me an overview of the Moby-Dick document",
    "¿De qué trata el documento?",
    "Worum geht es in dem Dokument?",
    "Fasse das Dokument zusammen",
    "De quoi parle ce document ?",
])
def test_overview_questions_are_recognised(question):
    assert asks_for_overview(question)


@pytest.mark.parametrize("question", [
    "How many bottles of water were delivered?",
    "What does the memo say about water?",
    "What is the hotel limit?",
])
def test_questions_about_a_detail_are_not_overviews(question):
    assert not asks_for_overview(question)


def test_the_document_the_question_names_is_chosen():
    records = [record("memo-supply-delivery.pdf", "Memo"), record("doj-chapter13-trustee-handbook.docx", "Handbook")]
    target = choose_document("What does the handbook cover?", records)
    assert target.record.name == "doj-chapter13-trustee-handbook.docx" and target.named


def test_this_document_means_the_latest_upload():
    records = [record("a.pdf", ingested_at="2026-01-01T00:00:00"), record("b.pdf", ingested_at="2026-02-01T00:00:00")]
    target = choose_document("What is this document about?", records)
    assert target.record.name == "b.pdf" and not target.named


def test_a_name_matching_no_document_chooses_none_among_several():
    records = [record("a.pdf"), record("b.pdf")]
    assert choose_document("Summarise the payroll policy", records) is None
    assert choose_document("What is this document about?", []) is None


def test_the_outline_keeps_the_opening_and_each_section_once_in_order():
    chunks = [Chunk(chunk_id=str(i), document_id="d", index=i, text=f"t{i}", document_name="d", title="d",
                    section=(("Intro",) if i < 3 else ("Terms", "Pay"))) for i in range(10)]
    outline = build_outline(chunks)
    assert [c.index for c in outline.opening] == [0, 1, 2, 3, 4, 5]
    assert outline.sections == ["Intro", "Terms › Pay"]
