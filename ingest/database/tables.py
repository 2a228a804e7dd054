"""ingest's tables as SQLAlchemy Core sees them: the shape the newest revision in `schema/versions/` leaves them in.
The registry (`documents`, `pending`), the ingestion log (`batches`, `batch_files`), and which files of the versions
before the database were imported (`legacy_imports`). A change here is a new revision there."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text

metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("document_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("pages", Integer),
    Column("size", BigInteger, nullable=False),  # bytes: PostgreSQL's INTEGER stops at 2 GB, ENCLAVE_MAX_FILE_MB need not
    Column("groups_json", Text, nullable=False),
    Column("ingested_at", Text, nullable=False),
    Column("ingested_by", Text, nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("language", Text),
    Index("documents_name", "name"),
)

# Documents whose chunks in the store may not match `documents` (a write, a replacement or a removal under way).
# Cleared once the store agrees; whatever is left after a crash is repaired on the next run.
pending = Table("pending", metadata, Column("document_id", Text, primary_key=True))

batches = Table(
    "batches",
    metadata,
    Column("batch_id", Text, primary_key=True),
    # Which batch started last when two share a second of started_at (SQLite's rowid did that; PostgreSQL has none).
    Column("seq", BigInteger, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("user", Text, nullable=False),
    Column("total", Integer, nullable=False),
)

batch_files = Table(
    "batch_files",
    metadata,
    Column("batch_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("chunks", Integer, nullable=False, server_default="0"),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("batch_id", "path"),
)

# One row per file of an older version imported into the database (keyed by its name in the data folder): written
# in the import's own transaction, so the import never runs twice, even when renaming the file afterwards failed.
legacy_imports = Table(
    "legacy_imports",
    metadata,
    Column("file", Text, primary_key=True),
    Column("source", Text, nullable=False),  # the path it was read from
    Column("rows", Integer, nullable=False),
    Column("imported_at", Text, nullable=False),
)
