"""Plain text into unstructured elements: the library's paragraph grouping and element rules, with its spaCy-based
checks run only where they can change the answer.

unstructured's partition_text runs a full spaCy pipeline over every paragraph to decide "narrative text or title"
(about 7 ms a paragraph here: 75 of the 154 CPU-seconds all shared documents take to parse went to one novel).
A paragraph longer than a title can be (is_possible_title's own 12-word limit) is never a title, so for those the
cheap rules decide: bullets and numbered lists first (the library's regexes), then narrative unless it is mostly
symbols or capitals. Short paragraphs — headings, list items, addresses — still go through the library's full rules.
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
    from unstructured.partition.text_type import is_bulleted_text, is_possible_numbered_list, under_non_alpha_ratio

    if len(paragraph.split()) <= TITLE_MAX_WORDS or is_bulleted_text(paragraph) or is_possible_numbered_list(paragraph):
        return element_from_text(paragraph)
    if under_non_alpha_ratio(paragraph) or is_mostly_capitals(paragraph):
        return Text(text=paragraph)
    return NarrativeText(text=paragraph)


def is_mostly_capitals(text: str) -> bool:
    """More than half the words in capitals: a shouted banner or a legal heading block, not prose."""
    words = _WORD.findall(text)
    return bool(words) and sum(w.isupper() for w in words) / len(words) > 0.5
