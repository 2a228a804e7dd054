"""ingest's migration tree: the registry, the ingestion log and the record of imported files (see `tables`).
`env.py` and `versions/` are read by Alembic from this folder, in the source tree and in an installed wheel alike."""

from pathlib import Path

from ingest.database.migrations import MigrationTree

INGEST_TABLES = MigrationTree("ingest", Path(__file__).resolve().parent, "ingest_schema_version")

__all__ = ["INGEST_TABLES"]
