"""Cut a parsed document into chunks that follow its structure (sections, lists, tables) and never exceed the
embedding model's token budget, counted with that model's own tokenizer."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from ingest.errors import SettingsError
from ingest.models import Chunk, ChunkDraft, Element, ParsedDocument

if TYPE_CHECKING:
    from tokenizers import Tokenizer

_ELEMENT_SEPARATOR = "\n\n"
_LIST_SEPARATOR = "\n"
# Over-long text is split in segments of this many characters (cut at a line or sentence end), so the sentence
# splitter's memory stays bounded whatever the file: a 2 MB line would otherwise become 300k word objects at once.
_SEGMENT_CHARS = 50_000
_HEADING_MAX_CHARS = 200
_SENTENCE_STOPS = ".!?…"
_FULL_WIDTH_STOPS = "。！？"  # CJK text has no space after a sentence
_CLOSERS = "\"')]»”’"


@dataclass(frozen=True)
class ChunkingOptions:
    """How to cut: the embedding model's folder (for its tokenizer.json) and the budget in that model's tokens."""

    tokenizer_path: str
    max_tokens: int
    overlap_tokens: int

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise SettingsError(f"chunk size must be at least 16 tokens (ENCLAVE_CHUNK_TOKENS is {self.max_tokens})")
        if not 0 <= self.overlap_tokens <= self.max_tokens // 2:
            raise SettingsError(
                f"chunk overlap must be between 0 and half the chunk size ({self.max_tokens // 2} tokens); "
                f"ENCLAVE_CHUNK_OVERLAP is {self.overlap_tokens}"
            )


@functools.lru_cache(maxsize=4)
def load_tokenizer(tokenizer_path: str) -> "Tokenizer":
    """The embedding model's tokenizer, loaded once per process, counting every token (no truncation, no padding)."""
    from tokenizers import Tokenizer

    path = Path(tokenizer_path)
    file = path if path.is_file() else path / "tokenizer.json"
    if not file.is_file():
        raise SettingsError(f"no tokenizer.json in {tokenizer_path}: the embedding model folder is incomplete")
    tokenizer = Tokenizer.from_file(str(file))
    tokenizer.no_truncation()  # the file ships truncation at the model's window, which would hide long chunks
    tokenizer.no_padding()
    return tokenizer


def token_ids(tokenizer_path: str, text: str) -> list[int]:
    return load_tokenizer(tokenizer_path).encode(text, add_special_tokens=False).ids


def count_tokens(tokenizer_path: str, text: str) -> int:
    return len(token_ids(tokenizer_path, text))


@dataclass
class _Unit:
    """What the packer places whole: one element, or a run of list items that fits in one chunk."""

    text: str
    tokens: int
    pages: tuple[int, ...]
    category: str = ""


@dataclass
class _Draft:
    texts: list[str] = field(default_factory=list)
    tokens: int = 0
    pages: set[int] = field(default_factory=set)
    section: tuple[str, ...] = ()
    has_body: bool = False


def chunk_document(doc: ParsedDocument, options: ChunkingOptions) -> list[ChunkDraft]:
    """Chunks in reading order: a new one at each section title; small elements merged, long ones split."""
    return _Chunker(options).run(doc.elements)


class _Chunker:
    def __init__(self, options: ChunkingOptions) -> None:
        self.options = options
        self.limit = options.max_tokens
        self.separator_tokens = self.count(_ELEMENT_SEPARATOR)
        self.chunks: list[ChunkDraft] = []
        self.draft = _Draft()
        self.headings: list[tuple[int, str]] = []

    def count(self, text: str) -> int:
        return count_tokens(self.options.tokenizer_path, text)

    def measure(self, text: str) -> int:
        """Tokens in an element; anything longer than a segment is simply "too long" (splitting settles it) so a
        multi-megabyte element is never tokenized in one go."""
        return self.limit + 1 if len(text) > _SEGMENT_CHARS else self.count(text)

    def run(self, elements: Sequence[Element]) -> list[ChunkDraft]:
        for unit in self._units(elements):
            self._place(unit)
        self._flush()
        return [piece for chunk in self.chunks for piece in self._enforce_limit(chunk)]

    # -- grouping ---------------------------------------------------------------------------------------------

    def _units(self, elements: Sequence[Element]) -> Iterator[_Unit]:
        run: list[Element] = []
        for element in elements:
            if element.category == "ListItem":
                run.append(element)
                continue
            if run:
                yield from self._list_units(run)
                run = []
            if element.category == "Title":
                self._enter_section(element)
            yield _Unit(element.text, self.measure(element.text), _pages([element]), element.category)
        if run:
            yield from self._list_units(run)

    def _list_units(self, items: list[Element]) -> Iterator[_Unit]:
        """A list stays in one chunk when it fits; a longer list flows item by item."""
        counts = [self.measure(item.text) for item in items]
        if sum(counts) <= self.limit:  # newlines between items cost no tokens in WordPiece; _enforce_limit checks
            yield _Unit(_LIST_SEPARATOR.join(i.text for i in items), sum(counts), _pages(items), "List")
            return
        for item, tokens in zip(items, counts):
            yield _Unit(item.text, tokens, _pages([item]), "ListItem")

    def _enter_section(self, title: Element) -> None:
        # Units are generated lazily, so this runs just before the title reaches _place: the path is current.
        while self.headings and self.headings[-1][0] >= title.level:
            self.headings.pop()
        self.headings.append((title.level, " ".join(title.text.split())[:_HEADING_MAX_CHARS]))

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.headings)

    # -- packing ----------------------------------------------------------------------------------------------

    def _place(self, unit: _Unit) -> None:
        draft = self.draft
        is_title = unit.category == "Title"
        if is_title and draft.has_body:
            self._flush()
        if unit.tokens > self.limit:
            self._place_long(unit)
            return
        extra = unit.tokens + (self.separator_tokens if draft.texts else 0)
        if draft.texts and draft.tokens + extra > self.limit:
            self._flush()
            extra = unit.tokens
        draft = self.draft
        if not draft.texts or is_title:
            draft.section = self.section
        draft.texts.append(unit.text)
        draft.tokens += extra
        draft.pages.update(unit.pages)
        draft.has_body = draft.has_body or not is_title

    def _place_long(self, unit: _Unit) -> None:
        """Split an element too long for one chunk; a heading waiting in the draft leads its first piece."""
        lead = self.draft if self.draft.texts and not self.draft.has_body else None
        if lead is None or lead.tokens > self.limit // 4:  # body text, or headings too long to lead: they go alone
            self._flush()
            lead = None
        budget = self.limit - (lead.tokens + self.separator_tokens if lead else 0)
        section = self.section
        pages = tuple(sorted(set(unit.pages) | (lead.pages if lead else set())))
        split = self._split_table if unit.category == "Table" else self._split_text
        pieces = split(unit.text, budget)
        if lead is not None and pieces:
            pieces[0] = _ELEMENT_SEPARATOR.join(lead.texts + [pieces[0]])
            self.draft = _Draft()
        for piece in pieces:
            self.chunks.append(ChunkDraft(text=piece, pages=pages, section=section))

    def _flush(self) -> None:
        draft = self.draft
        if draft.texts:
            text = _ELEMENT_SEPARATOR.join(draft.texts)
            self.chunks.append(ChunkDraft(text=text, pages=tuple(sorted(draft.pages)), section=draft.section))
        self.draft = _Draft()

    # -- splitting --------------------------------------------------------------------------------------------

    def _split_text(self, text: str, budget: int) -> list[str]:
        """Split at paragraph, then sentence, then word boundaries, with overlap between consecutive pieces."""
        overlap = min(self.options.overlap_tokens, budget // 2)
        return [
            piece
            for segment in _segments(text, _SEGMENT_CHARS)
            for piece in split_at_boundaries(self.options.tokenizer_path, segment, budget, overlap)
        ]

    def _split_table(self, text: str, budget: int) -> list[str]:
        """Split a long table between rows; each piece repeats the header row so its columns keep their names."""
        header, *rows = text.split("\n")
        header_tokens = self.count(header)
        if header_tokens > budget // 3:  # a header that wide would crowd out the rows: split as plain text
            return self._split_text(text, budget)
        pieces: list[str] = []
        current: list[str] = [header]
        used = header_tokens
        for row in rows:
            tokens = self.count(row)
            if tokens > budget - header_tokens:
                if len(current) > 1:
                    pieces.append("\n".join(current))
                pieces.extend(f"{header}\n{part}" for part in self._split_text(row, budget - header_tokens))
                current, used = [header], header_tokens
                continue
            if used + tokens > budget:
                pieces.append("\n".join(current))
                current, used = [header], header_tokens
            current.append(row)
            used += tokens
        if len(current) > 1 or not pieces:
            pieces.append("\n".join(current))
        return pieces

    def _enforce_limit(self, chunk: ChunkDraft) -> list[ChunkDraft]:
        """The guarantee: measure every chunk as the embedder will, and cut any that a tokenizer quirk left too long.
        Each chunk keeps its count, so the writer need not tokenize it again to fit a context header."""
        path = self.options.tokenizer_path
        tokens = len(token_ids(path, chunk.text))
        if tokens <= self.limit:
            return [dataclasses.replace(chunk, tokens=tokens)]
        return [
            ChunkDraft(text=piece, pages=chunk.pages, section=chunk.section, tokens=count_tokens(path, piece))
            for piece in _split_by_tokens(path, chunk.text, self.limit)
        ]


def split_at_boundaries(tokenizer_path: str, text: str, budget: int, overlap: int) -> list[str]:
    """Pieces of at most `budget` tokens, each ending at the strongest boundary (paragraph, sentence, word) in the
    second half of its window; the next piece starts up to `overlap` tokens earlier, at a boundary too.

    Works on the tokenizer's character offsets, so the text is encoded once: linear in its length. (llama-index's
    SentenceSplitter re-encodes every word of a sentence it must break: 8 s on a 2 MB line with no full stop.)
    """
    offsets = load_tokenizer(tokenizer_path).encode(text, add_special_tokens=False).offsets
    total = len(offsets)
    pieces: list[str] = []
    start = 0
    while start < total:
        end = min(start + budget, total)
        if end < total:
            end = _best_boundary(text, offsets, start + budget // 2, end)
        piece = text[offsets[start][0] : offsets[end - 1][1]].strip()
        if piece:
            pieces.append(piece)
        if end >= total:
            break
        start = _overlap_start(text, offsets, end, overlap) if overlap else end
    return pieces


def _boundary_strength(text: str, offsets: Sequence[tuple[int, int]], index: int) -> int:
    """How good a cut just before token `index` is: 3 paragraph, 2 sentence or line, 1 word, 0 inside a word."""
    previous_end = offsets[index - 1][1]
    gap = text[previous_end : offsets[index][0]]
    if gap.count("\n") >= 2:
        return 3
    if "\n" in gap:
        return 2
    tail = text[max(0, previous_end - 2) : previous_end].rstrip(_CLOSERS)
    if tail[-1:] in _FULL_WIDTH_STOPS or (gap and tail[-1:] in _SENTENCE_STOPS):
        return 2
    return 1 if gap else 0


def _best_boundary(text: str, offsets: Sequence[tuple[int, int]], low: int, high: int) -> int:
    """The token index in (low, high] to cut before: the strongest boundary, the latest among equals."""
    best, best_strength = high, -1
    for index in range(high, max(low, 1), -1):
        strength = _boundary_strength(text, offsets, index) if index < len(offsets) else 3
        if strength > best_strength:
            best, best_strength = index, strength
            if strength == 3:
                break
    return best


def _overlap_start(text: str, offsets: Sequence[tuple[int, int]], end: int, overlap: int) -> int:
    """Where the next piece starts: the earliest sentence (else word) boundary within `overlap` tokens before end."""
    window = range(max(end - overlap, 1), end)
    for wanted in (2, 1):
        for index in window:
            if _boundary_strength(text, offsets, index) >= wanted:
                return index
    return end


def _split_by_tokens(tokenizer_path: str, text: str, limit: int) -> list[str]:
    """Last resort: cut between tokens, using their character offsets, shrinking a window until its text re-encodes
    within `limit` (a piece starting mid-word can tokenize differently)."""
    offsets = load_tokenizer(tokenizer_path).encode(text, add_special_tokens=False).offsets
    pieces = []
    start = 0
    while start < len(offsets):
        size = limit
        while True:
            window = offsets[start : start + size]
            piece = text[window[0][0] : window[-1][1]].strip()
            excess = count_tokens(tokenizer_path, piece) - limit
            if excess <= 0 or size == 1:
                break
            size = max(1, size - excess)
        if piece:
            pieces.append(piece)
        start += size
    return pieces


def _segments(text: str, size: int) -> Iterator[str]:
    """Cut text into pieces of at most `size` characters, preferably after a line or sentence end."""
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(". ", 0, size) + 1)
        if cut < size // 2:
            cut = text.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        yield text[:cut]
        text = text[cut:]
    if text.strip():
        yield text


def _pages(elements: Sequence[Element]) -> tuple[int, ...]:
    return tuple(sorted({e.page for e in elements if e.page is not None}))


_HEADER_MAX_CHARS = 200
_LEAD_CHARS = 300


def context_header(chunk: Chunk) -> str:
    """What a chunk is about when its own text does not say it: the document title and innermost section,
    unless the chunk already opens with them. Encoded with the chunk (dense and lexical), never stored or shown:
    a chunk cut from the middle of a document otherwise loses its subject (SciFact train: lexical nDCG@10 +0.008,
    dense +0.011; docs/benchmarks.md)."""
    parts = [p for p in dict.fromkeys((chunk.title.strip(), *(s.strip() for s in chunk.section[-1:]))) if p]
    missing = [p for p in parts if p not in chunk.text[:_LEAD_CHARS]]
    return " — ".join(missing)[:_HEADER_MAX_CHARS]
