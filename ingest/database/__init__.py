"""The relational database: everything Enclave keeps besides vectors and original files (the document registry,
the ingestion log, and, from `assistant`, users, sessions, the audit trail and conversations).

engine      open the database the settings name (a SQLite file under the data folder, or PostgreSQL), with its
            connection rules, transactions, locks (`Database.locking`), and its errors wrapped
locks       the locks behind `Database.locking`: advisory locks on PostgreSQL, flock files beside a SQLite file
migrations  Alembic migration trees: each package that keeps tables has its own, with its own version table, and
            every tree is brought up to date at start-up (or by `enclave db upgrade`)
tables      ingest's tables (registry, ingestion log) for SQLAlchemy Core; schema/ is their tree, INGEST_TABLES
dumps       a copy of the whole database in one file (sqlite3's backup API, pg_dump), and that copy put back
legacy      the import of a data folder of the versions before the database (their registry and log files)
"""

from ingest.database import tables
from ingest.database.engine import Database, database_url, hold_lock, open_database
from ingest.errors import DatabaseUnavailable
from ingest.database.migrations import MigrationTree, current_revision, head_revision, run_env, upgrade_tree
from ingest.database.schema import INGEST_TABLES
from ingest.database.legacy import LegacyImport, import_legacy_files
from ingest.database.dumps import DUMP_FILES, database_is_empty, dump_database, restore_database

__all__ = [
    "DUMP_FILES",
    "INGEST_TABLES",
    "Database",
    "DatabaseUnavailable",
    "LegacyImport",
    "MigrationTree",
    "current_revision",
    "database_is_empty",
    "database_url",
    "dump_database",
    "head_revision",
    "hold_lock",
    "import_legacy_files",
    "open_database",
    "restore_database",
    "tables",
    "run_env",
    "upgrade_tree",
]
