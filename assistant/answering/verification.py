"""Check an answer, sentence by sentence, against the passages the model was given.

Small CPU models cite the wrong passage often, and sometimes state what no passage says. After generation each
sentence is scored against every passage with two signals from the packaged models: lexical support (the share
of the sentence's content terms, stemmed as the search stems them, that the passage contains; every number in the
sentence must appear in it, in digits or in words) and meaning (cosine of the sentence's and the passage's MiniLM
vectors). Then its citations are kept where the passage supports it, corrected to the passage that does, attached
when missing, and dropped where none does: that sentence is marked unsupported. No entailment (NLI) model ships in
a package that loads offline (../shared/notes/packaged-models.md), so this is evidence of support, not proof of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from text_to_num import alpha2digit

from assistant.prompting.citations import cited_numbers, strip_markers
from assistant.models import Passage, Sentence
from assistant.retrieval.search import cosine

if TYPE_CHECKING:
    from ingest import Embedder, SparseEncoder

# A sentence is supported by a passage with enough of its words, or enough of its words and close meaning, or
# very close meaning alone; and never when it states a number the passage does not contain.
MIN_LEXICAL = 0.6
MIN_LEXICAL_WITH_MEANING = 0.35
MIN_MEANING_WITH_WORDS = 0.45
MIN_MEANING = 0.8
# A sentence translated into its passage's language seldom takes the passage's own terms ("controlador" for the
# law's "responsable"): fewer shared words suffice when the meaning is closer. Set by hand on the packaged model's
# cross-language answers (docs/benchmarks.md, session 13); on the 24 questions of `bench/languages.py --answers`
# (session 14), 19 answers kept a citation of a right document and the 2 uncited ones were wrong.
MIN_LEXICAL_TRANSLATED = 0.25
MIN_MEANING_TRANSLATED = 0.55
WORD_NUMBER_LANGUAGES = {"en", "es", "de", "fr", "pt", "it", "nl"}  # the languages text2num reads numbers in
MIN_TERMS = 2  # sentences with fewer content terms ("Yes.", "Thanks!") are not checked; nor are headings ("…:")

_MARKER_GROUP = r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"(?<=\d)[.,\u202f\u00a0](?=\d{3}(?!\d))")
# A sentence ends at . ! ? (and any markers after it) followed by a space, or at a line break; not at the point of a
# short number, which is an ordinal in German ("das 35. Lebensjahr") or a list number.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b\d\.)(?<!\b\d\d\.)(?<!\b\d\d\d\.)" + _MARKER_GROUP + r"*(?=\s)|\n+")


Translate = Callable[[Sequence[str], str], Sequence["str | None"]]  # (sentences, language) → each in that language


@dataclass(frozen=True)
class Support:
    lexical: float
    meaning: float
    numbers_ok: bool
    translated: bool = False  # the sentence was put in the passage's language by the model first

    @property
    def holds(self) -> bool:
        if not self.numbers_ok:
            return False
        return (
            self.lexical >= MIN_LEXICAL
            or (self.lexical >= MIN_LEXICAL_WITH_MEANING and self.meaning >= MIN_MEANING_WITH_WORDS)
            or self.meaning >= MIN_MEANING
            or (self.translated and self.lexical >= MIN_LEXICAL_TRANSLATED and self.meaning >= MIN_MEANING_TRANSLATED)
        )

    @property
    def strength(self) -> float:
        return self.lexical + self.meaning


def split_sentences(text: str) -> list[tuple[str, str]]:
    """(sentence with its markers, the whitespace after it), in order. Markers that open a sentence
    ("… end. [2] Next") go back to the sentence they close."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    sentences: list[list[str]] = []
    for piece in pieces:
        opening = re.match(r"\s*" + _MARKER_GROUP + "+", piece)
        if opening and sentences:
            sentences[-1][0] += opening.group(0)
            piece = piece[opening.end():]
        if not piece.strip():
            if sentences:
                sentences[-1][1] += piece
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        if sentences:
            sentences[-1][1] += lead
        body = piece.strip()
        sentences.append([body, piece[len(lead) + len(body):]])
    return [(body, gap if gap else "") for body, gap in sentences]


def numbers_in(text: str, languages: Iterable[str | None] = ()) -> set[str]:
    """The numbers in `text`, without separators; with `languages`, also those written in words ("fünfzigtausend
    Euro" holds 50000: a model that writes "50.000 Euro" from it is right)."""
    found = {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}
    return found | {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(with_digits(text, languages))}


def with_digits(text: str, languages: Iterable[str | None]) -> str:
    """`text` with numbers written in words turned into digits (in each of `languages` text2num reads) and thousands
    separators dropped, so that "fünfzigtausend", "50.000" and "50,000" meet as the same word."""
    for language in sorted(WORD_NUMBER_LANGUAGES.intersection(languages)):
        text = alpha2digit(text, language)
    return _THOUSANDS.sub("", text)


class Verifier:
    def __init__(self, embedder: "Embedder", sparse: "SparseEncoder") -> None:
        self.embedder = embedder
        self.sparse = sparse

    def check(self, text: str, passages: Sequence[Passage], question: str = "",
              translate: Translate | None = None, language: str | None = None) -> list[Sentence]:
        """Every sentence of `text`, its citations checked against `passages` (numbered as in the prompt). A number
        the question itself states ("What does article 1 say?") may be repeated without a passage stating it.

        translate(sentences, language): the sentences in that language (None where it gave none). With it, a
        sentence is also checked in the language of each passage in another language than its own (`language`,
        the answer's, when the sentence's cannot be told), an English answer against a Spanish law: words and
        meaning compare within one language, and the model writes in the question's."""
        if not passages:
            return [Sentence(strip_markers(body).strip(), (), gap=gap) for body, gap in split_sentences(text)]
        split = split_sentences(text)
        sentences = [body for body, _ in split]
        gaps = [gap for _, gap in split]
        plain = [strip_markers(s).strip() for s in sentences]
        # Both sides stemmed in the sentence's language: a Spanish answer quoting the Spanish part of a document
        # stored as English must meet its words, not English stems of them.
        languages = [self.sparse.language_of(p) or language for p in plain]
        own = {(i, languages[i]): self._terms(p, languages[i]) for i, p in enumerate(plain)}
        checked = [i for i, p in enumerate(plain) if len(own[i, languages[i]]) >= MIN_TERMS and not _is_heading(p)]
        renderings: dict[tuple[int, str | None], str] = {}
        terms: dict[tuple[int, str | None], set[int]] = {}
        vectors: dict[tuple[int, str | None], list[float]] = {}

        def encode(found: dict[tuple[int, str | None], str]) -> None:
            if not found:
                return
            renderings.update(found)
            terms.update({key: own.get(key) or self._terms(text, key[1]) for key, text in found.items()})
            vectors.update(zip(found, self.embedder.embed_documents(list(found.values()))))

        encode({(i, languages[i]): plain[i] for i in checked})
        missing = [p for p in passages if p.vector is None]  # an overview's passages come without vectors
        embedded = dict(zip((p.n for p in missing), self.embedder.embed_documents([p.chunk.text for p in missing])))
        passage_vectors = {p.n: list(p.vector) if p.vector is not None else embedded[p.n] for p in passages}
        evidence_terms: dict[tuple[int, str | None], set[int]] = {}

        def passage_terms(j: int, language: str | None) -> set[int]:
            if (j, language) not in evidence_terms:
                text = with_digits(_evidence_text(passages[j]), {passages[j].chunk.language, language})
                evidence_terms[j, language] = set(self.sparse.encode_query(text, language=language).indices)
            return evidence_terms[j, language]

        def support(i: int, j: int, numbers_ok: bool) -> Support:
            """The sentence against passage j, in the passage's language when it was translated into it."""
            key = (i, passages[j].chunk.language)
            key = key if key in renderings else (i, languages[i])
            return Support(
                lexical=len(terms[key] & passage_terms(j, key[1])) / len(terms[key]) if terms[key] else 0.0,
                meaning=cosine(vectors[key], passage_vectors[passages[j].n]),
                numbers_ok=numbers_ok,
                translated=key[1] != languages[i],
            )

        asked = numbers_in(question, languages)
        passage_numbers = [numbers_in(_evidence_text(p), {p.chunk.language, *languages}) | asked for p in passages]

        def judge(i: int) -> Sentence:
            markers = tuple(n for n in cited_numbers(sentences[i]) if any(p.n == n for p in passages))
            if (i, languages[i]) not in renderings:
                return Sentence(plain[i], markers, gap=gaps[i])  # not checked: too short, or a heading
            numbers = numbers_in(plain[i])
            supports = {p.n: support(i, j, numbers <= passage_numbers[j]) for j, p in enumerate(passages)}
            holding = [n for n in markers if supports[n].holds]
            if holding:
                return Sentence(plain[i], tuple(holding), gap=gaps[i])
            best = max(supports, key=lambda n: supports[n].strength, default=None)
            if best is not None and supports[best].holds:
                return Sentence(plain[i], (best,), gap=gaps[i])
            return Sentence(plain[i], (), unsupported=True, gap=gaps[i])

        result = [judge(i) for i in range(len(sentences))]
        # Only a sentence no passage supports in its own language is translated: an answer whose passages are in
        # its language, or that they already back, costs no call.
        unsupported = [i for i in checked if result[i].unsupported]
        if translate is not None and unsupported:
            encode(_translated(plain, unsupported, languages, passages, translate))
            for i in unsupported:
                result[i] = judge(i)
        return result

    def _terms(self, text: str, language: str | None) -> set[int]:
        return set(self.sparse.encode_query(with_digits(text, {language}), language=language).indices)


def _translated(plain: Sequence[str], indices: Sequence[int], languages: Sequence[str | None],
                passages: Sequence[Passage], translate: Translate) -> dict[tuple[int, str | None], str]:
    """{(sentence, language): the sentence in that language}, for each language of the passages that one of these
    sentences is not written in: one translate call per such language."""
    found: dict[tuple[int, str | None], str] = {}
    for language in sorted({p.chunk.language for p in passages if p.chunk.language}):
        wanted = [i for i in indices if languages[i] != language]
        if not wanted:
            continue
        for i, text in zip(wanted, translate([plain[i] for i in wanted], language)):
            if text:
                found[i, language] = text
    return found


def render(sentences: Sequence[Sentence]) -> str:
    """The answer text again, each sentence with its checked markers before its closing punctuation."""
    return "".join(sentence.with_markers() + sentence.gap for sentence in sentences).strip()


def _evidence_text(passage: Passage) -> str:
    chunk = passage.chunk
    return " ".join([chunk.title, *chunk.section, chunk.text])


def _is_heading(text: str) -> bool:
    return text.endswith(":") and len(text) < 80
