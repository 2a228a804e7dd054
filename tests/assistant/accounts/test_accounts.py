"""The Accounts service on a real database (SQLite and PostgreSQL): managing accounts, signing in, throttling. Time
moves only when the test moves its clock; nothing sleeps and nothing is timed."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, select

from assistant import (
    AccountError,
    Accounts,
    LastAdmin,
    SignInRefused,
    SignInThrottled,
    UnknownUser,
    User,
    UserExists,
    WeakPassword,
)
from assistant.accounts import Passwords

ADMIN_PASSWORD = "correct horse battery staple"
ALICE_PASSWORD = "alice's long passphrase"


def stored_text(accounts) -> str:
    """Every value in every table of the database, as one text."""
    metadata = MetaData()
    metadata.reflect(accounts.database.engine)
    with accounts.database.engine.connect() as connection:
        return "\n".join(
            repr(tuple(row)) for table in metadata.sorted_tables for row in connection.execute(select(table))
        )


def attempts(accounts, name: str) -> list[str]:
    from assistant.accounts.tables import sign_in_attempts

    with accounts.database.engine.connect() as connection:
        return list(connection.execute(
            select(sign_in_attempts.c.outcome).where(sign_in_attempts.c.name == name).order_by(sign_in_attempts.c.id)
        ).scalars())


@pytest.fixture
def alice(accounts):
    """An admin, and alice, a member in hr with a password."""
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    return accounts.add_user("alice", "member", ["hr"], ALICE_PASSWORD, by="root")


# -- managing accounts ---------------------------------------------------------------------------------------------


def test_the_first_admin_is_created_on_an_empty_database(accounts, clock):
    account = accounts.create_first_admin("root", ADMIN_PASSWORD)

    assert (account.name, account.role, account.groups, account.has_password) == ("root", "admin", ("everyone",), True)
    assert account.created_at == clock.now
    assert accounts.sign_in("root", ADMIN_PASSWORD) == User("root", ("everyone",), is_admin=True)


def test_the_first_admin_is_refused_once_any_account_exists(accounts):
    accounts.add_user("bob", by="root")

    with pytest.raises(AccountError, match="accounts exist already.*enclave users add"):
        accounts.create_first_admin("root", ADMIN_PASSWORD)
    assert [a.name for a in accounts.list_users()] == ["bob"]


def test_a_member_is_in_everyone_and_its_groups_without_duplicates(accounts):
    account = accounts.add_user("alice", "member", ["hr", "everyone", "finance", "hr"], by="root")

    assert account.groups == ("everyone", "finance", "hr")
    assert accounts.get("alice") == account
    assert account.user() == User("alice", ("everyone", "finance", "hr"), is_admin=False)


def test_an_account_without_a_password_cannot_sign_in_until_one_is_set(accounts):
    assert not accounts.add_user("alice", by="root").has_password
    with pytest.raises(SignInRefused) as refused:
        accounts.sign_in("alice", ALICE_PASSWORD)
    assert type(refused.value) is SignInRefused

    assert accounts.set_password("alice", ALICE_PASSWORD, by="root").has_password
    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"


def test_a_second_account_with_the_same_name_is_refused(accounts, alice):
    with pytest.raises(UserExists, match="alice exists already"):
        accounts.add_user("alice", "admin", by="root")
    assert accounts.get("alice").role == "member"


@pytest.mark.parametrize("name", ["", "two words", "tab\there", "x" * 129, "nul\x00"])
def test_a_name_that_cannot_be_typed_or_stored_is_refused(accounts, name):
    with pytest.raises(AccountError, match="cannot be a user name"):
        accounts.add_user(name, by="root")
    assert accounts.list_users() == []


def test_an_unknown_role_or_a_blank_group_is_refused(accounts):
    with pytest.raises(AccountError, match="not a role: use admin .* or member"):
        accounts.add_user("alice", "owner", by="root")
    with pytest.raises(AccountError, match="cannot be a group"):
        accounts.add_user("alice", "member", [" hr"], by="root")
    assert accounts.list_users() == []


def test_a_weak_password_is_refused_and_nothing_is_created(accounts):
    with pytest.raises(WeakPassword):
        accounts.create_first_admin("root", "root")
    with pytest.raises(WeakPassword):
        accounts.add_user("alice", password="short", by="root")
    assert accounts.list_users() == []


def test_set_groups_replaces_the_groups_and_everyone_alone_clears_them(accounts, alice):
    assert accounts.set_groups("alice", ["finance", "legal"], by="root").groups == ("everyone", "finance", "legal")
    assert accounts.set_groups("alice", ["everyone"], by="root").groups == ("everyone",)


def test_changing_or_removing_an_unknown_account_says_how_to_list_them(accounts, alice):
    for change in (lambda: accounts.get("zed"), lambda: accounts.set_groups("zed", ["hr"], by="root"),
                   lambda: accounts.set_password("zed", ALICE_PASSWORD, by="root"),
                   lambda: accounts.remove_user("zed", by="root")):
        with pytest.raises(UnknownUser, match="no account is named zed: `enclave users list`"):
            change()


def test_the_last_admin_cannot_be_removed_but_one_of_two_can(accounts, alice):
    with pytest.raises(LastAdmin, match="root is the last admin.*add another admin first"):
        accounts.remove_user("root", by="root")

    accounts.add_user("second", "admin", password=ADMIN_PASSWORD, by="root")
    accounts.remove_user("root", by="root")
    assert [(a.name, a.role) for a in accounts.list_users()] == [("alice", "member"), ("second", "admin")]
    with pytest.raises(LastAdmin):
        accounts.remove_user("second", by="root")


def test_set_role_makes_a_member_an_admin_and_an_admin_a_member(accounts, alice):
    assert accounts.set_role("alice", "admin", by="root").role == "admin"
    assert accounts.sign_in("alice", ALICE_PASSWORD).is_admin

    assert accounts.set_role("root", "member", by="alice").role == "member"  # one admin is left: alice
    assert [(a.name, a.role) for a in accounts.list_users()] == [("alice", "admin"), ("root", "member")]
    assert accounts.get("root").groups == ("everyone",) and accounts.get("alice").groups == ("everyone", "hr")


def test_the_last_admin_cannot_be_made_a_member_but_stays_an_admin_when_asked(accounts, alice):
    with pytest.raises(LastAdmin, match="root is the last admin and cannot become a member.*set-role NAME admin"):
        accounts.set_role("root", "member", by="root")

    assert accounts.set_role("root", "admin", by="root").is_admin  # nothing changes: allowed
    assert accounts.get("root").is_admin


def test_a_role_that_is_not_one_is_refused(accounts, alice):
    with pytest.raises(AccountError, match="'owner' is not a role: use admin .* or member"):
        accounts.set_role("alice", "owner", by="root")
    with pytest.raises(UnknownUser, match="no account is named zed"):
        accounts.set_role("zed", "admin", by="root")
    assert accounts.get("alice").role == "member"


def test_a_new_role_applies_to_an_open_session_at_its_next_request(accounts, alice):
    token = accounts.start_session(accounts.sign_in("alice", ALICE_PASSWORD))

    accounts.set_role("alice", "admin", by="root")

    assert accounts.user_for_session(token) == User("alice", ("everyone", "hr"), is_admin=True)


def test_a_removed_account_is_gone_and_its_name_can_be_given_again(accounts, alice):
    accounts.remove_user("alice", by="root")
    with pytest.raises(UnknownUser):
        accounts.get("alice")

    assert accounts.add_user("alice", by="root").groups == ("everyone",)  # nothing of the old account comes back


def test_list_users_gives_every_account_by_name_and_no_hash(accounts, alice):
    listed = accounts.list_users()

    assert [(a.name, a.role, a.groups, a.has_password) for a in listed] == [
        ("alice", "member", ("everyone", "hr"), True), ("root", "admin", ("everyone",), True),
    ]
    assert "argon2" not in repr(listed)
    assert set(listed[0].to_json()) == {"name", "role", "groups", "has_password", "created"}


# -- signing in ----------------------------------------------------------------------------------------------------


def test_signing_in_gives_the_user_with_its_groups(accounts, alice):
    assert accounts.sign_in("alice", ALICE_PASSWORD) == User("alice", ("everyone", "hr"), is_admin=False)
    assert attempts(accounts, "alice") == ["success"]


def test_an_unknown_name_and_a_wrong_password_get_the_same_refusal_after_the_same_work(accounts, alice, hasher):
    hasher.verified.clear()
    with pytest.raises(SignInRefused) as unknown:
        accounts.sign_in("mallory", ALICE_PASSWORD)
    with pytest.raises(SignInRefused) as wrong:
        accounts.sign_in("alice", "not alice's password")

    assert type(unknown.value) is type(wrong.value) is SignInRefused
    assert str(unknown.value) == str(wrong.value) == "wrong name or password: check both and try again " \
                                                     "(an admin can set a new password)"
    assert len(hasher.verified) == 2 and hasher.verified[0] == hasher.verified[1]  # one argon2 check each, alike
    assert attempts(accounts, "mallory") == attempts(accounts, "alice") == ["failure"]


@pytest.mark.parametrize("name", ["nul\x00byte", "x" * 500, "two words"])
def test_a_name_no_account_can_have_is_refused_like_an_unknown_one(accounts, alice, name):
    with pytest.raises(SignInRefused) as refused:
        accounts.sign_in(name, ALICE_PASSWORD)
    assert type(refused.value) is SignInRefused and str(refused.value).startswith("wrong name or password")


def test_the_password_is_kept_only_as_an_argon2id_hash_and_never_logged(accounts, caplog):
    with caplog.at_level(logging.DEBUG):
        accounts.create_first_admin("root", ADMIN_PASSWORD)
        accounts.add_user("alice", password=ALICE_PASSWORD, by="root")
        accounts.sign_in("alice", ALICE_PASSWORD)
        with pytest.raises(SignInRefused) as refused:
            accounts.sign_in("alice", ADMIN_PASSWORD)
        accounts.set_password("alice", ALICE_PASSWORD + "!", by="root")

    stored = stored_text(accounts)
    assert stored.count("$argon2id$") == 2
    for password in (ADMIN_PASSWORD, ALICE_PASSWORD, ALICE_PASSWORD + "!"):
        assert password not in stored and password not in caplog.text and password not in str(refused.value)


def test_a_hash_with_older_parameters_is_renewed_at_sign_in(database_settings, assistant_settings, clock):
    from argon2 import PasswordHasher

    from assistant import Passwords, open_accounts

    def hash_of(accounts) -> str:
        return next(line for line in stored_text(accounts).splitlines() if "argon2id" in line)

    old = open_accounts(database_settings, assistant_settings, clock=clock,
                        passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)))
    old.create_first_admin("root", ADMIN_PASSWORD)
    old.close()
    new = open_accounts(database_settings, assistant_settings, clock=clock,
                        passwords=Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)))
    try:
        assert "m=8,t=1,p=1" in hash_of(new)
        new.sign_in("root", ADMIN_PASSWORD)
        assert "m=16,t=2,p=1" in hash_of(new)
        assert new.sign_in("root", ADMIN_PASSWORD).is_admin
    finally:
        new.close()


class ChangedWhileChecking(Passwords):
    """The real check, with an admin's change made while it runs (the fault: two processes at once)."""

    def __init__(self, hasher, change) -> None:
        super().__init__(hasher)
        self.change = change

    def verify(self, *args, **options):
        verdict = super().verify(*args, **options)
        self.change()
        return verdict


@pytest.mark.parametrize("change", [
    lambda admin: admin.set_password("alice", "a new passphrase", by="root"),
    lambda admin: admin.remove_user("alice", by="root"),
])  # fmt: skip
def test_a_password_replaced_or_an_account_removed_during_the_check_refuses_the_sign_in(
    accounts, alice, assistant_settings, clock, hasher, change
):
    checking = Accounts(accounts.database, assistant_settings, clock=clock,
                        passwords=ChangedWhileChecking(hasher, lambda: change(accounts)))

    with pytest.raises(SignInRefused) as refused:
        checking.sign_in("alice", ALICE_PASSWORD)

    assert type(refused.value) is SignInRefused
    assert attempts(accounts, "alice") == ["failure"]


def test_a_signed_in_user_reflects_a_role_given_since(accounts, alice):
    """Signing in reads the account at that moment: groups changed by an admin apply from the next sign-in."""
    accounts.set_groups("alice", ["legal"], by="root")
    assert accounts.sign_in("alice", ALICE_PASSWORD).groups == ("everyone", "legal")


# -- throttling ------------------------------------------------------------------------------------------------------


def fail_sign_ins(accounts, name: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(SignInRefused) as refused:
            accounts.sign_in(name, "a wrong guess")
        assert type(refused.value) is SignInRefused


def test_after_the_limit_of_failures_even_the_right_password_waits_and_is_told_how_long(accounts, alice, clock):
    limit, window = accounts.throttle.attempts, accounts.throttle.window
    fail_sign_ins(accounts, "alice", limit - 1)
    clock.advance(minutes=1)
    fail_sign_ins(accounts, "alice", 1)
    clock.advance(seconds=30)

    wait = int(window.total_seconds()) - 90  # until the oldest failure, 90 s old, leaves the window
    message = f"too many failed sign-ins for this name: try again in {wait} s$"
    with pytest.raises(SignInThrottled, match=message) as throttled:
        accounts.sign_in("alice", ALICE_PASSWORD)

    assert throttled.value.retry_after == wait
    assert attempts(accounts, "alice") == ["failure"] * limit + ["throttled"]


def test_when_the_window_has_passed_the_right_password_signs_in_again(accounts, alice, clock):
    fail_sign_ins(accounts, "alice", accounts.throttle.attempts)
    clock.advance(accounts.throttle.window - timedelta(seconds=1))
    with pytest.raises(SignInThrottled, match="try again in 1 s"):
        accounts.sign_in("alice", ALICE_PASSWORD)

    clock.advance(seconds=1)
    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"


def test_refused_attempts_while_throttled_do_not_prolong_the_wait(accounts, alice, clock):
    fail_sign_ins(accounts, "alice", accounts.throttle.attempts)
    for _ in range(5):
        clock.advance(minutes=1)
        with pytest.raises(SignInThrottled):
            accounts.sign_in("alice", "another guess")

    clock.advance(accounts.throttle.window - timedelta(minutes=5))
    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"


def test_a_successful_sign_in_starts_the_count_again(accounts, alice):
    fail_sign_ins(accounts, "alice", accounts.throttle.attempts - 1)
    accounts.sign_in("alice", ALICE_PASSWORD)
    fail_sign_ins(accounts, "alice", accounts.throttle.attempts - 1)

    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"


def test_an_unknown_name_is_throttled_like_a_known_one(accounts, alice):
    fail_sign_ins(accounts, "mallory", accounts.throttle.attempts)
    fail_sign_ins(accounts, "alice", accounts.throttle.attempts)

    with pytest.raises(SignInThrottled) as unknown:
        accounts.sign_in("mallory", "a guess")
    with pytest.raises(SignInThrottled) as known:
        accounts.sign_in("alice", "a guess")
    assert str(unknown.value) == str(known.value)


def test_throttling_one_name_leaves_the_others_alone(accounts, alice):
    fail_sign_ins(accounts, "root", accounts.throttle.attempts)

    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"


def test_the_window_of_failures_slides(accounts, alice, clock):
    """Failures spread just wider than the window (the limit of them a little longer apart) never add up to it."""
    limit, window = accounts.throttle.attempts, accounts.throttle.window
    for _ in range(3 * limit):
        fail_sign_ins(accounts, "alice", 1)
        clock.advance(window / (limit - 1) + timedelta(seconds=1))

    assert accounts.sign_in("alice", ALICE_PASSWORD).name == "alice"
