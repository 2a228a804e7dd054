"""Helpers for the audit trail's tests: change its tables behind its back, as someone holding the database's
password could, to see that `verify` notices.

    tamper(database, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

RETENTION_DAYS = 30  # the retention the audit tests set


def tamper(database: Any, sql: str, **parameters: Any) -> None:
    """Run one statement on the database (an ingest.Database) directly, in a transaction of its own."""
    with database.engine.begin() as connection:
        connection.execute(text(sql), parameters)
