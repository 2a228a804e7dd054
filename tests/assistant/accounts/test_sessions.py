"""Sessions on a real database (SQLite and PostgreSQL): a token stands for the account as it is now, until it expires,
ends, or the account goes. Time moves only when the test moves its clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from assistant import UnknownUser, User

PASSWORD = "alice's long passphrase"


@pytest.fixture
def token(accounts):
    """A session of alice (a member in hr), started by signing in; root is the admin."""
    accounts.create_first_admin("root", "correct horse battery staple")
    accounts.add_user("alice", "member", ["hr"], PASSWORD, by="root")
    return accounts.start_session(accounts.sign_in("alice", PASSWORD))


def stored_token_hashes(accounts) -> list[str]:
    from assistant.accounts.tables import sessions

    with accounts.database.engine.connect() as connection:
        return list(connection.execute(select(sessions.c.token_sha256)).scalars())


def test_a_session_token_gives_its_user(accounts, token):
    assert accounts.user_for_session(token) == User("alice", ("everyone", "hr"), is_admin=False)


def test_only_a_sha256_of_the_token_is_stored(accounts, token):
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert stored_token_hashes(accounts) == [hashlib.sha256(token.encode()).hexdigest()]


def test_each_session_gets_its_own_token(accounts, token):
    other = accounts.start_session(accounts.sign_in("alice", PASSWORD))

    assert other != token
    assert accounts.user_for_session(other) == accounts.user_for_session(token)


def test_an_unknown_token_gives_nobody(accounts, token):
    assert accounts.user_for_session(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert accounts.user_for_session("") is None


def test_a_session_lasts_the_configured_hours_and_not_a_second_more(accounts, token, clock):
    clock.advance(accounts.session_lifetime - timedelta(seconds=1))
    assert accounts.user_for_session(token) is not None

    clock.advance(seconds=1)
    assert accounts.user_for_session(token) is None
    assert accounts.session_lifetime == timedelta(hours=8)  # ENCLAVE_SESSION_HOURS, as the fixture set it


def test_an_ended_session_gives_nobody_and_ending_it_again_does_no_harm(accounts, token):
    other = accounts.start_session(accounts.sign_in("alice", PASSWORD))

    accounts.end_session(token)
    accounts.end_session(token)
    accounts.end_session("no such token")

    assert accounts.user_for_session(token) is None
    assert accounts.user_for_session(other) is not None  # signing out in one browser leaves the others


def test_a_removed_account_is_signed_out_at_once(accounts, token):
    accounts.remove_user("alice", by="root")

    assert accounts.user_for_session(token) is None
    assert stored_token_hashes(accounts) == []


def test_a_new_account_with_a_removed_ones_name_does_not_inherit_its_sessions(accounts, token):
    accounts.remove_user("alice", by="root")
    accounts.add_user("alice", "admin", password=PASSWORD, by="root")

    assert accounts.user_for_session(token) is None


def test_new_groups_apply_to_a_session_already_open(accounts, token):
    accounts.set_groups("alice", ["finance"], by="root")

    assert accounts.user_for_session(token) == User("alice", ("everyone", "finance"), is_admin=False)


def test_a_new_password_ends_the_accounts_sessions(accounts, token):
    root = accounts.start_session(accounts.sign_in("root", "correct horse battery staple"))

    accounts.set_password("alice", PASSWORD + " renewed", by="root")

    assert accounts.user_for_session(token) is None
    assert accounts.user_for_session(root) is not None  # another account's sessions stay


def test_a_session_cannot_be_started_for_an_account_that_is_gone(accounts, token):
    user = accounts.user_for_session(token)
    accounts.remove_user("alice", by="root")

    with pytest.raises(UnknownUser):
        accounts.start_session(user)
