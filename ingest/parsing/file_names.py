"""File names that arrive from outside (browser uploads, e-mail attachments) made safe to write to disk."""

from __future__ import annotations

import unicodedata

# Linux allows 255 bytes per file name; keep room for the temporary name used while writing.
MAX_NAME_BYTES = 200

# Bidirectional overrides and isolates make "report‮fdp.exe" display as "reportexe.pdf": never useful in a
# file name. Other format characters (zero-width joiners, used by Persian and emoji) are kept.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def clean_file_name(name: str) -> str:
    """The base name only (no directory, Windows or POSIX), without control or direction-override characters,
    NFC-normalised (the same name typed on macOS and on Windows is the same file) and shortened to MAX_NAME_BYTES
    in its stem. Letters of any script, spaces and punctuation stay as given. "" when nothing usable is left
    (empty, "." or "..")."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]  # browsers on Windows may send C:\...\file.pdf
    cleaned = "".join(ch for ch in base if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    cleaned = unicodedata.normalize("NFC", cleaned).strip()
    if cleaned.strip(".") == "":
        return ""
    return shorten_file_name(cleaned)


def shorten_file_name(name: str) -> str:
    """Cut an over-long name in its stem, keeping the extension that tells the parser the file type."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip() + suffix
