"""The audit trail's tables as the code reads and writes them; the assistant's migration tree creates them
(versions/0002_audit.py), and tests/assistant/test_migrations.py checks that the two agree."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# One row per record, numbered from 1 without gaps (the number is the chain's order, not a database sequence).
audit_records = Table(
    "audit_records", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # records.format_time: sorts as the times do
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON, exactly what the hash covers
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_records_at", "at"),
    Index("ix_audit_records_actor", "actor"),
    Index("ix_audit_records_target", "target"),
)  # fmt: skip

# The chain's two ends (chain.ChainState), in one row the migration writes and every append updates.
audit_chain = Table(
    "audit_chain", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("first_prev", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="ck_audit_chain_one_row"),
)  # fmt: skip
