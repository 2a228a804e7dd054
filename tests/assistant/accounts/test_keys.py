"""API keys on a real database (SQLite and PostgreSQL): a key stands for its account as it is now, until it is
revoked or the account goes; only a SHA-256 of it is kept; making and revoking one is in the audit trail. Time moves
only when the test moves its clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from assistant import UnknownKey, UnknownUser, User


@pytest.fixture
def made(accounts):
    """A key of alice (a member in hr); root is the admin who made it."""
    accounts.create_first_admin("root", "correct horse battery staple")
    accounts.add_user("alice", "member", ["hr"], by="root")
    return accounts.keys.create("alice", by="root")


def stored_rows(accounts) -> list:
    from assistant.accounts.tables import api_keys

    with accounts.database.engine.connect() as connection:
        return list(connection.execute(select(api_keys)))


def test_a_key_gives_its_account_as_a_user(accounts, made):
    holder = accounts.keys.holder(made.secret)

    assert holder.user == User("alice", ("everyone", "hr"), is_admin=False, api_key=made.key.id)  # the audit names it
    assert holder.key_id == made.key.id


def test_only_a_sha256_of_the_key_is_stored_with_an_id_and_a_prefix(accounts, made):
    [row] = stored_rows(accounts)

    assert made.secret.startswith("enc_") and len(made.secret) >= 4 + 43  # 32 random bytes, URL-safe base64
    assert row.token_sha256 == hashlib.sha256(made.secret.encode()).hexdigest()
    assert made.secret not in {str(value) for value in row}
    assert row.prefix == made.key.prefix == made.secret[:12]
    assert row.id == made.key.id and len(row.id) == 12


def test_each_key_is_its_own(accounts, made):
    other = accounts.keys.create("alice", by="root")

    assert other.secret != made.secret and other.key.id != made.key.id
    first, second = accounts.keys.holder(made.secret).user, accounts.keys.holder(other.secret).user
    assert (first.name, first.groups, first.api_key, second.api_key) == (second.name, second.groups, made.key.id,
                                                                         other.key.id)


def test_an_unknown_or_malformed_key_gives_nobody(accounts, made):
    assert accounts.keys.holder(made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")) is None
    assert accounts.keys.holder(made.secret[4:]) is None  # without its mark
    assert accounts.keys.holder("") is None
    assert accounts.keys.holder("enc_" + "x" * 10_000) is None


def test_a_key_answers_with_the_accounts_current_role_and_groups(accounts, made):
    accounts.set_groups("alice", ["finance"], by="root")
    assert accounts.keys.holder(made.secret).user.groups == ("everyone", "finance")

    accounts.set_role("alice", "admin", by="root")
    assert accounts.keys.holder(made.secret).user.is_admin


def test_a_revoked_key_gives_nobody_at_once_and_the_others_still_work(accounts, made):
    other = accounts.keys.create("alice", by="root")

    revoked = accounts.keys.revoke(made.key.id, by="root")

    assert accounts.keys.holder(made.secret) is None
    assert accounts.keys.holder(other.secret) is not None
    assert revoked.revoked_at is not None and not revoked.active


def test_revoking_a_revoked_key_changes_nothing_and_records_nothing(accounts, made, clock):
    first = accounts.keys.revoke(made.key.id, by="root")
    clock.advance(minutes=5)

    again = accounts.keys.revoke(made.key.id, by="root")

    assert again.revoked_at == first.revoked_at
    assert [r.action for r in accounts.audit.records(action="key")] == ["key.create", "key.revoke"]


def test_an_unknown_key_id_is_refused_naming_the_listing(accounts, made):
    with pytest.raises(UnknownKey, match="enclave keys list"):
        accounts.keys.revoke("nosuchkey", by="root")


def test_a_key_for_an_unknown_account_is_refused(accounts, made):
    with pytest.raises(UnknownUser, match="bob"):
        accounts.keys.create("bob", by="root")


def test_a_removed_accounts_keys_stop_working_at_once_and_are_deleted(accounts, made):
    accounts.remove_user("alice", by="root")

    assert accounts.keys.holder(made.secret) is None
    assert stored_rows(accounts) == []


def test_a_new_account_with_a_removed_ones_name_does_not_inherit_its_keys(accounts, made):
    accounts.remove_user("alice", by="root")
    accounts.add_user("alice", "admin", by="root")

    assert accounts.keys.holder(made.secret) is None
    assert accounts.keys.list_keys("alice") == []


def test_the_listing_shows_each_key_with_when_it_was_made_used_and_revoked(accounts, made, clock):
    root_key = accounts.keys.create("root", by="root")
    clock.advance(minutes=3)
    accounts.keys.holder(made.secret)
    accounts.keys.revoke(root_key.key.id, by="root")

    listed = {key.id: key for key in accounts.keys.list_keys()}

    assert [key.user for key in accounts.keys.list_keys()] == ["alice", "root"]
    alice, root = listed[made.key.id], listed[root_key.key.id]
    assert alice.last_used_at == clock.now and alice.revoked_at is None and alice.active
    assert root.last_used_at is None and root.revoked_at == clock.now
    assert alice.created_at == root.created_at == clock.now - timedelta(minutes=3)
    assert set(alice.to_json()) == {"id", "prefix", "user", "created", "last_used", "revoked"}
    assert [key.id for key in accounts.keys.list_keys("root")] == [root_key.key.id]


def test_last_use_is_noted_to_the_minute_not_at_every_call(accounts, made, clock):
    accounts.keys.holder(made.secret)
    first_use = clock.now
    clock.advance(seconds=59)
    accounts.keys.holder(made.secret)
    assert accounts.keys.list_keys("alice")[0].last_used_at == first_use

    clock.advance(seconds=1)
    accounts.keys.holder(made.secret)
    assert accounts.keys.list_keys("alice")[0].last_used_at == clock.now


def test_making_and_revoking_a_key_are_recorded_without_the_key(accounts, made):
    accounts.keys.revoke(made.key.id, by="admin-login")

    created, revoked = accounts.audit.records(action="key")
    assert (created.actor, created.action, created.target) == ("root", "key.create", "alice")
    assert created.details == {"key_id": made.key.id, "prefix": made.key.prefix}
    assert (revoked.actor, revoked.action, revoked.target) == ("admin-login", "key.revoke", "alice")
    assert made.secret not in created.details_json + revoked.details_json
