"""Questions about a whole document: "What is this document about?", "Summarise the memo", "What does the handbook
cover?". Retrieval finds passages that answer a question; an overview needs the document's opening and its
structure instead, so these questions are answered from the document's first passages and its section titles.

Which document: the one the question names (by words of its file name or title), else the only one the user may
see, else the one added most recently (the one a user asks about right after an upload).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ingest import Chunk, DocumentRecord

# Asking for an overview, in the languages the assistant answers in. "this/the document/file/…" alone is not
# enough ("What does the memo say about water?" is a question, not an overview).
_OVERVIEW = re.compile(
    r"""
    \b(?:what\s+(?:is|are)|what's)\s+(?:this|that|the|these)\s+(?:\w+[\s-]+){0,3}?about\b
    | \bwhat\s+(?:is|are)\s+(?:\w+[\s-]+){1,4}?about\s*\??\s*$
    | \bwhat\s+does\s+(?:this|that|the)\s+(?:[\w-]+\s+){0,3}?(?:cover|contain|say|describe|discuss)\s*\??\s*$
    | \b(?:summari[sz]e|summary\s+of|sum\s+up|overview\s+of|outline\s+of|gist\s+of|tl;?dr)\b
    | \bgive\s+me\s+(?:an?\s+)?(?:overview|summary)\b
    | \bde\s+qu[ée]\s+(?:trata|va|habla)\b | \bres[uú]me(?:n|nos|me)?\b | \bresumir\b
    | \bworum\s+geht\s+es\b | \bwovon\s+handelt\b | \bzusammenfass | \bfasse\b.*\bzusammen\b | \b[üu]berblick\b
    | \bde\s+quoi\s+(?:parle|traite)\b | \br[ée]sum[ée]\b | \br[ée]sumer\b | \bsynth[èe]se\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Words that say "a document" without naming one.
_GENERIC = {
    "what", "whats", "is", "are", "the", "this", "that", "these", "about", "does", "document", "documents", "file",
    "files", "upload", "uploaded", "just", "i", "me", "give", "an", "a", "of", "summarise", "summarize", "summary",
    "overview", "outline", "cover", "contain", "say", "describe", "discuss", "please", "can", "you", "sum", "up",
    "de", "qué", "que", "trata", "el", "la", "documento", "archivo", "resume", "resumen", "worum", "geht", "es",
    "das", "dokument", "die", "datei", "zusammen", "fasse", "zusammenfassung", "quoi", "parle", "le", "fichier",
    "résumé", "resume", "pdf", "doc", "docx", "in", "it", "gist", "and",
}
OPENING_CHUNKS = 6  # the first passages given to the model
SECTIONS_SHOWN = 40  # section titles listed in the outline


@dataclass(frozen=True)
class OverviewTarget:
    record: DocumentRecord
    named: bool  # the question named it (else: the only, or the latest, document)


@dataclass
class Outline:
    """What an overview is written from: the opening chunks, and the section titles in reading order."""

    opening: list[Chunk]
    sections: list[str] = field(default_factory=list)


def asks_for_overview(question: str) -> bool:
    return bool(_OVERVIEW.search(question))


def choose_document(question: str, records: Sequence[DocumentRecord]) -> OverviewTarget | None:
    """The document an overview question is about, among those the user may see (None if there are none)."""
    if not records:
        return None
    words = {w for w in re.findall(r"\w+", question.casefold()) if w not in _GENERIC and len(w) > 2}
    scored = []
    for record in records:
        names = set(re.findall(r"\w+", f"{record.name} {record.title}".casefold()))
        hits = sum(1 for w in words if w in names or any(n.startswith(w) or w.startswith(n) for n in names
                                                          if len(n) > 3 and len(w) > 3))
        scored.append((hits, record.ingested_at, record))
    best = max(scored, key=lambda s: (s[0], s[1]))
    if best[0] > 0:
        return OverviewTarget(best[2], named=True)
    if words and len(records) > 1:
        return None  # it names something, but no document: let retrieval look for it
    return OverviewTarget(best[2], named=False)


def build_outline(chunks: Sequence[Chunk]) -> Outline:
    """The opening chunks and distinct section titles of a document's chunks (given in reading order)."""
    sections: list[str] = []
    for chunk in chunks:
        if chunk.section:
            title = " › ".join(chunk.section)
            if title not in sections:
                sections.append(title)
    return Outline(list(chunks[:OPENING_CHUNKS]), sections[:SECTIONS_SHOWN])
