"""The assistant's migration tree: it builds the tables the code uses, on SQLite and PostgreSQL, and it ships with the
package, so an installed Enclave (the app image installs a wheel) finds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from assistant import ASSISTANT_TABLES, load_assistant_settings, open_accounts
from ingest.database import current_revision, head_revision

ROOT = Path(__file__).resolve().parents[2]


def test_the_tree_brings_a_new_database_to_its_head_once(database_settings):
    accounts = open_accounts(database_settings, load_assistant_settings(_env_file=None))
    accounts.close()
    accounts = open_accounts(database_settings, load_assistant_settings(_env_file=None))  # nothing left to do
    try:
        assert current_revision(accounts.database, ASSISTANT_TABLES) == head_revision(ASSISTANT_TABLES) == "0005"
    finally:
        accounts.close()


def test_the_tables_the_code_uses_are_the_ones_the_migrations_create(database_settings):
    """A change to assistant/accounts/tables.py, assistant/audit/tables.py or assistant/conversations/tables.py without
    its revision (or the reverse) shows here."""
    from assistant.accounts.tables import metadata as accounts_metadata
    from assistant.audit.tables import metadata as audit_metadata
    from assistant.conversations.tables import metadata as conversations_metadata

    metadata = MetaData()
    tables = (accounts_metadata, audit_metadata, conversations_metadata)
    for table in (table for tables_of in tables for table in tables_of.tables.values()):
        table.to_metadata(metadata)
    accounts = open_accounts(database_settings, load_assistant_settings(_env_file=None))
    try:
        with accounts.database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in metadata.tables,
            })  # fmt: skip
            assert compare_metadata(context, metadata) == []
    finally:
        accounts.close()


def test_an_installed_enclave_finds_and_runs_the_tree(tmp_path):
    """Build the wheel as the app image does (`pip install .`), install it apart, and migrate a database with it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("ingest", "assistant", "ui"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("enclave-*.whl")
    shipped = zipfile.ZipFile(wheel).namelist()
    assert "assistant/migrations/env.py" in shipped and "assistant/migrations/versions/0003_conversations.py" in shipped

    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(tmp_path / "installed"), str(wheel)],
                   check=True, capture_output=True)
    script = ("from assistant import ASSISTANT_TABLES, load_assistant_settings, open_accounts\n"
              "from ingest import load_settings\n"
              "from ingest.database import current_revision\n"
              "accounts = open_accounts(load_settings(_env_file=None), load_assistant_settings(_env_file=None))\n"
              "print(ASSISTANT_TABLES.scripts, current_revision(accounts.database, ASSISTANT_TABLES))\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed"), "ENCLAVE_DATA_DIR": str(tmp_path / "data")}
    env.pop("ENCLAVE_DATABASE_URL", None)
    ran = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(tmp_path / "installed" / "assistant" / "migrations"), "0005"]
