"""Every package's migration tree upgraded and reported together (what `enclave db` runs), on both databases."""

from __future__ import annotations

from assistant import TreeStatus, read_database_status, upgrade_database
from ingest import INGEST_TABLES, head_revision


def test_every_tree_is_upgraded_once_and_then_reported_up_to_date(database):
    head = head_revision(INGEST_TABLES)
    assert read_database_status(database) == [TreeStatus("ingest", None, head)]

    first, again = upgrade_database(database), upgrade_database(database)

    assert [tuple(u) for u in first] == [("ingest", None, head)]
    assert [tuple(u) for u in again] == [("ingest", head, head)]
    assert [(s, s.up_to_date) for s in read_database_status(database)] == [(TreeStatus("ingest", head, head), True)]
