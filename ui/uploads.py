"""Uploaded files, from the app's Documents page or the API's /v1/documents: safe names, and saving them under the
originals folder so that a half-written upload is never ingested."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO, Iterable

from ingest import DiskFull, FileResult, clean_file_name, ensure_free_space
from ui.errors import UIError


class UnsafeFileName(UIError):
    """An uploaded file's name cannot be used as a file name under the originals folder."""


def safe_file_name(name: str) -> str:
    """The name an upload is saved under: its base name only, without control characters (ingest.parsing.file_names).
    Raises UnsafeFileName for names that are empty or a path step ("." or "..") once cleaned."""
    cleaned = clean_file_name(name)
    if not cleaned:
        raise UnsafeFileName(f"{name!r} is not a usable file name: rename the file and upload it again")
    return cleaned


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
            ensure_free_space(folder, len(data) if isinstance(data, bytes) else getattr(data, "size", 0))
            saved.append(save_upload(name, data, folder))
        except (UIError, DiskFull) as exc:
            refused.append(FileResult(name, "failed", str(exc)))
    return saved, refused
