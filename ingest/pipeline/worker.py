"""The job a parse worker process runs for one file: go offline, parse, chunk; bad files raise DocumentError."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ingest.errors import EmptyDocument
from ingest.models import ChunkDraft
from ingest.offline import enforce_offline
from ingest.parsing.chunking import ChunkingOptions, chunk_document

# These libraries log their own diagnostics about damaged or odd files ("EOF marker not found", "No languages
# specified"); the worker reports one clear reason per file instead, so only their errors are let through.
_CHATTY_LOGGERS = ("unstructured", "pdfminer", "pypdf", "pikepdf")


@dataclass(frozen=True)
class ParseOutcome:
    """What the pipeline needs from one parsed file (picklable: it crosses the process boundary)."""

    title: str
    language: str | None
    pages: int | None
    chunks: list[ChunkDraft] = field(default_factory=list)
    warnings: tuple[str, ...] = ()  # parts left out of a stored document (an unreadable e-mail attachment)


def warm_up() -> None:
    """Go offline, quieten the parsers' logs, import them, patch unstructured (its light spaCy pipeline, the Word
    and HTML body-text shortcuts: ingest.parsing.library_patches), and load what the first file would; idempotent."""
    enforce_offline()
    _quiet_library_logs()
    # After enforce_offline: importing unstructured reads those switches.
    from ingest.parsing.library_patches import install_patches
    from ingest.parsing.sentences import load_light_pipeline

    install_patches()
    # What the first file would otherwise load (~2.5 CPU-s a worker), now, while the embedding model loads: the PDF
    # partitioner (pdfminer and the layout code, 1.5 CPU-s), the PowerPoint one (0.3 CPU-s) and the spaCy model.
    import unstructured.partition.pdf  # noqa: F401
    import unstructured.partition.pptx  # noqa: F401

    load_light_pipeline()


def parse_and_chunk(path: str, options: ChunkingOptions, max_attachment_bytes: int | None = None) -> ParseOutcome:
    """Parse the file and cut it into chunks; raise a DocumentError subclass if it cannot be ingested."""
    warm_up()
    from ingest.parsing.partitioning import parse_file

    document = parse_file(path, max_attachment_bytes=max_attachment_bytes)
    chunks = chunk_document(document, options)
    if not chunks:
        raise EmptyDocument("no text content: the file holds no text to index")
    return ParseOutcome(title=document.title, language=document.language, pages=document.pages, chunks=chunks,
                        warnings=tuple(document.warnings))


def _quiet_library_logs() -> None:
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level != logging.ERROR:  # setLevel clears every logger's cache: not again for each file
            logger.setLevel(logging.ERROR)
