"""Accounts: who may sign in, with which role and groups, and their sessions, in the database `ingest` opens.

accounts    the Accounts service (manage accounts, sign in with throttling or single sign-on, sessions), open_accounts
claims      who a single sign-on is: the account name, groups and role in an identity provider's claims (a pure function)
directory   the Account record, reading accounts, what a user or group name may be (`everyone` is implicit)
passwords   the password policy and argon2id hashes
throttling  until when a name's sign-ins wait, from its recent failures (a pure function)
sessions    random tokens, only their SHA-256 kept
keys        API keys (`accounts.keys`): each an account's, shown once, only their SHA-256 kept, revocable
transactions one transaction on the database, its errors turned into the assistant's
tables      the tables as the code uses them (the assistant's migration tree creates them)
clock       the time the service goes by, injectable
"""

from assistant.accounts.accounts import Accounts, open_accounts
from assistant.accounts.claims import ClaimMapping, SsoIdentity, identity_from_claims
from assistant.accounts.clock import Clock, utc_now
from assistant.accounts.directory import EVERYONE, Account
from assistant.accounts.keys import ApiKey, ApiKeys, KeyHolder, NewApiKey
from assistant.accounts.passwords import MIN_LENGTH, Passwords, check_password
from assistant.accounts.tables import ROLES

__all__ = [
    "EVERYONE",
    "MIN_LENGTH",
    "ROLES",
    "Account",
    "Accounts",
    "ApiKey",
    "ApiKeys",
    "ClaimMapping",
    "Clock",
    "KeyHolder",
    "NewApiKey",
    "Passwords",
    "SsoIdentity",
    "check_password",
    "identity_from_claims",
    "open_accounts",
    "utc_now",
]
