"""Fixtures for the conversations' tests: a store on a new database (SQLite and PostgreSQL) with the test's clock."""

from __future__ import annotations

from typing import Iterator

import pytest

from assistant import Conversations, load_assistant_settings, open_conversations

RETENTION_DAYS = 30  # the retention these tests set


@pytest.fixture
def conversations(database_settings, clock) -> Iterator[Conversations]:
    store = open_conversations(database_settings,
                               load_assistant_settings(conversation_retention_days=RETENTION_DAYS, _env_file=None),
                               clock=clock)
    yield store
    store.close()
