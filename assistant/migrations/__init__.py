"""The migration tree of every table `assistant` keeps (accounts, sessions, API keys, the audit trail and
conversations), with its own version table. `open_enclave`, `open_accounts`, `open_audit_trail` and
`open_conversations` bring it up to date at start-up.

Each revision in `versions/` writes its tables out in full, without importing the code that uses them: a revision
must create the same tables next year, whatever the code has become by then."""

from __future__ import annotations

from pathlib import Path

from ingest import Database, IngestSettings, MigrationTree, open_database, upgrade_tree

ASSISTANT_TABLES = MigrationTree("assistant", Path(__file__).resolve().parent, "assistant_schema_version")


def open_assistant_database(ingest_settings: IngestSettings) -> Database:
    """Open the database and bring the assistant's tables up to date, without the models or the store (what
    `open_accounts` and `open_audit_trail` stand on). Raises DatabaseUnavailable or SettingsError (as `open_database`
    does)."""
    database = open_database(ingest_settings)
    try:
        upgrade_tree(database, ASSISTANT_TABLES)
    except BaseException:
        database.close()
        raise
    return database


__all__ = ["ASSISTANT_TABLES", "open_assistant_database"]
