"""Uploaded files: safe names, saving them under the originals folder, and the progress of ingesting them."""

from __future__ import annotations

import os
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterable

from ingest import FileResult
from ui.errors import UIError

if TYPE_CHECKING:  # the pipeline module loads the embedding stack: too heavy for a type
    from ingest import Progress

# Linux allows 255 bytes per file name; keep room for the temporary name used while writing.
MAX_NAME_BYTES = 200

# Bidirectional overrides and isolates make "report‮fdp.exe" display as "reportexe.pdf": never useful in a
# file name. Other format characters (zero-width joiners, used by Persian and emoji) are kept.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


class UnsafeFileName(UIError):
    """An uploaded file's name cannot be used as a file name under the originals folder."""


def safe_file_name(name: str) -> str:
    """The name an upload is saved under: its base name only, without control characters.

    Letters of any script, spaces, parentheses and dashes stay exactly as given (NFC-normalised, so the
    same name typed on macOS and on Windows is the same file). Raises UnsafeFileName for names that are
    empty or a path step ("." or "..") once cleaned.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]  # browsers on Windows may send C:\...\file.pdf
    cleaned = "".join(
        ch for ch in base if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS
    )
    cleaned = unicodedata.normalize("NFC", cleaned).strip()
    if cleaned in ("", ".", ".."):
        raise UnsafeFileName(f"{name!r} is not a usable file name: rename the file and upload it again")
    return _shorten(cleaned)


def _shorten(name: str) -> str:
    """Cut an over-long name in its stem, keeping the extension that tells the parser the file type."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip() + suffix


def save_upload(name: str, data: bytes | IO[bytes], folder: Path) -> Path:
    """Write one upload under folder with a safe name, replacing an earlier upload of the same name.

    The bytes go to a hidden temporary file first, so a half-written upload is never ingested.
    """
    target = folder / safe_file_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{uuid.uuid4().hex}.part"
    try:
        with partial.open("wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                if data.seekable():
                    data.seek(0)  # an upload object may have been read on an earlier rerun
                for block in iter(lambda: data.read(1 << 20), b""):
                    fh.write(block)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UIError(f"could not save {target.name!r} under {folder}: {exc.strerror or exc}") from exc
    return target


def save_uploads(uploads: Iterable[tuple[str, bytes | IO[bytes]]], folder: Path) -> tuple[list[Path], list[FileResult]]:
    """Save every upload it can; the others come back as failed results that name the reason."""
    saved: list[Path] = []
    refused: list[FileResult] = []
    for name, data in uploads:
        try:
            saved.append(save_upload(name, data, folder))
        except UIError as exc:
            refused.append(FileResult(name, "failed", str(exc)))
    return saved, refused


def parse_groups(text: str) -> tuple[str, ...]:
    """'hr, legal' → ('hr', 'legal'); empty → ('everyone',)."""
    groups = tuple(dict.fromkeys(g.strip() for g in text.split(",") if g.strip()))
    return groups or ("everyone",)


@dataclass
class FileRow:
    """One line of the upload status table."""

    file: str
    status: str  # an ingest stage while running (queued, parsing, embedding), then the FileResult status
    chunks: int = 0
    reason: str = ""


class UploadProgress:
    """Turns ingest progress events into a fraction for a progress bar and rows for a status table."""

    def __init__(self, refused: Iterable[FileResult] = ()) -> None:
        self._refused = [FileRow(r.path, r.status, r.chunks, r.reason) for r in refused]
        self.total = len(self._refused)  # files refused before ingestion count as done
        self.finished = len(self._refused)
        self.chunks = 0
        self._rows: dict[str, FileRow] = {}

    def update(self, event: Progress) -> None:
        if event.kind == "start":
            self.total = len(self._refused) + event.total
        elif event.kind == "stage":
            row = self._row(event.path)
            if row.status not in ("added", "updated", "unchanged", "failed"):
                row.status = event.stage
        elif event.kind == "chunks":
            self.chunks += event.count
            self._row(event.path).chunks += event.count
        elif event.kind == "file" and event.result is not None and event.result.status != "removed":
            self.finished += 1
            row = self._row(event.path or event.result.path)
            row.status, row.reason = event.result.status, event.result.reason
            row.chunks = event.result.chunks

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 0.0

    @property
    def caption(self) -> str:
        return f"{self.finished} of {self.total} files done · {self.chunks} chunks embedded"

    def rows(self) -> list[FileRow]:
        return [*self._refused, *self._rows.values()]

    def _row(self, path: str) -> FileRow:
        if path not in self._rows:
            self._rows[path] = FileRow(Path(path).name, "queued")
        return self._rows[path]
