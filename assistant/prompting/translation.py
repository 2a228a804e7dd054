"""Questions across languages: the search query translated into the other languages the library holds.

The embedding model (all-MiniLM-L6-v2) is English-only, and the lexical side matches words, so a Spanish question
finds an English memo about 1 time in 4. One short call to the configured LLM translates the query into the
languages of the documents the user may see (`ingest` records each document's language); the retriever then searches
with each translation inside that language's documents only, and fuses the rankings (assistant/retrieval/search.py).
The cost is that one call per question, and only when the library holds another language: nothing per chunk, and
no second embedding model to ship. Measured in docs/benchmarks.md (bench/languages.py).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from assistant.errors import LLMServerError, LLMUnavailable
from assistant.prompting.prompt import estimate_tokens

if TYPE_CHECKING:
    from assistant.llm import LLMClient
    from ingest import DocumentRecord

log = logging.getLogger(__name__)

# The languages a question is translated into (ISO 639-1, as `ingest`'s detector gives them), with the names the
# model is told: the major written languages of business documents.
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French",
    "hr": "Croatian", "hu": "Hungarian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian",
    "zh": "Chinese",
}  # fmt: skip

TOKENS_PER_TRANSLATION = 80  # a search query, in one more language
REASONING_ALLOWANCE = 96  # a reasoning model (gpt-oss) thinks briefly before it writes

_SYSTEM = (
    "You translate search queries for a document search engine. Translate the query into every language the user "
    "lists, even when the query is already in one of the others. Keep names, numbers, codes and quoted words as "
    "they are. Reply with exactly one line per listed language, in the form `code: translation`, and nothing else."
)
# One worked example: small models (the packaged 1.5B) otherwise often echo the query in its own language.
_EXAMPLE = [
    {"role": "user", "content": "Translate into: fr (French), de (German)\nQuery: Where is the 2023 annual report?"},
    {"role": "assistant", "content": "fr: Où se trouve le rapport annuel 2023 ?\nde: Wo ist der Jahresbericht 2023?"},
]
_SENTENCES_SYSTEM = (
    "Translate each numbered line into {name}. Keep names, numbers and codes as they are. Reply with the same "
    "numbered lines, in the form `number: translation`, and nothing else."
)
_NUMBERED = re.compile(r"^(\d+)\s*[:.)]\s*(.+)$")
_LINE = re.compile(r"^[\s*•`>-]*\(?([a-z]{2,3})\)?[\s*`]*[:=–]\s*(.+)$", re.IGNORECASE)


def other_languages(sizes: Mapping[str | None, int], question_language: str | None, limit: int) -> list[str]:
    """The library's languages other than the question's, largest first (by `sizes`: chunks per language), at most
    `limit`; only those in LANGUAGE_NAMES. The detector also names languages no document here is really in (Latin
    for lorem ipsum, Somali for a page of a hundred languages), and a translation into those only costs time."""
    counts = {code: size for code, size in sizes.items()
              if code in LANGUAGE_NAMES and code != question_language and size > 0}
    return [code for code, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def library_languages(records: Iterable["DocumentRecord"]) -> Counter[str | None]:
    """Chunks per language over these documents' records."""
    sizes: Counter[str | None] = Counter()
    for record in records:
        sizes[record.language] += max(record.chunks, 1)
    return sizes


def translate_query(llm: "LLMClient", query: str, targets: Sequence[str]) -> dict[str, str]:
    """{language code: the query in that language}, for the targets the model translated. A failed or unreadable
    reply gives {} (the search goes on in the question's own language): it costs recall, never the answer."""
    if not targets:
        return {}
    listed = ", ".join(f"{code} ({LANGUAGE_NAMES.get(code, code)})" for code in targets)
    messages = [{"role": "system", "content": _SYSTEM}, *_EXAMPLE,
                {"role": "user", "content": f"Translate into: {listed}\nQuery: {query}"}]
    try:
        reply = llm.complete(messages, max_tokens=TOKENS_PER_TRANSLATION * len(targets) + REASONING_ALLOWANCE)
    except (LLMUnavailable, LLMServerError) as exc:
        log.warning("the question could not be translated for the search in other languages (%s); searching in "
                    "its own language only", exc)
        return {}
    return read_translations(reply, targets, query)


def translate_sentences(llm: "LLMClient", sentences: Sequence[str], language: str) -> list[str | None]:
    """Each sentence in `language` (None where the model gave no line for it): an answer's sentences put in the
    language of the passages it was written from, so that they can be checked against them word for word. Only
    into the languages of LANGUAGE_NAMES, as questions are (no call for a passage read as Latin)."""
    if not sentences or language not in LANGUAGE_NAMES:
        return [None] * len(sentences)
    name = LANGUAGE_NAMES[language]
    numbered = "\n".join(f"{i}: {' '.join(sentence.split())}" for i, sentence in enumerate(sentences, start=1))
    messages = [{"role": "system", "content": _SENTENCES_SYSTEM.format(name=name)},
                {"role": "user", "content": numbered}]
    budget = 2 * sum(estimate_tokens(s) for s in sentences) + 16 * len(sentences) + REASONING_ALLOWANCE
    try:
        reply = llm.complete(messages, max_tokens=budget)
    except (LLMUnavailable, LLMServerError) as exc:
        log.warning("the answer could not be translated to check it against its sources (%s)", exc)
        return [None] * len(sentences)
    found: dict[int, str] = {}
    for line in reply.splitlines():
        match = _NUMBERED.match(line.strip())
        if match and match.group(2).strip():
            found.setdefault(int(match.group(1)), match.group(2).strip())
    return [found.get(i) for i in range(1, len(sentences) + 1)]


def read_translations(reply: str, targets: Sequence[str], query: str) -> dict[str, str]:
    """The `code: translation` lines of the model's reply for the requested codes (the first line for each); a line
    that only repeats the query, or is empty or far too long, is dropped."""
    wanted = {code.lower() for code in targets}
    found: dict[str, str] = {}
    for line in reply.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        code = match.group(1).lower()
        text = match.group(2).strip().strip("`\"'“”«»").strip()
        if code not in wanted or code in found:
            continue
        if not text or len(text) > 4 * len(query) + 40 or text.casefold() == query.casefold():
            continue
        found[code] = text
    return found
