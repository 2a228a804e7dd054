"""Fixtures for the accounts' tests: a quick hasher, and Accounts on a real database with the test's clock
(tests/clocks.py)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from argon2 import PasswordHasher

from assistant import Accounts, Passwords, load_assistant_settings, open_accounts

# Argon2id still, with the smallest cost: a test signs in dozens of times, and the product's parameters (64 MiB,
# 3 passes) take a third of a second each on a busy CPU. The cost is not what these tests are about.
QUICK = dict(time_cost=1, memory_cost=8, parallelism=1)

SESSION_HOURS = 8
ATTEMPTS = 3
WINDOW_MINUTES = 10


class CountingHasher(PasswordHasher):
    """The real hasher, noting the parameters of each hash it verifies against: to see that an unknown name costs
    the same work as a known one, without measuring time."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash).rsplit("$", 2)[0])  # $argon2id$v=19$m=…,t=…,p=…
        return super().verify(hash, password)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher(**QUICK)


@pytest.fixture
def assistant_settings():
    return load_assistant_settings(session_hours=SESSION_HOURS, sign_in_attempts=ATTEMPTS,
                                   sign_in_window_minutes=WINDOW_MINUTES, _env_file=None)


@pytest.fixture
def accounts(database_settings, assistant_settings, clock, hasher) -> Iterator[Accounts]:
    """Accounts on a new database (SQLite and PostgreSQL), with the test's clock and the quick hasher."""
    accounts = open_accounts(database_settings, assistant_settings, clock=clock, passwords=Passwords(hasher))
    yield accounts
    accounts.close()
