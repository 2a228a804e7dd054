"""Passwords: the policy a new one must meet, and argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory
profile). A password is never stored, logged or put in a message; only its hash is kept."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from assistant.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 1024  # far above any passphrase; a megabyte "password" would only cost hashing time

log = logging.getLogger(__name__)


def check_password(name: str, password: str) -> None:
    """Raise WeakPassword unless the password may be set for the account `name`."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters: choose a longer one "
                           "(a few unrelated words make a strong one that is easy to remember)")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters: choose a shorter one")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces: choose one with letters, digits or signs")
    if password.strip().casefold() == name.strip().casefold():
        raise WeakPassword("a password cannot be the account's name: choose another one")


@dataclass(frozen=True)
class Verdict:
    matches: bool
    needs_rehash: bool = False  # the hash was made with older or weaker parameters than the hasher's: store a new one


class Passwords:
    """Hash and verify. `hasher` is argon2-cffi's PasswordHasher with its defaults unless given (tests give a cheaper
    one to stay quick, and an old one to see a hash renewed)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str, *, name: str = "") -> Verdict:
        """Whether `password` matches `stored_hash`. Without a hash (no such account, or one without a password) the
        password is checked against a dummy hash, so the answer takes as long as for a real account."""
        if stored_hash is None:
            try:
                self.hasher.verify(self._dummy_hash, password)
            except VerifyMismatchError:
                pass
            return Verdict(matches=False)
        try:
            self.hasher.verify(stored_hash, password)
        except VerifyMismatchError:
            return Verdict(matches=False)
        except (InvalidHashError, VerificationError):
            # Refused like a wrong password; the admins learn why from the log (which never holds the hash).
            log.warning("the stored password of %r is not a readable argon2 hash: set it again with "
                        "`enclave users set-password`", name)
            return Verdict(matches=False)
        return Verdict(matches=True, needs_rehash=self.hasher.check_needs_rehash(stored_hash))

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash with this hasher's parameters, of a password nobody knows (made once, when first needed)."""
        import secrets

        return self.hasher.hash(secrets.token_urlsafe(32))
