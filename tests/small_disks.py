"""Fixtures: small filesystems of a test's own, mounted for it (the tests run as root, as make test does here and in
CI), and a way to fill one up to a chosen number of free bytes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.disk_space import MB, free_bytes


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root and loop devices): {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 96 MB ext4 filesystem of its own, on a loop device: a disk as a customer's would fill up."""
    image, point = tmp_path / "disk.img", tmp_path / "disk"
    point.mkdir()
    with image.open("wb") as fh:
        fh.truncate(96 * MB)
    subprocess.run(["mkfs.ext4", "-q", "-m", "0", "-F", str(image)], check=True, capture_output=True)
    mount("-o", "loop", str(image), str(point))
    try:
        yield point
    finally:
        subprocess.run(["umount", "--lazy", "--detach-loop", str(point)], check=True)  # lazy: an app test's store may still be open


@pytest.fixture
def ram_disk(tmp_path) -> Iterator[Path]:
    """A 48 MB tmpfs: a RAM filesystem, where reading a memory-mapped file's holes takes memory too."""
    point = tmp_path / "ram"
    point.mkdir()
    mount("-t", "tmpfs", "-o", "size=48m", "tmpfs", str(point))
    try:
        yield point
    finally:
        subprocess.run(["umount", "--lazy", str(point)], check=True)


@contextmanager
def ram_folder(point: Path, size: str = "128m") -> Iterator[Path]:
    """`point` on a tmpfs of its own when one can be mounted (as root, as make test and CI run), else on the disk as
    it is: for a test that changes documents hundreds of times. Each change syncs the store and the database to disk,
    0.2 s on a disk here against 10 ms in RAM; what the test checks does not depend on where the files are."""
    point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                             check=False, capture_output=True).returncode == 0
    try:
        yield point
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(point)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Take all but `leave` bytes of the disk with one file."""
    ballast = disk / "ballast"
    with ballast.open("ab") as fh:
        os.posix_fallocate(fh.fileno(), 0, ballast.stat().st_size + free_bytes(disk) - leave)
    return ballast
