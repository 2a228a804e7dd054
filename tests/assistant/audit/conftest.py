"""Fixtures for the audit trail's tests: a trail on a new database (SQLite and PostgreSQL) with the test's clock."""

from __future__ import annotations

from typing import Iterator

import pytest

from assistant import AuditTrail, load_assistant_settings, open_audit_trail
from audit_trails import RETENTION_DAYS


@pytest.fixture
def audit_settings():
    return load_assistant_settings(audit_retention_days=RETENTION_DAYS, _env_file=None)


@pytest.fixture
def trail(database_settings, audit_settings, clock) -> Iterator[AuditTrail]:
    trail = open_audit_trail(database_settings, audit_settings, clock=clock)
    yield trail
    trail.close()
