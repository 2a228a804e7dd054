"""API keys: each an account's, for the REST API's `Authorization: Bearer`. A key is 256 random bits shown once, when
it is made; only its SHA-256 is kept (the standard for API keys, as for sessions: a random token, not a password to
stretch), so a copy of the database opens nothing. A key answers with its account as it is *now* (its current role
and groups, at every call); a revoked key, or one whose account was removed (its keys are deleted with it), answers
with nobody at once.

Each key has an `id` (to revoke it by) and a `prefix`, its first characters, by which its owner can tell which key a
config file holds. Making and revoking a key are recorded in the audit trail, in the change's transaction."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import Connection, insert, select, update

from assistant.accounts.clock import Clock
from assistant.accounts.directory import find_account
from assistant.accounts.tables import api_keys, users
from assistant.accounts.transactions import transaction
from assistant.audit import AuditEntry, AuditTrail
from assistant.errors import AccountsUnavailable, UnknownKey, UnknownUser
from assistant.models import User
from ingest import Database, IngestError

KEY_MARK = "enc_"  # every key starts so: a secret scanner, or a person, can tell an Enclave key
KEY_BYTES = 32  # 256 bits from the operating system's generator
ID_BYTES = 6  # 12 hex characters: short to type in `enclave keys revoke`, and not secret
PREFIX_LENGTH = len(KEY_MARK) + 8
MAX_KEY_LENGTH = 256  # longer is no key of ours: not even hashed
LAST_USED_GRAIN = timedelta(minutes=1)  # last_used_at is written at most this often: a busy key is not a write a call


@dataclass(frozen=True)
class ApiKey:
    """A key as an admin sees it: never the key itself, nor its hash."""

    id: str
    prefix: str
    user: str  # the account's name
    created_at: datetime  # aware, UTC
    last_used_at: datetime | None  # to the minute (LAST_USED_GRAIN); None: never used
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat(timespec="seconds")

        return {"id": self.id, "prefix": self.prefix, "user": self.user, "created": when(self.created_at),
                "last_used": when(self.last_used_at), "revoked": when(self.revoked_at)}


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: `secret` is the key itself, to hand over now (it is not kept)."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class KeyHolder:
    """Who a key stands for at this call: its id (what a rate limit counts by) and its account as it is now."""

    key_id: str
    user: User


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """The API keys of the accounts in one database. Accounts builds it (`accounts.keys`) on its database, audit trail
    and clock; the command line and the API call it."""

    def __init__(self, database: Database, audit: AuditTrail, clock: Clock) -> None:
        self.database = database
        self.audit = audit
        self._clock = clock

    def create(self, name: str, *, by: str) -> NewApiKey:
        """A new key for the account `name` (UnknownUser if there is none); its secret is in the result only."""
        secret = KEY_MARK + secrets.token_urlsafe(KEY_BYTES)
        key_id = secrets.token_hex(ID_BYTES)
        with transaction(self.database) as connection:
            found = find_account(connection, name=name)
            if found is None:
                raise UnknownUser(f"no account is named {name}: `enclave users list` shows them")
            connection.execute(insert(api_keys).values(
                id=key_id, token_sha256=hash_key(secret), prefix=secret[:PREFIX_LENGTH], user_id=found[0],
                created_at=self._clock(),
            ))  # fmt: skip
            key = _one_key(connection, key_id)
            self.audit.append(connection, by, [_entry("key.create", key)])
        return NewApiKey(key, secret)

    def revoke(self, key_id: str, *, by: str) -> ApiKey:
        """Revoke the key: from now on it answers with nobody. UnknownKey for an id no key has; a key revoked already
        is left as it was (and not recorded again)."""
        with transaction(self.database) as connection:
            before = _find_key(connection, key_id)
            if before is None:
                raise UnknownKey(f"no API key has the id {key_id!r}: `enclave keys list` shows them")
            if not before.active:
                return before
            connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=self._clock()))
            key = _one_key(connection, key_id)
            self.audit.append(connection, by, [_entry("key.revoke", key)])
        return key

    def list_keys(self, name: str | None = None) -> list[ApiKey]:
        """Every key (or the account `name`'s), revoked ones too, by account then age."""
        with self._reading() as connection:
            query = _key_query().order_by(users.c.name, api_keys.c.created_at, api_keys.c.id)
            if name is not None:
                query = query.where(users.c.name == name)
            return [_key(row) for row in connection.execute(query)]

    def holder(self, secret: str) -> KeyHolder | None:
        """Who this key stands for now, with the account's current role and groups; None for an unknown or revoked
        key (or its account removed). Notes when it was used, to the minute."""
        if not secret.startswith(KEY_MARK) or len(secret) > MAX_KEY_LENGTH:
            return None
        with self._reading() as connection:
            row = connection.execute(
                select(api_keys.c.id, api_keys.c.user_id, api_keys.c.last_used_at)
                .where(api_keys.c.token_sha256 == hash_key(secret), api_keys.c.revoked_at.is_(None))
            ).one_or_none()
            found = None if row is None else find_account(connection, user_id=row.user_id)
        if row is None or found is None:
            return None
        now = self._clock()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRAIN:
            with transaction(self.database) as connection:
                connection.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
        return KeyHolder(row.id, replace(found[1].user(), api_key=row.id))  # the audit trail names the key

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read that never waits for a writer (SQLite in WAL mode): checking a key is most of what the API does."""
        try:
            with self.database.reading("read the API keys") as connection:
                yield connection
        except IngestError as exc:
            raise AccountsUnavailable(str(exc)) from exc


def _key_query() -> Any:
    return select(
        api_keys.c.id, api_keys.c.prefix, users.c.name, api_keys.c.created_at, api_keys.c.last_used_at,
        api_keys.c.revoked_at,
    ).join(users, users.c.id == api_keys.c.user_id)  # fmt: skip


def _find_key(connection: Connection, key_id: str) -> ApiKey | None:
    row = connection.execute(_key_query().where(api_keys.c.id == key_id)).one_or_none()
    return None if row is None else _key(row)


def _one_key(connection: Connection, key_id: str) -> ApiKey:
    key = _find_key(connection, key_id)
    assert key is not None, "the key was written in this transaction"
    return key


def _key(row: Any) -> ApiKey:
    return ApiKey(id=row.id, prefix=row.prefix, user=row.name, created_at=row.created_at,
                  last_used_at=row.last_used_at, revoked_at=row.revoked_at)


def _entry(action: str, key: ApiKey) -> AuditEntry:
    return AuditEntry(action, key.user, {"key_id": key.id, "prefix": key.prefix})
