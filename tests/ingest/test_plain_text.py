"""Plain text partitioning: unstructured's decisions, without spaCy on long prose."""

from __future__ import annotations

from unstructured.partition.text import partition_text

from ingest.detection import read_text
from ingest.plain_text import classify_paragraph, partition_plain_text
from shared_data import DOCS


def test_same_paragraphs_and_titles_as_unstructured_on_a_real_file():
    text = read_text(str(DOCS / "norwich-city-iwan-roberts.txt"))
    theirs, ours = partition_text(text=text, languages=[""]), partition_plain_text(text)
    assert [e.text for e in ours] == [e.text for e in theirs]
    titles = lambda elements: [e.text for e in elements if e.category == "Title"]  # noqa: E731
    assert titles(ours) == titles(theirs)
    assert sum(type(a) is type(b) for a, b in zip(ours, theirs)) / len(theirs) > 0.99


def test_long_prose_is_narrative_and_short_lines_keep_the_library_rules():
    prose = "The committee approved the budget after a long debate about travel costs and the new office lease."
    assert classify_paragraph(prose).category == "NarrativeText"
    assert classify_paragraph("CHAPTER IV").category == "Title"
    assert classify_paragraph("• Book economy class for flights under six hours and keep every receipt").category == "ListItem"
    assert classify_paragraph("12.5 | 13.1 | 14.0 | 15.2 | 16.8 | 17.3 | 18.9 | 19.4 | 20.0 | 21.7 | 22.2 | 23.5 | 24.1").category == "UncategorizedText"
    assert classify_paragraph("WARNING THIS EQUIPMENT MUST BE INSPECTED BY A QUALIFIED TECHNICIAN BEFORE EVERY USE TODAY").category == "UncategorizedText"


def test_word_shortcut_keeps_texts_and_titles_and_asks_spacy_less(monkeypatch):
    from unstructured.partition import docx
    from unstructured.partition.docx import partition_docx

    from ingest.plain_text import install_docx_shortcut

    calls = []

    def counted(text, *args, **kwargs):  # the library's own check, counted
        calls.append(text)
        return original(text, *args, **kwargs)

    original = docx.is_possible_narrative_text
    monkeypatch.setattr(docx, "is_possible_narrative_text", counted)  # restored after the test
    path = str(DOCS / "doj-chapter13-trustee-handbook.docx")
    theirs = partition_docx(filename=path, languages=[""])
    asked_before, calls[:] = len(calls), []

    install_docx_shortcut()
    install_docx_shortcut()  # idempotent: not wrapped twice
    ours = partition_docx(filename=path, languages=[""])

    assert [e.text for e in ours] == [e.text for e in theirs]
    assert [e.text for e in ours if e.category == "Title"] == [e.text for e in theirs if e.category == "Title"]
    body = {"NarrativeText", "Text", "UncategorizedText"}
    assert all(a.category == b.category or {a.category, b.category} <= body for a, b in zip(ours, theirs))
    assert len(calls) < asked_before * 0.7  # long prose (4 paragraphs in 10 here) no longer goes to spaCy
