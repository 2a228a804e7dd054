"""Shared fixtures: real parts (packaged embedding model, embedded Qdrant, real files, a real LLM server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.offline import enforce_offline

enforce_offline()

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.is_dir():  # CI lays shared/ beside the checkout; a session keeps it at /work/shared
    SHARED = Path("/work/shared")
DOCS = SHARED / "data" / "docs"
BAD = SHARED / "data" / "bad"
SCIFACT = SHARED / "data" / "scifact"


@pytest.fixture(scope="session")
def embedder():
    from ingest.embedding import Embedder
    from ingest.settings import packaged_embedding_model

    return Embedder(packaged_embedding_model())


@pytest.fixture
def ingest_settings(tmp_path):
    from ingest.settings import load_settings

    return load_settings(data_dir=tmp_path / "data", _env_file=None)
