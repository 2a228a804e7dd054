"""The migration tree of every table `assistant` keeps (accounts, sessions and the audit trail now; conversations and
API keys later), with its own version table. `open_enclave` and `open_accounts` bring it up to date at start-up.

Each revision in `versions/` writes its tables out in full, without importing the code that uses them: a revision
must create the same tables next year, whatever the code has become by then."""

from __future__ import annotations

from pathlib import Path

from ingest import MigrationTree

ASSISTANT_TABLES = MigrationTree("assistant", Path(__file__).resolve().parent, "assistant_schema_version")

__all__ = ["ASSISTANT_TABLES"]
