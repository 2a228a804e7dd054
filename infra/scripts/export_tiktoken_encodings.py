"""Write o200k_base.tiktoken and cl100k_base.tiktoken into a folder, for vLLM's TIKTOKEN_ENCODINGS_BASE.

gpt-oss's chat format (harmony) downloads o200k_base on first use, which fails on an offline host. llama-index
ships both encodings under hashed cache names; this copies them out under their real names and checks their
SHA-256. Run it with the project's environment, then copy the folder to the GPU host's models folder:

    .venv/bin/python infra/scripts/export_tiktoken_encodings.py /srv/enclave/models/tiktoken
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from assistant import LLMServerError, provide_tiktoken_encodings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where to write the .tiktoken files")
    args = parser.parse_args()
    try:
        folder = provide_tiktoken_encodings(args.folder)
    except LLMServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in sorted(folder.glob("*.tiktoken")):
        print(f"{path}  ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
