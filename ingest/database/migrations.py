"""Alembic migration trees, run from code (at start-up, and by `enclave db upgrade`).

Each package that keeps tables has its own tree (a folder with `env.py` and `versions/`) and its own version table,
so `ingest` migrates the registry and the ingestion log without knowing the tables `assistant` keeps, and the
import layers hold. A tree's `env.py` is two lines: `from ingest import run_env; run_env()`.

`upgrade_tree` runs in one transaction that first takes a lock (BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL): two processes starting at once migrate one after the other, and a migration that fails leaves the
database as it was."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from ingest.database.engine import Database, hold_lock


@dataclass(frozen=True)
class MigrationTree:
    """One package's migrations: the folder holding `env.py` and `versions/`, and the table recording the revision."""

    name: str
    scripts: Path
    version_table: str

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        config.attributes["version_table"] = self.version_table
        if connection is not None:
            config.attributes["connection"] = connection
        return config


def run_env() -> None:
    """The body of every tree's `env.py`: migrate on the connection `upgrade_tree` handed over (online only)."""
    from alembic import context

    config = context.config
    context.configure(
        connection=config.attributes["connection"],
        version_table=config.attributes["version_table"],
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def head_revision(tree: MigrationTree) -> str | None:
    return ScriptDirectory.from_config(tree.config()).get_current_head()


def current_revision(database: Database, tree: MigrationTree) -> str | None:
    """The revision the database is at for this tree (None: never migrated)."""
    with database.reading(f"read the {tree.name} schema version") as connection:
        return _revision(connection, tree)


def upgrade_tree(database: Database, tree: MigrationTree) -> tuple[str | None, str | None]:
    """Bring this tree's tables to the newest revision. Returns (revision before, revision after)."""
    with database.writing(f"migrate the {tree.name} tables") as connection:
        hold_lock(connection, f"migrations:{tree.name}")
        before = _revision(connection, tree)
        command.upgrade(tree.config(connection), "head")
        return before, _revision(connection, tree)


def _revision(connection: Connection, tree: MigrationTree) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": tree.version_table}).get_current_revision()

