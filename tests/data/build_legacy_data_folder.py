"""Build tests/data/legacy-data-folder.tar.gz: a data folder as Enclave wrote it before the database (commit 74d1382
and earlier): the registry in `enclave.sqlite3` and the ingestion log in `jobs.sqlite3` (raw sqlite3), beside the
embedded Qdrant store. tests/ingest/database/test_legacy.py opens a copy of it with today's code.

It must run against that old code, not today's: its `open_ingestor` is what wrote such folders.

    mkdir /tmp/old && git archive 74d1382 | tar -x -C /tmp/old
    cd /tmp/old && PYTHONPATH=/tmp/old python /path/to/tests/data/build_legacy_data_folder.py OUT.tar.gz

Two small real files from ../shared/data/docs, in two batches and two permission groups, so the import has more
than one document, batch and group to carry over.

Why an archive and not the folder itself: the embedded store preallocates its files (184 MB, nearly all holes, 1.4 MB
on disk). Git would check them out at full size; GNU tar keeps the holes (--sparse) and the archive is ~0.7 MB.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from ingest import load_settings, open_ingestor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared_data import DOCS  # noqa: E402

BATCHES = (
    ("norwich-city-iwan-roberts.txt", ("everyone",), "alice"),
    ("unstructured-readme.md", ("engineering",), "bob"),
)


def build(data_dir: Path) -> None:
    ingestor = open_ingestor(load_settings(data_dir=data_dir, _env_file=None))
    try:
        for name, groups, user in BATCHES:
            results = ingestor.ingest([DOCS / name], groups=groups, user=user)
            assert [r.status for r in results] == ["added"], results
            print(name, results[0].chunks, "chunks")
    finally:
        ingestor.close()


def archive(data_dir: Path, out: Path) -> None:
    """Holes kept, owner and times fixed: the same folder gives the same listing."""
    subprocess.run(
        ["tar", "--sparse", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=2026-12-05 00:00Z",
         "-C", str(data_dir), "-czf", str(out.resolve()), "."],
        check=True,
    )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder) / "data")
        archive(Path(folder) / "data", Path(sys.argv[1]))
