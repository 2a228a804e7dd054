"""Plain text partitioning: unstructured's decisions, without spaCy on long prose."""

from __future__ import annotations

import pytest
from unstructured.partition.text import partition_text

from ingest.parsing.detection import read_text
from ingest.parsing.plain_text import classify_paragraph, partition_plain_text
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


@pytest.mark.parametrize(
    "name, spacy_left",  # the share of the library's spaCy questions still asked
    [("rgpd-capitulos-1-3-es.docx", 0.0), ("sec-10k-galaxy-gaming-excerpt.html", 0.0), ("rgpd-capitulos-1-3-es.pdf", 0.7)],
)
def test_body_text_shortcuts_keep_texts_titles_and_lists_and_ask_spacy_less(
    monkeypatch, unstructured_restored, name, spacy_left
):
    from unstructured.partition import docx, text, text_type
    from unstructured.partition.auto import partition
    from unstructured.partition.html import parser as html_parser

    from ingest.parsing.library_patches import install_patches

    # Both runs with the light spaCy pipeline (the patches bring it along), the first with the library's own check,
    # even when an earlier test in this process installed the shortcuts (the parse workers' warm-up does).
    install_patches()
    for module in (docx, html_parser, text):
        monkeypatch.setattr(module, "is_possible_narrative_text", text_type.is_possible_narrative_text)
    asked = []
    library_check = text_type.exceeds_cap_ratio  # the first spaCy question in the library's narrative test

    def counted(text, *args, **kwargs):
        asked.append(text)
        return library_check(text, *args, **kwargs)

    monkeypatch.setattr(text_type, "exceeds_cap_ratio", counted)
    path = str(DOCS / name)
    theirs = partition(filename=path, languages=[""])
    asked_by_library, asked[:] = len(asked), []

    install_patches()
    install_patches()  # idempotent
    ours = partition(filename=path, languages=[""])

    assert asked_by_library > 10 and len(asked) <= asked_by_library * spacy_left
    assert [e.text for e in ours] == [e.text for e in theirs]
    for category in ("Title", "ListItem", "Table"):
        assert [e.text for e in ours if e.category == category] == [e.text for e in theirs if e.category == category]
    body = {"NarrativeText", "Text", "UncategorizedText"}
    assert all(a.category == b.category or {a.category, b.category} <= body for a, b in zip(ours, theirs))


def test_non_alpha_ratio_agrees_with_the_library_on_every_paragraph_of_a_file():
    from unstructured.partition import text_type

    from ingest.parsing.plain_text import under_non_alpha_ratio

    paragraphs = read_text(str(DOCS / "udhr-article1-all-languages.txt")).split("\n") + ["", "   ", "-- 12 --", "ÄÖÜ"]
    assert [under_non_alpha_ratio(p) for p in paragraphs] == [text_type.under_non_alpha_ratio(p) for p in paragraphs]
    assert any(under_non_alpha_ratio(p) for p in paragraphs) and not all(under_non_alpha_ratio(p) for p in paragraphs)
