"""What the command tests share."""

from __future__ import annotations

from typing import Iterator

import pytest

from assistant import Accounts, load_assistant_settings, open_accounts
from ingest import load_settings


@pytest.fixture
def accounts(env) -> Iterator[Accounts]:
    """The accounts in the data folder or database of the test's `env` (each file says what that holds), opened
    beside the commands as the app and the API open them, to check what a command changed."""
    settings = load_settings(data_dir=env["ENCLAVE_DATA_DIR"], database_url=env["ENCLAVE_DATABASE_URL"] or None,
                             _env_file=None)
    accounts = open_accounts(settings, load_assistant_settings(_env_file=None))
    yield accounts
    accounts.close()
