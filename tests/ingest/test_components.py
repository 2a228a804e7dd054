"""The shared components open from settings alone, start no parse worker, and release the store when closed."""

from __future__ import annotations

import pytest

from ingest import StoreBusy, load_settings, open_components


def test_components_open_empty_and_release_the_embedded_store_when_closed(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", _env_file=None)
    parts = open_components(settings)
    try:
        assert parts.documents() == [] and parts.store.count() == 0
        assert parts.embedder.dimension == 384
        with pytest.raises(StoreBusy):  # one process at a time holds an embedded store
            open_components(settings)
    finally:
        parts.close()
    again = open_components(settings)  # the lock went with close()
    again.close()
