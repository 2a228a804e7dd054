"""Parsing: one file into a ParsedDocument (what it really is, its elements, title and language), then into chunks.

detection        what a file really is, from its bytes; early refusals; text decoding
partitioning     a file into elements with unstructured's partitioners, offline (OCR, LibreOffice where needed)
emails           e-mails as one document: the body, then each attachment parsed like a file of its own
plain_text       plain text into elements, with spaCy only where it can change the answer
sentences        the light spaCy pipeline unstructured's text heuristics get, and batches of paragraphs
library_patches  every change made to unstructured's internals, checked when installed (once per parse worker)
elements         unstructured's elements into Enclave's; a document's title and language
file_names       file names from outside (uploads, attachments) made safe to write
chunking         a parsed document into chunks that follow its structure and fit the embedding model

Importing the package loads neither unstructured nor spaCy (the parse workers go offline first): its modules load
them when a file is parsed, and the patches, which need them at once, load on first use (PEP 562), as in `ingest`.
"""

from typing import TYPE_CHECKING

from ingest.parsing.chunking import ChunkingOptions, chunk_document, context_header, count_tokens, load_tokenizer
from ingest.parsing.detection import FileType, decode_text, detect_file_type, read_text
from ingest.parsing.elements import detect_language
from ingest.parsing.file_names import MAX_NAME_BYTES, clean_file_name
from ingest.parsing.partitioning import parse_file
from ingest.parsing.sentences import load_light_pipeline

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from ingest.parsing.library_patches import install_patches

_LAZY = {
    "install_patches": "ingest.parsing.library_patches",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest.parsing' has no attribute {name!r}")


__all__ = [
    "MAX_NAME_BYTES",
    "ChunkingOptions",
    "FileType",
    "chunk_document",
    "clean_file_name",
    "context_header",
    "count_tokens",
    "decode_text",
    "detect_file_type",
    "detect_language",
    "install_patches",
    "load_light_pipeline",
    "load_tokenizer",
    "parse_file",
    "read_text",
]
