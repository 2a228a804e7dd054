"""Accounts the identity provider vouches for (single sign-on): whether a sign-in may create one, and bringing a
password-less account's groups and role up to date from the claims. Accounts.sign_in_with_sso runs both in one
transaction with the users locked."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from assistant.accounts.claims import SsoIdentity
from assistant.accounts.directory import Account, account_entry, admin_count, find_account
from assistant.accounts.tables import removed_accounts, user_groups, users
from assistant.audit import AuditEntry


def creation_refusal(connection: Connection, identity: SsoIdentity) -> str | None:
    """Why single sign-on may not create this account, or None."""
    name = identity.name
    # An admin's removal holds until an admin adds the account again (which forgets the removal).
    removed = select(removed_accounts.c.name).where(removed_accounts.c.name == name)
    if connection.execute(removed).first() is not None:
        return (f"an admin removed the account {name}, and single sign-on does not bring it back: ask an admin to "
                f"add it again (`enclave users add {name}`, or the Users page)")
    if not identity.is_admin and not admin_count(connection):
        return ("Enclave has no admin yet, so no account is made by single sign-on: create the first admin "
                "(`enclave users create-admin NAME --password-stdin`), or sign in first as a member of "
                "ENCLAVE_OIDC_ADMIN_GROUP")
    return None


def update_from_claims(connection: Connection, user_id: int, account: Account,
                       identity: SsoIdentity) -> list[AuditEntry]:
    """Give a single sign-on account the groups and role of the claims; the records of what changed."""
    entries: list[AuditEntry] = []
    if sorted(identity.groups) != list(account.groups[1:]):  # after `everyone`, sorted
        connection.execute(delete(user_groups).where(user_groups.c.user_id == user_id))
        if identity.groups:
            connection.execute(insert(user_groups), [{"user_id": user_id, "group_name": g} for g in identity.groups])
        changed = _now(connection, account.name)
        entries.append(account_entry("user.set_groups", changed, before=list(account.groups), method="sso"))
    demoting_last = account.is_admin and admin_count(connection) <= 1
    if identity.is_admin is not None and identity.is_admin != account.is_admin and not demoting_last:
        role = "admin" if identity.is_admin else "member"
        connection.execute(update(users).where(users.c.id == user_id).values(role=role))
        entries.append(account_entry("user.set_role", _now(connection, account.name), before=account.role,
                                     method="sso"))
    return entries


def _now(connection: Connection, name: str) -> Account:
    found = find_account(connection, name=name)
    assert found is not None  # the caller holds the users locked, and the account was just read
    return found[1]
