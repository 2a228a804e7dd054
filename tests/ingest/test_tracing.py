"""Ingestion's span (ingest/tracing.py): one per batch, with its number of files and how it ended, and no file's or
user's name in it. Real pipeline, real files, tracing started as the worker starts it (tests/traces.py)."""

from __future__ import annotations

from traces import attribute_values

from ingest import load_settings
from shared_data import DOCS

FILES = ("memo-supply-delivery.pdf", "family-day.eml")


def test_an_ingestion_batch_is_one_span_with_its_files_and_outcome(tmp_path, shared_models, recorded_spans):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        results = ingestor.ingest([DOCS / name for name in FILES], user="carol")
    finally:
        ingestor.close()

    spans = recorded_spans.finished()
    [batch] = [s for s in spans if s.name == "enclave.ingest.batch"]
    assert [r.status for r in results] == ["added", "added"]
    assert batch.attributes["enclave.ingest.files"] == 2
    assert batch.attributes["enclave.ingest.outcome"] == "finished"
    values = " ".join(attribute_values(spans)).lower()
    leaked = [name for name in ("memo-supply-delivery", "family-day", str(DOCS).lower(), "carol") if name in values]
    assert not leaked, leaked


def test_a_batch_cut_short_is_marked_interrupted_by_its_error_type_alone(tmp_path, shared_models, recorded_spans):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path / "data", _env_file=None))

    def interrupt(event):
        if event.kind == "file":
            raise KeyboardInterrupt  # Ctrl-C once the first file is settled

    try:
        try:
            ingestor.ingest([DOCS / name for name in FILES], progress=interrupt)
        except KeyboardInterrupt:
            pass
    finally:
        ingestor.close()

    [batch] = [s for s in recorded_spans.finished() if s.name == "enclave.ingest.batch"]
    assert batch.attributes["enclave.ingest.outcome"] == "interrupted"
    assert batch.attributes["error.type"] == "KeyboardInterrupt" and batch.status.description == "KeyboardInterrupt"
