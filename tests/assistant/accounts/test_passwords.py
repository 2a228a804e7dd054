"""The password policy and argon2id hashes: a password is never kept or shown, only a hash that verifies it."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher

from assistant import WeakPassword
from assistant.accounts import Passwords, check_password

SECRET = "Tr0ub4dor&3-horse"


def test_a_password_is_hashed_with_argon2id_and_verifies(hasher):
    passwords = Passwords(hasher)
    stored = passwords.hash(SECRET)

    assert stored.startswith("$argon2id$") and SECRET not in stored
    assert passwords.verify(stored, SECRET).matches
    assert not passwords.verify(stored, SECRET + "x").matches


def test_the_product_hashes_with_argon2_cffis_defaults():
    """RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes (tests elsewhere use a cheaper one)."""
    assert Passwords().hash(SECRET).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("password, reason", [
    ("", "at least 8 characters"),
    ("seven77", "at least 8 characters"),
    ("        ", "only spaces"),
    ("Margaret", "the account's name"),
    ("x" * 1025, "at most 1024 characters"),
])  # fmt: skip
def test_a_weak_password_is_refused_with_the_rule_and_never_the_password(password, reason):
    with pytest.raises(WeakPassword, match=reason) as refused:
        check_password("margaret", password)
    assert not password.strip() or password not in str(refused.value)


def test_eight_characters_that_are_not_the_name_pass():
    check_password("margaret", "eight ch")


def test_a_hash_made_with_older_parameters_verifies_and_asks_to_be_renewed(hasher):
    old = Passwords(hasher).hash(SECRET)
    current = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))

    verdict = current.verify(old, SECRET)

    assert verdict.matches and verdict.needs_rehash
    assert not current.verify(current.hash(SECRET), SECRET).needs_rehash


def test_no_hash_is_checked_against_a_dummy_made_like_a_real_one(hasher):
    """An unknown name, or an account without a password, costs the same argon2 work as a wrong password."""
    passwords = Passwords(hasher)
    real = passwords.hash(SECRET)

    assert not passwords.verify(real, "wrong password").matches
    assert not passwords.verify(None, SECRET).matches

    assert len(hasher.verified) == 2 and hasher.verified[0] == hasher.verified[1]


def test_an_unreadable_stored_hash_is_refused_and_logged_without_the_hash(caplog, hasher):
    with caplog.at_level(logging.DEBUG):
        verdict = Passwords(hasher).verify("md5:5f4dcc3b5aa765d61d8327deb882cf99", SECRET,
                                                             name="margaret")

    assert not verdict.matches
    assert "margaret" in caplog.text and "set-password" in caplog.text
    assert "5f4dcc3b" not in caplog.text and SECRET not in caplog.text
