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
