"""The document registry (documents, pending) and the ingestion log (batches, batch_files) as the SQLite files of
the versions before the database kept them, plus `batches.seq` in place of SQLite's rowid, and legacy_imports: which
of those files were imported."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("document_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("pages", sa.Integer),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("groups_json", sa.Text, nullable=False),
        sa.Column("ingested_at", sa.Text, nullable=False),
        sa.Column("ingested_by", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.Text),
    )
    op.create_index("documents_name", "documents", ["name"])
    op.create_table("pending", sa.Column("document_id", sa.Text, primary_key=True))
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
    )
    op.create_table(
        "batch_files",
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("chunks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "path"),
    )
    op.create_table(
        "legacy_imports",
        sa.Column("file", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("legacy_imports", "batch_files", "batches", "pending", "documents"):
        op.drop_table(table)
