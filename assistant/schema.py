"""Every package's tables, brought up to date together: the migration trees of the database, in the order they are
upgraded. `ingest` upgrades its own tree when its components open; `enclave db upgrade` and `enclave db status` go
through this list, so every tree listed here is upgraded and shown by them."""

from __future__ import annotations

from typing import NamedTuple

from assistant.migrations import ASSISTANT_TABLES
from ingest import INGEST_TABLES, Database, MigrationTree, current_revision, head_revision, upgrade_tree

TREES: tuple[MigrationTree, ...] = (INGEST_TABLES, ASSISTANT_TABLES)


class TreeUpgrade(NamedTuple):
    tree: str
    before: str | None  # None: the tree's tables did not exist
    after: str | None


class TreeStatus(NamedTuple):
    tree: str
    current: str | None  # None: never migrated
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def upgrade_database(database: Database) -> list[TreeUpgrade]:
    """Bring every tree to its newest revision, each in one transaction (see `ingest.upgrade_tree`)."""
    return [TreeUpgrade(tree.name, *upgrade_tree(database, tree)) for tree in TREES]


def read_database_status(database: Database) -> list[TreeStatus]:
    """Each tree's revision in the database and the newest one this version of Enclave knows."""
    return [TreeStatus(tree.name, current_revision(database, tree), head_revision(tree)) for tree in TREES]


__all__ = ["TREES", "TreeStatus", "TreeUpgrade", "read_database_status", "upgrade_database"]
