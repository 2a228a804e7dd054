"""Every package's migration tree upgraded and reported together (what `enclave db` runs), on both databases."""

from __future__ import annotations

from assistant import ASSISTANT_TABLES, TreeStatus, read_database_status, upgrade_database
from ingest import INGEST_TABLES, head_revision


def test_every_tree_is_upgraded_once_and_then_reported_up_to_date(database):
    heads = {"ingest": head_revision(INGEST_TABLES), "assistant": head_revision(ASSISTANT_TABLES)}
    assert read_database_status(database) == [TreeStatus(tree, None, head) for tree, head in heads.items()]

    first, again = upgrade_database(database), upgrade_database(database)

    assert [tuple(u) for u in first] == [(tree, None, head) for tree, head in heads.items()]
    assert [tuple(u) for u in again] == [(tree, head, head) for tree, head in heads.items()]
    assert all(status.up_to_date for status in read_database_status(database))
