"""Who has an account: the Account record, reading accounts from the tables, and what a user or group name may be.

Every account is in the group `everyone`, without a row for it: documents ingested with the default group stay
visible to every signed-in user, and no account can be taken out of it by mistake."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Connection, func, select, text

from assistant.accounts.tables import ROLES, user_groups, users
from assistant.audit import AuditEntry
from assistant.errors import AccountError, LastAdmin
from assistant.models import User

EVERYONE = "everyone"
MAX_NAME = 128  # the width of the name columns


@dataclass(frozen=True)
class Account:
    """An account as an admin sees it. Never holds the password hash: only whether there is one."""

    name: str
    role: str  # "admin" or "member"
    groups: tuple[str, ...]  # `everyone` first, then the account's other groups, sorted
    has_password: bool  # False: the account signs in only through single sign-on until a password is set
    created_at: datetime  # aware, UTC

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def user(self) -> User:
        """Who this account is when it asks: its groups, and whether it may see and change everything."""
        return User(name=self.name, groups=self.groups, is_admin=self.is_admin)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "groups": list(self.groups), "has_password": self.has_password,
                "created": self.created_at.isoformat(timespec="seconds")}


def is_account_name(name: str) -> bool:
    """Whether an account may have this name: a login name or an e-mail address (no spaces, no control characters)."""
    return 1 <= len(name) <= MAX_NAME and not any(c.isspace() or _is_control(c) for c in name)


def check_name(name: str) -> str:
    """The name, if it can be an account's; else AccountError."""
    if not is_account_name(name):
        raise AccountError(f"{name!r} cannot be a user name: use 1 to {MAX_NAME} characters without spaces, "
                           "such as a login name or an e-mail address")
    return name


def clean_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """The groups to store for an account: each checked, duplicates and `everyone` (implicit) dropped, in order."""
    kept: list[str] = []
    for group in groups:
        if not 1 <= len(group) <= MAX_NAME or group != group.strip() or any(_is_control(c) for c in group):
            raise AccountError(f"{group!r} cannot be a group: use 1 to {MAX_NAME} characters, without spaces at "
                               "either end, as given to `enclave ingest --group`")
        if group != EVERYONE and group not in kept:
            kept.append(group)
    return tuple(kept)


def _is_control(character: str) -> bool:
    return unicodedata.category(character).startswith("C")


def find_account(connection: Connection, *, name: str | None = None,
                 user_id: int | None = None) -> tuple[int, Account] | None:
    """The account (and its row id) with this name or id, or None."""
    query = select(users.c.id, users.c.name, users.c.role, users.c.password_hash, users.c.created_at)
    query = query.where(users.c.name == name) if name is not None else query.where(users.c.id == user_id)
    row = connection.execute(query).one_or_none()
    if row is None:
        return None
    groups = connection.execute(
        select(user_groups.c.group_name).where(user_groups.c.user_id == row.id).order_by(user_groups.c.group_name)
    ).scalars()
    return row.id, _account(row, groups)


def all_accounts(connection: Connection) -> list[Account]:
    """Every account, by name."""
    groups: dict[int, list[str]] = {}
    for user_id, group in connection.execute(
        select(user_groups.c.user_id, user_groups.c.group_name).order_by(user_groups.c.group_name)
    ):
        groups.setdefault(user_id, []).append(group)
    rows = connection.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.password_hash, users.c.created_at)
        .order_by(users.c.name)
    )
    return [_account(row, groups.get(row.id, ())) for row in rows]


def _account(row: Any, groups: Iterable[str]) -> Account:
    return Account(name=row.name, role=row.role, groups=(EVERYONE, *groups),
                   has_password=row.password_hash is not None, created_at=row.created_at)


def admin_count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users).where(users.c.role == "admin")).scalar_one())


def lock_users(connection: Connection) -> None:
    """Hold off other writers of the accounts until this transaction ends, so that a check ("no account yet", "not
    the last admin") still holds when the change is written. SQLite: BEGIN IMMEDIATE has done so already."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role: use admin (manages accounts and documents, sees every "
                           "document) or member (asks questions of the documents shared with its groups)")


def refuse_last_admin(connection: Connection, why: str) -> None:
    """LastAdmin (saying `why`) when one admin is left, whose removal or demotion is asked: nobody could manage
    accounts or documents any more. Call it with the users locked (`lock_users`), so the count still holds when the
    change is written."""
    if admin_count(connection) <= 1:
        raise LastAdmin(why)


def account_entry(action: str, account: Account, **details: object) -> AuditEntry:
    """The record of a change to this account, saying what it is now (Accounts records it with the change)."""
    said = {"role": account.role, "groups": list(account.groups), "has_password": account.has_password}
    return AuditEntry(action, account.name, {**said, **details})
