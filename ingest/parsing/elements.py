"""From unstructured's elements to Enclave's: text, category, page and heading level, tables as rows of cells; and
what the elements say about their document as a whole (its title, its language)."""

from __future__ import annotations

import functools
import re
from typing import Any, Sequence

from ingest.models import Element

# Layout-only markers carry no text worth retrieving.
_SKIPPED_CATEGORIES = frozenset({"PageBreak", "PageNumber"})
_TITLE_MAX_CHARS = 200
_WORD = re.compile(r"[^\W\d_]{3,}")
_SENTENCE_END = re.compile(r"\.(\[\d+\])*$")  # "...a Liverpool fan.[2]"
_LANGUAGE_SAMPLE_PIECES = 20
_LANGUAGE_PIECE_CHARS = 500
_LANGUAGE_MIN_LETTERS = 100  # below this a detector guesses (a 75-letter header came out Catalan)
# What to pass a partitioner as `languages` to skip unstructured's own language pass (langdetect: ~20 ms a file, and
# ~0.3 s to load its profiles where a partitioner asks for "auto"): detect_language decides, once per document.
NO_LANGUAGE_DETECTION = [""]
# More likely than every other language together; tables of names and figures often fall below and stay unknown.
_LANGUAGE_MIN_CONFIDENCE = 0.5
# What the detector chooses from: the 55 languages langdetect knew, plus Latin. py3langid's model knows ~100 more
# (Nigerian Pidgin, Occitan…) that are rare in company documents and spread its probability thin over English tables.
_LANGUAGES = (
    "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko la lt lv mk ml mr ne nl no pa "
    "pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh"
).split()
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def convert_elements(raw: Sequence[Any], *, guessed_titles: bool = False) -> list[Element]:
    """Keep text, category, page and heading depth; tables become rows; repeated headers and footers go.
    With `guessed_titles`, titles that look like sentence fragments become body text."""
    elements: list[Element] = []
    margins_seen: set[str] = set()
    for item in raw:
        category = item.category
        if category in _SKIPPED_CATEGORIES:
            continue
        html = getattr(item.metadata, "text_as_html", None)
        text = (table_to_text(html) if category == "Table" and html else item.text or "").strip()
        if not text:
            continue
        if category in ("Header", "Footer"):
            if text in margins_seen:  # the same running header on every page says nothing new
                continue
            margins_seen.add(text)
        if category == "Title" and guessed_titles and not is_plausible_heading(text):
            category = "UncategorizedText"
        level = item.metadata.category_depth or 0
        elements.append(Element(text=text, category=category, page=item.metadata.page_number, level=level))
    return elements


def is_plausible_heading(text: str) -> bool:
    """unstructured guesses titles in PDFs and plain text from short lines: wrapped sentence fragments ("loan to
    Cambridge United.") and margin stamps ("p e S 0 3") would cut sections and name them, so they stay body text."""
    words = text.split()
    if not _WORD.search(text) or text[:1].islower():
        return False
    return not (len(words) >= 5 and _SENTENCE_END.search(text))


def table_to_text(html: str) -> str:
    """An HTML table as one line per row, cells separated by pipes (what LLMs read best); nested tables flatten."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return ""
    table = root.find(".//table")
    if table is None:
        return " ".join(root.text_content().split())
    lines = []
    for row in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
        cells = [" ".join(cell.text_content().split()) for cell in row.xpath("./td|./th")]
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def choose_title(raw: Sequence[Any], elements: Sequence[Element], fallback: str) -> str:
    """An e-mail's subject, else the first title in the document, else the file name without extension."""
    for item in raw[:1]:
        subject = getattr(item.metadata, "subject", None)
        if subject and subject.strip():
            return subject.strip()[:_TITLE_MAX_CHARS]
    for element in elements:
        if element.category == "Title":
            return " ".join(element.text.split())[:_TITLE_MAX_CHARS]
    return fallback


def detect_language(texts: Sequence[str]) -> str | None:
    """The document's main language as ISO 639-1 ("en", "es"), from samples spread over the whole text; None when
    the text is too short or too mixed to tell (a wrong language would pick the wrong stemmer downstream)."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        return None
    step = max(1, len(texts) // _LANGUAGE_SAMPLE_PIECES)
    sample = "\n".join(t[:_LANGUAGE_PIECE_CHARS] for t in texts[::step])
    if sum(map(str.isalpha, sample)) < _LANGUAGE_MIN_LETTERS:
        return None
    words = " ".join(_NOT_LETTERS.sub(" ", sample).split())  # digits and symbols say nothing about a language
    language, confidence = _language_identifier().classify(words)
    if confidence < _LANGUAGE_MIN_CONFIDENCE:
        return None
    return language


@functools.cache
def _language_identifier() -> Any:
    """py3langid's naive-Bayes model (shipped inside the package, loaded once per process, ~0.3 s). It is
    deterministic and ~0.5 ms a document; langdetect, which unstructured bundles, took ~17 ms, most of a short
    document's parse, and is random unless seeded."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_LANGUAGES)
    return identifier
