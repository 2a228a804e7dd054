"""Where the shared real-world test files live (read-only; copy before changing)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.is_dir():  # CI lays shared/ beside the checkout; a session keeps it at /work/shared
    SHARED = Path("/work/shared")
DOCS = SHARED / "data" / "docs"
BAD = SHARED / "data" / "bad"
SCIFACT = SHARED / "data" / "scifact"
