"""The accounts' tables as the code reads and writes them. The migration tree (assistant/migrations) creates them:
a change here goes with a new revision there, and tests/assistant/test_migrations.py checks that the two agree."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

ROLES = ("admin", "member")
OUTCOMES = ("failure", "success", "throttled")  # of a sign-in attempt


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always handed back aware and in UTC. PostgreSQL keeps the zone (timestamptz); SQLite keeps
    none, so the UTC wall time is stored there and its zone put back on reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no zone: pass an aware one (the accounts' clock gives UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=True),  # NULL: single sign-on only, until a password is set
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("name", name="uq_users_name"),
    CheckConstraint("role IN ('admin', 'member')", name="ck_users_role"),
)  # fmt: skip

user_groups = Table(
    "user_groups", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_name", String(128), primary_key=True),
)  # fmt: skip

sign_in_attempts = Table(
    "sign_in_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),  # as typed: unknown names too
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    CheckConstraint("outcome IN ('failure', 'success', 'throttled')", name="ck_sign_in_attempts_outcome"),
    Index("ix_sign_in_attempts_name", "name", "id"),
)  # fmt: skip

sessions = Table(
    "sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Index("ix_sessions_user_id", "user_id"),
)  # fmt: skip

# The names an admin removed: single sign-on does not create them again (the provider may still vouch for the person)
# until an admin adds the account back. Kept for good, as a decision of the admins, not a record to expire.
removed_accounts = Table(
    "removed_accounts", metadata,
    Column("name", String(128), primary_key=True),
    Column("removed_at", UtcDateTime, nullable=False),
    Column("removed_by", String(128), nullable=False),
)  # fmt: skip

# API keys: like sessions, only a SHA-256 of each key is kept (it is shown once, when made). `id` names a key to revoke
# it; `prefix`, the key's first characters, lets its owner tell which key a config file holds. An account's keys go
# with it (ON DELETE CASCADE): a removed account's keys stop working at once.
api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("token_sha256", String(64), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("token_sha256", name="uq_api_keys_token_sha256"),
    Index("ix_api_keys_user_id", "user_id"),
)  # fmt: skip
