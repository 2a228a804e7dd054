"""Plain text into unstructured elements: the library's paragraph grouping and element rules, with its spaCy-based
checks run only where they can change the answer.

unstructured's partition_text runs a full spaCy pipeline over every paragraph to decide "narrative text or title"
(about 7 ms a paragraph here: 75 of the 154 CPU-seconds all shared documents take to parse went to one novel).
A paragraph longer than a title can be (is_possible_title's own 12-word limit) is never a title, so for those the
cheap rules decide: bullets and numbered lists first (the library's regexes), then narrative unless it is mostly
symbols or capitals. Short paragraphs — headings, list items, addresses — still go through the library's full rules,
with spaCy run over all of them in one batch (`ingest.parsing.sentences.batched`).

Word and HTML go further (installed by `ingest.parsing.library_patches`). There titles come from styles and tags,
and the question partition_docx and the HTML parser ask spaCy of every paragraph ("narrative text?") only chooses
between NarrativeText and Text: two names for body text, which Enclave chunks, stores and cites alike. So the cheap
rules answer it and spaCy is not asked at all. That covers the formats unstructured reads through them: ODT (as
Word), EPUB, RTF and Markdown (as HTML). The DOJ handbook took 6.8 s to parse, the EPUB 4.7 s, mostly in spaCy.
The long-paragraph rule goes into unstructured's element_from_text too, which classifies PDF text boxes and e-mail
bodies by their text alone: there short lines still get the library's rules, titles among them.
"""

from __future__ import annotations

import re

from unstructured.documents.elements import Element, NarrativeText, Text

TITLE_MAX_WORDS = 12  # unstructured's default title_max_word_length
_WORD = re.compile(r"[^\W\d_]+")


def partition_plain_text(text: str) -> list[Element]:
    from unstructured.cleaners.core import auto_paragraph_grouper
    from unstructured.partition.text import PARAGRAPH_PATTERN

    from ingest.parsing.sentences import batched

    paragraphs = [p.strip() for p in re.split(PARAGRAPH_PATTERN, auto_paragraph_grouper(text).strip()) if p.strip()]
    with batched([p for p in paragraphs if not is_long_paragraph(p)]):  # those get the library's spaCy rules
        return [classify_paragraph(paragraph) for paragraph in paragraphs]


def classify_paragraph(paragraph: str) -> Element:
    """The element unstructured's partition_text would make of this paragraph, without spaCy for long prose."""
    from unstructured.partition.text import element_from_text
    if not is_long_paragraph(paragraph):
        return element_from_text(paragraph)
    return NarrativeText(text=paragraph) if is_plain_words(paragraph) else Text(text=paragraph)


def is_long_paragraph(paragraph: str) -> bool:
    """Longer than a title can be and not a list item: the cases the cheap rules decide."""
    from unstructured.partition.text_type import is_bulleted_text, is_possible_numbered_list

    return not (
        len(paragraph.split()) <= TITLE_MAX_WORDS
        or len(paragraph.split(" ")) <= TITLE_MAX_WORDS  # how is_possible_title counts: lines joined by \n are one
        or is_bulleted_text(paragraph)
        or is_possible_numbered_list(paragraph)
    )


def is_long_prose(paragraph: str) -> bool:
    """A long paragraph of ordinary words: narrative text, whatever spaCy would say about its verbs."""
    return is_long_paragraph(paragraph) and is_plain_words(paragraph)


def is_plain_words(paragraph: str) -> bool:
    """Not mostly symbols or capitals: what makes a long paragraph prose."""
    return not (under_non_alpha_ratio(paragraph) or is_mostly_capitals(paragraph))


def is_mostly_capitals(text: str) -> bool:
    """More than half the words in capitals: a shouted banner or a legal heading block, not prose."""
    words = _WORD.findall(text)
    return bool(words) and sum(map(str.isupper, words)) / len(words) > 0.5


def under_non_alpha_ratio(text: str, threshold: float = 0.5) -> bool:
    """unstructured's test of the same name (fewer letters than `threshold` of the characters that are not spaces),
    counted by builtins instead of a Python loop: it reads every character of every long paragraph."""
    counted = len(text) - sum(map(str.isspace, text))
    return counted > 0 and sum(map(str.isalpha, text)) / counted < threshold
