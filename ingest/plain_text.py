"""Plain text into unstructured elements: the library's paragraph grouping and element rules, with its spaCy-based
checks run only where they can change the answer.

unstructured's partition_text runs a full spaCy pipeline over every paragraph to decide "narrative text or title"
(about 7 ms a paragraph here: 75 of the 154 CPU-seconds all shared documents take to parse went to one novel).
A paragraph longer than a title can be (is_possible_title's own 12-word limit) is never a title, so for those the
cheap rules decide: bullets and numbered lists first (the library's regexes), then narrative unless it is mostly
symbols or capitals. Short paragraphs — headings, list items, addresses — still go through the library's full rules.

Word files get the same shortcut (`install_docx_shortcut`): partition_docx asks spaCy "narrative text?" of every
paragraph whose style says nothing (most of a document typed in "Normal"); for long prose the cheap rules answer.
"""

from __future__ import annotations

import re

from unstructured.documents.elements import Element, NarrativeText, Text

TITLE_MAX_WORDS = 12  # unstructured's default title_max_word_length
_WORD = re.compile(r"[^\W\d_]+")


def partition_plain_text(text: str) -> list[Element]:
    from unstructured.cleaners.core import auto_paragraph_grouper
    from unstructured.partition.text import PARAGRAPH_PATTERN

    elements: list[Element] = []
    for paragraph in re.split(PARAGRAPH_PATTERN, auto_paragraph_grouper(text).strip()):
        paragraph = paragraph.strip()
        if paragraph:
            elements.append(classify_paragraph(paragraph))
    return elements


def classify_paragraph(paragraph: str) -> Element:
    """The element unstructured's partition_text would make of this paragraph, without spaCy for long prose."""
    from unstructured.partition.text import element_from_text
    from unstructured.partition.text_type import under_non_alpha_ratio

    if not is_long_paragraph(paragraph):
        return element_from_text(paragraph)
    if under_non_alpha_ratio(paragraph) or is_mostly_capitals(paragraph):
        return Text(text=paragraph)
    return NarrativeText(text=paragraph)


def is_long_paragraph(paragraph: str) -> bool:
    """Longer than a title can be and not a list item: the cases the cheap rules decide."""
    from unstructured.partition.text_type import is_bulleted_text, is_possible_numbered_list

    return not (
        len(paragraph.split()) <= TITLE_MAX_WORDS or is_bulleted_text(paragraph) or is_possible_numbered_list(paragraph)
    )


def is_long_prose(paragraph: str) -> bool:
    """A long paragraph of ordinary words: narrative text, whatever spaCy would say about its verbs."""
    from unstructured.partition.text_type import under_non_alpha_ratio

    return is_long_paragraph(paragraph) and not (under_non_alpha_ratio(paragraph) or is_mostly_capitals(paragraph))


def install_docx_shortcut() -> None:
    """Make partition_docx call spaCy only for paragraphs that are not long prose, in this process (idempotent).
    Its answer only tells NarrativeText from Text, both body text to the chunker; titles come from styles."""
    from unstructured.partition import docx

    original = getattr(docx, "is_possible_narrative_text", None)
    if not callable(original):
        raise RuntimeError("unstructured.partition.docx.is_possible_narrative_text is gone: review ingest/plain_text.py")
    if getattr(original, "enclave_shortcut", False):
        return

    def is_possible_narrative_text(text: str, *args, **kwargs) -> bool:
        return is_long_prose(text) or original(text, *args, **kwargs)

    is_possible_narrative_text.enclave_shortcut = True  # type: ignore[attr-defined]
    docx.is_possible_narrative_text = is_possible_narrative_text


def is_mostly_capitals(text: str) -> bool:
    """More than half the words in capitals: a shouted banner or a legal heading block, not prose."""
    words = _WORD.findall(text)
    return bool(words) and sum(w.isupper() for w in words) / len(words) > 0.5
