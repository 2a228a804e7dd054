"""BM25-style lexical sparse vectors computed locally: tokenise, stem, saturate term frequencies, hash to indices.

IDF is not computed here: the collection's sparse vector has Qdrant's IDF modifier, so the engine applies it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import unicodedata
from collections import Counter
from typing import Iterable

import Stemmer

from ingest.encoders.stopwords import RAW_STOPWORDS
from ingest.models import SparseVector

# ISO 639-1 and 639-3 codes (parsers report either) → Snowball algorithm names in PyStemmer.
_SNOWBALL = {
    "en": "english", "eng": "english",
    "es": "spanish", "spa": "spanish",
    "de": "german", "deu": "german", "ger": "german",
    "fr": "french", "fra": "french", "fre": "french",
    "it": "italian", "ita": "italian",
    "pt": "portuguese", "por": "portuguese",
    "nl": "dutch", "nld": "dutch", "dut": "dutch",
    "ca": "catalan", "cat": "catalan",
    "sv": "swedish", "swe": "swedish",
    "da": "danish", "dan": "danish",
    "no": "norwegian", "nb": "norwegian", "nor": "norwegian",
    "fi": "finnish", "fin": "finnish",
    "ru": "russian", "rus": "russian",
    "pl": "polish", "pol": "polish",
}  # fmt: skip
_TWO_LETTER = {name: code for code, name in _SNOWBALL.items() if len(code) == 2}

# A "code" is word characters joined by - _ . / : (XR-7734, v2.3.1, ISO-9001:2015, MAX_RETRIES).
# It is kept whole as one token, and its parts are indexed too, so "XR-7734" and "7734" both match.
_CODE = re.compile(r"[^\W_]+(?:[-_./:][^\W_]+)+")
_WORD = re.compile(r"[^\W_]+")
# Combining diacritics of Latin, Greek and Cyrillic letters, except the tilde of ñ. Marks of other scripts
# (Devanagari vowel signs, ...) are letters' parts, not accents: they stay.
_DIACRITIC = re.compile(r"(?<!n)\u0303|[\u0300-\u0302\u0304-\u036f]")
_MAX_TOKEN = 64  # longer runs are hashes, base64 or URLs gone wrong: noise for lexical search

# Namespaces keep a stem from colliding with an identical surface word or code in the hash space.
_STEM, _SURFACE, _CODE_NS = "s:", "w:", "c:"


@functools.lru_cache(maxsize=1 << 17)  # the shared documents hash 940k terms, 77k distinct
def hash_token(token: str) -> int:
    """Stable 31-bit index for a token: the same in every process and Python version (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big") & 0x7FFFFFFF


def fold_accents(text: str) -> str:
    """Casefold and drop Latin diacritics so "Sécurité" and "securite" meet; ñ stays ("años" is not "anos")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _DIACRITIC.sub("", decomposed))


def normalize_language(language: str | None) -> str | None:
    """"es", "spa", "es-ES" → "es"; None or an unknown code → None."""
    if not language:
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    name = _SNOWBALL.get(code)
    return _TWO_LETTER[name] if name else None


STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(fold_accents(word) for word in words.split()) for lang, words in RAW_STOPWORDS.items()
}


_local = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    """One stemmer per thread and language: PyStemmer's stemmers are not thread-safe (Streamlit uses threads)."""
    stemmers = _local.__dict__.setdefault("stemmers", {})
    if language not in stemmers:
        stemmers[language] = Stemmer.Stemmer(_SNOWBALL[language])
    return stemmers[language]


def guess_language_by_stop_words(words: Iterable[str], candidates: Iterable[str] = STOPWORDS) -> str | None:
    """Cheap guess from stop words: the language whose stop list covers most words, if it clearly wins."""
    counts = Counter(words)
    hits = ((sum(n for w, n in counts.items() if w in STOPWORDS.get(lang, ())), lang) for lang in candidates)
    scores = sorted(hits, reverse=True)
    if not scores or scores[0][0] == 0:
        return None
    if len(scores) > 1 and scores[0][0] < 1.5 * scores[1][0]:
        return None  # "de la" is Spanish and French: don't pretend to know
    return scores[0][1]


def tokenize(text: str) -> tuple[list[str], list[str]]:
    """(words, codes): folded words in reading order, and whole identifiers such as "xr-7734"."""
    folded = fold_accents(text)
    codes = [c for c in _CODE.findall(folded) if len(c) <= _MAX_TOKEN]
    words = [w for w in _WORD.findall(folded) if len(w) <= _MAX_TOKEN]
    return words, codes


class SparseEncoder:
    """Turns texts into BM25-weighted sparse vectors over hashed tokens.

    Each content word yields its Snowball stem (in the text's language) and its unstemmed surface form; each
    identifier yields itself whole. When a query's language is unknown and its stop words don't say, it gets the
    stems of every default language, so a Spanish query still meets Spanish stems in Spanish documents while the
    surface forms match exact words whatever the language.
    """

    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        avg_length: float = 100.0,
        default_language: str = "en",
        languages: tuple[str, ...] = ("en", "es", "de", "fr"),
    ) -> None:
        self.k1 = k1
        self.b = b
        # Corpus average length is unknown when a chunk is encoded; chunks are ~200 model tokens, ~100 content words.
        self.avg_length = avg_length
        self.default_language = normalize_language(default_language) or "en"
        self.languages = tuple(lang for lang in map(normalize_language, languages) if lang)

    # -- public ---------------------------------------------------------------------------------------------

    def encode_documents(self, texts: list[str], language: str | None = None) -> list[SparseVector]:
        given = normalize_language(language)
        vectors = []
        for text in texts:
            words, codes = tokenize(text)
            # A document is long enough for its stop words to tell its language; ties fall back to the default.
            lang = given or guess_language_by_stop_words(words, self.languages) or self.default_language
            terms, length = self._terms(words, codes, (lang,))
            vectors.append(self._to_vector({t: self._saturate(n, length) for t, n in terms.items()}))
        return vectors

    def language_of(self, text: str) -> str | None:
        """The language of a short text (a question) by its stop words, when they clearly say; else None."""
        return guess_language_by_stop_words(tokenize(text)[0], self.languages)

    def encode_query(self, text: str, language: str | None = None) -> SparseVector:
        words, codes = tokenize(text)
        lang = normalize_language(language) or guess_language_by_stop_words(words, self.languages)
        languages = (lang,) if lang else self.languages
        terms, _ = self._terms(words, codes, languages)
        # Query side of BM25: each distinct term counts once; the engine multiplies by IDF.
        return self._to_vector({t: 1.0 for t in terms})

    # -- steps ----------------------------------------------------------------------------------------------

    def _terms(self, words: list[str], codes: list[str], languages: tuple[str, ...]) -> tuple[Counter[str], int]:
        """Term counts (namespaced strings) and the document length used for normalisation."""
        stop = set().union(*(STOPWORDS.get(lang, ()) for lang in languages))
        content = [w for w in words if w not in stop]
        if not content and not codes:
            content = words  # a query made only of stop words ("to be or not to be") still searches for them
        terms: Counter[str] = Counter()  # counts are fractional where languages disagree on a stem
        stems_by_language = [_stemmer(lang).stemWords(content) for lang in languages if lang in _SNOWBALL]
        for i, word in enumerate(content):
            terms[_SURFACE + word] += 1
            stems = {stems[i] for stems in stems_by_language}
            for stem in stems:
                # Several languages may disagree on a word's stem: share one count among them.
                terms[_STEM + stem] += 1 / len(stems)  # type: ignore[assignment]  # Counter holds floats too
        for code in codes:
            terms[_CODE_NS + code] += 1
        return terms, len(content)

    def _saturate(self, count: float, length: int) -> float:
        norm = 1 - self.b + self.b * length / self.avg_length
        return count * (self.k1 + 1) / (count + self.k1 * norm)

    @staticmethod
    def _to_vector(weights: dict[str, float]) -> SparseVector:
        by_index: dict[int, float] = {}
        for term, weight in weights.items():
            index = hash_token(term)
            by_index[index] = by_index.get(index, 0.0) + weight  # a 31-bit collision: add, indices must be unique
        indices = sorted(by_index)
        return SparseVector(indices=indices, values=[by_index[i] for i in indices])
