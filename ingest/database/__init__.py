"""The relational database: everything Enclave keeps besides vectors and original files (the document registry,
the ingestion log, and, from `assistant`, users, sessions, the audit trail and conversations).

engine      open the database the settings name (a SQLite file under the data folder, or PostgreSQL), with its
            connection rules, and wrap its errors
migrations  Alembic migration trees: each package that keeps tables has its own, with its own version table, and
            every tree is brought up to date at start-up (or by `enclave db upgrade`)
"""

from ingest.database.engine import Database, database_url, open_database
from ingest.errors import DatabaseUnavailable
from ingest.database.migrations import MigrationTree, current_revision, head_revision, upgrade_tree

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "MigrationTree",
    "current_revision",
    "database_url",
    "head_revision",
    "open_database",
    "upgrade_tree",
]
