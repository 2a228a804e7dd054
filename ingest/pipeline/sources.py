"""Where documents come from and who they are: files and folders (expanded), texts given as records (and their
hashes; a file's is ingest.hashing's, taken with its size by measure_file), and the stable ids both get, so that
ingesting the same file or record again updates the same document."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ingest.errors import DocumentError, FileTooLarge
from ingest.hashing import hash_file
from ingest.models import FileResult

# Namespace of Enclave's document and chunk ids (uuid5). Changing it would re-key every stored chunk.
ID_NAMESPACE = uuid.UUID("6f1c2a52-8f4e-4d0c-9a53-2c1b6f0e7a11")
RECORD_SOURCE = "record:"  # prefix of the source of a document given as text, not as a file


@dataclass(frozen=True)
class TextRecord:
    """A document given as text rather than a file."""

    key: str  # stable identity: the same key later updates the same document
    name: str  # shown as the document's name in results and citations
    title: str
    text: str


def document_id_for(path: Path) -> str:
    """A stable id for the file at this absolute path: re-ingesting it updates the same document."""
    return str(uuid.uuid5(ID_NAMESPACE, "file:" + str(path.resolve())))


def record_id_for(key: str) -> str:
    """A stable id for the text record with this key."""
    return str(uuid.uuid5(ID_NAMESPACE, RECORD_SOURCE + key))


def hash_record(record: TextRecord) -> str:
    return hashlib.sha256(f"{record.title}\0{record.text}".encode()).hexdigest()


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand folders recursively (skipping hidden files); report paths that do not exist."""
    files: list[Path] = []
    missing: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileResult(str(raw), "failed", "no such file or folder"))
    first: dict[Path, Path] = {}  # each file once, as first named, in order
    for p in files:
        first.setdefault(p.resolve(), p)
    return list(first.values()), missing


def measure_file(path: Path, max_file_mb: float) -> tuple[int, str]:
    """The file's size and content hash; a DocumentError if it is over `max_file_mb` (ENCLAVE_MAX_FILE_MB) or cannot
    be read."""
    try:
        size = path.stat().st_size
        if size > int(max_file_mb * 1024 * 1024):
            raise FileTooLarge(f"file is {size / 1048576:.1f} MB, over the {max_file_mb:g} MB limit "
                               "(raise ENCLAVE_MAX_FILE_MB to allow it)")
        return size, hash_file(path)
    except OSError as exc:
        raise DocumentError(f"cannot read the file: {exc.strerror or exc}") from exc
