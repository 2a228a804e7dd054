"""Free space under the data folder, checked before the store is opened and before each batch is written.

The embedded store writes through memory-mapped files: a write the disk cannot hold kills the whole process with
SIGBUS (no exception, no message; in the app, every user's session with it). So the room a batch needs is checked
before it is written, and a full disk becomes a DiskFull error that names what is free and what is needed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from ingest.errors import DiskFull

MB = 1024 * 1024
# Kept free beyond each batch's own estimate: the registry's and the jobs log's journals, the store's page trackers
# and indexes growing, and reopening a store whose WAL must be replayed after a crash (measured: ~23 MB for 4,247
# chunks on tmpfs). Below it even opening the store can crash.
RESERVE_BYTES = 32 * MB
# Per chunk, measured on the shared documents: 69.4 MB for 9,370 chunks in the embedded store (7.6 KB each), about
# half of it the WAL, which keeps every upsert (vectors, lexical vector and text) until the segments are optimized.
_OVERHEAD_PER_CHUNK = 2048  # lexical vector, ids, payload index entries, WAL framing
_SAFETY = 1.5  # the estimate errs on the side of stopping early


def free_bytes(path: Path) -> int:
    """Bytes this process may still write on the filesystem holding `path` (or its nearest existing parent)."""
    stats = os.statvfs(_existing(path))
    return stats.f_bavail * stats.f_frsize


def bytes_for_chunks(texts: Iterable[str], dimension: int) -> int:
    """Disk the embedded store needs for these chunks: each vector and text twice (segment and WAL), plus overhead."""
    per_vector = 2 * 4 * dimension + _OVERHEAD_PER_CHUNK
    return int(_SAFETY * sum(per_vector + 2 * len(text.encode("utf-8")) for text in texts))


def ensure_free_space(data_dir: Path, needed: int = 0, mapped: Path | None = None) -> None:
    """Raise DiskFull unless `needed` bytes and the reserve are free under `data_dir`.

    mapped: the folder of memory-mapped files (the embedded store). On a RAM filesystem (tmpfs) reading a mapped
    file's unwritten part takes memory too, and Qdrant reads its files whole on opening: their holes count as needed.
    """
    free = free_bytes(data_dir)
    wanted = needed + RESERVE_BYTES
    mapped_in_ram = 0
    if mapped is not None and filesystem_type(data_dir) in _RAM_FILESYSTEMS:
        mapped_in_ram = unbacked_bytes(mapped)
        wanted += mapped_in_ram
    if free < wanted:
        ram = (f" (on a RAM filesystem the store's memory-mapped files take their full size: {mapped_in_ram / MB:.0f}"
               " MB more)") if mapped_in_ram else ""
        raise DiskFull(
            f"{DiskFull.PREFIX} {free / MB:.0f} MB free under ENCLAVE_DATA_DIR ({data_dir}), about {wanted / MB:.0f} MB "
            f"needed{ram}; free some space (or move ENCLAVE_DATA_DIR to a larger disk) and try again: what is "
            "already stored is kept"
        )


_RAM_FILESYSTEMS = ("tmpfs", "ramfs")


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path` ("ext4", "tmpfs", …), from /proc/self/mounts; "" if unknown."""
    target = os.path.realpath(_existing(path))
    best, kind = "", ""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])  # a space comes as \040
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


# What Qdrant Edge 0.9 maps whole when it opens a store (measured on tmpfs: 46 MB for a store of 3 chunks, all of it
# the dense vectors' first 32 MB chunk and the payload indexes' pages; the WAL and the payload pages stay sparse).
_MAPPED_WHOLE = ("vectors", "payload_index")


def unbacked_bytes(folder: Path) -> int:
    """The sizes not yet backed by storage (sparse holes) of the files under `folder` that the store maps whole."""
    total = 0
    for root, _, files in os.walk(folder):
        if not set(Path(root).parts) & set(_MAPPED_WHOLE):
            continue
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue  # removed meanwhile
            total += max(0, stat.st_size - stat.st_blocks * 512)
    return total


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
