"""Uploaded files: safe names, saving them under the originals folder, and the progress of ingesting them."""

from __future__ import annotations

import os
import threading
import unicodedata
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterable

from ingest import FileResult, IngestError
from ui.errors import UIError

if TYPE_CHECKING:  # the pipeline module loads the embedding stack: too heavy for a type
    from ingest import Ingestor
    from ingest.jobs import BatchStatus

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


class BackgroundIngest:
    """Runs one upload batch at a time in a thread of its own, so that reloading or leaving the page does not
    stop it (Streamlit stops a page's script when the browser goes away). Progress lives in the ingestion log."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, ingestor: "Ingestor", lock: threading.Lock, paths: list[Path], groups: tuple[str, ...],
              user: str) -> bool:
        """Start ingesting; False when a batch is already running."""
        if self.running():
            return False

        def work() -> None:
            try:
                with lock:
                    ingestor.ingest(paths, groups=groups, user=user)
            except IngestError as exc:
                self.error = f"Ingestion stopped: {exc}"

        self.error = None
        self._thread = threading.Thread(target=work, name="enclave-upload", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def summarize_batch(batch: "BatchStatus") -> str:
    counts = {s: sum(f.status == s for f in batch.files) for s in ("added", "updated", "unchanged", "failed")}
    line = f"{len(batch.files)} files: {counts['added']} added, {counts['unchanged']} unchanged, {counts['failed']} failed"
    return line + (f", {counts['updated']} updated" if counts["updated"] else "")
