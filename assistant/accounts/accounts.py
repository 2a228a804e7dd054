"""The Accounts service: who may sign in, with which role and groups, their sessions and API keys (`keys`). The
command line and the app call it; it keeps its rows in the database `ingest` opens, in tables of the assistant's migration tree.

Each change is one transaction with its audit record (assistant/audit): both commit, or neither; `by` names who makes
it. Every sign-in is recorded too, with a password or through single sign-on (an identity provider's claims).
Refusals are AccountError's children (exit 1 on the command line); a database that fails is AccountsUnavailable
(exit 2). SQLAlchemy's errors are wrapped in each transaction (transactions.py), without their statement's parameters
(a password hash is one)."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any, ContextManager, Mapping, Sequence

from sqlalchemy import Connection, delete, func, insert, select, text, update

from assistant.accounts import sessions
from assistant.accounts.claims import ClaimMapping, identity_from_claims
from assistant.accounts.clock import Clock, utc_now
from assistant.accounts.directory import (
    Account,
    account_entry,
    all_accounts,
    check_name,
    check_role,
    clean_groups,
    find_account,
    is_account_name,
    lock_users,
    refuse_last_admin,
)
from assistant.accounts.keys import ApiKeys
from assistant.accounts.passwords import Passwords, check_password
from assistant.accounts.provisioning import creation_refusal, update_from_claims
from assistant.accounts.tables import removed_accounts, sign_in_attempts, user_groups, users
from assistant.accounts.throttling import ThrottlePolicy, seconds_to_wait, throttled_until
from assistant.accounts.transactions import transaction
from assistant.audit import AuditEntry, AuditTrail
from assistant.conversations import delete_conversations_of
from assistant.errors import (
    AccountError,
    SignInRefused,
    SignInThrottled,
    SingleSignOnRefused,
    UnknownUser,
    UserExists,
)
from assistant.migrations import open_assistant_database
from assistant.models import User
from assistant.settings import AssistantSettings
from ingest import Database, IngestSettings

# One message for an unknown name, a wrong password and an account without one: which it was is not for the asker.
REFUSED = "wrong name or password: check both and try again (an admin can set a new password)"


class Accounts:
    """Accounts and sessions in one database. `clock` gives the time (tests pass their own to move it on);
    `passwords` hashes and verifies (argon2id with argon2-cffi's defaults unless given); `audit` records each change
    and sign-in (a trail on the same database and clock unless given)."""

    def __init__(self, database: Database, settings: AssistantSettings, *, clock: Clock = utc_now,
                 passwords: Passwords | None = None, owns_database: bool = False,
                 audit: AuditTrail | None = None) -> None:
        self.database = database
        self.audit = audit or AuditTrail(database, settings, clock=clock)
        self.session_lifetime = timedelta(hours=settings.session_hours)
        self.throttle = ThrottlePolicy(settings.sign_in_attempts, timedelta(minutes=settings.sign_in_window_minutes))
        self.claim_mapping = ClaimMapping(settings.oidc_name_claim, settings.oidc_groups_claim, settings.oidc_admin_group)
        self.keys = ApiKeys(database, self.audit, clock)  # the accounts' API keys: made, revoked, checked
        self._clock = clock
        self._passwords = passwords or Passwords()
        self._owns_database = owns_database  # opened by open_accounts: closed with the accounts

    # -- managing accounts (the command line, an admin's page) -----------------------------------------------------

    def create_first_admin(self, name: str, password: str, *, by: str | None = None) -> Account:
        """The first account, an admin with a password. Refused once any account exists: from then on an admin adds
        the others (`add_user`). `by`: who creates it (the command line's login); default, the new admin."""
        check_name(name)
        check_password(name, password)
        password_hash = self._passwords.hash(password)
        with self._transaction() as connection:
            lock_users(connection)
            if connection.execute(select(func.count()).select_from(users)).scalar_one():
                raise AccountError("accounts exist already, so there is a first admin: an admin adds more with "
                                   "`enclave users add NAME --role admin`")
            self._insert_user(connection, name, "admin", (), password_hash)
            return self._recorded(connection, by or name, "user.add", self._account(connection, name))

    def add_user(self, name: str, role: str = "member", groups: Sequence[str] = (),
                 password: str | None = None, *, by: str) -> Account:
        """A new account. Without a password it signs in only through single sign-on until one is set."""
        check_name(name)
        check_role(role)
        kept = clean_groups(groups)
        password_hash = None
        if password is not None:
            check_password(name, password)
            password_hash = self._passwords.hash(password)
        with self._transaction() as connection:
            self._insert_user(connection, name, role, kept, password_hash)
            return self._recorded(connection, by, "user.add", self._account(connection, name))

    def list_users(self) -> list[Account]:
        with self._transaction() as connection:
            return all_accounts(connection)

    def get(self, name: str) -> Account:
        """The account with this name; UnknownUser if there is none."""
        with self._transaction() as connection:
            return self._account(connection, name)

    def set_groups(self, name: str, groups: Sequence[str], *, by: str) -> Account:
        """Replace the account's groups (`everyone` stays implicit). Its sessions see the change at their next
        request."""
        kept = clean_groups(groups)
        with self._transaction() as connection:
            user_id, before = self._find(connection, name)
            connection.execute(delete(user_groups).where(user_groups.c.user_id == user_id))
            if kept:
                connection.execute(insert(user_groups), [{"user_id": user_id, "group_name": g} for g in kept])
            return self._recorded(connection, by, "user.set_groups", self._account(connection, name),
                                  before=list(before.groups))

    def set_role(self, name: str, role: str, *, by: str) -> Account:
        """Make the account an admin or a member. Its sessions get the new role at their next request (the app's next
        click): nobody is signed out. Refused for the last admin made a member, as removing it is."""
        check_role(role)
        with self._transaction() as connection:
            lock_users(connection)
            user_id, before = self._find(connection, name)
            if before.is_admin and role != "admin":
                refuse_last_admin(connection, f"{name} is the last admin and cannot become a member: make another "
                                               "account an admin first (`enclave users set-role NAME admin`)")
            connection.execute(update(users).where(users.c.id == user_id).values(role=role))
            return self._recorded(connection, by, "user.set_role", self._account(connection, name),
                                  before=before.role)

    def set_password(self, name: str, password: str, *, by: str) -> Account:
        """Set or replace the account's password. Its live sessions end: whoever knew the old password is out."""
        check_password(name, password)
        password_hash = self._passwords.hash(password)
        with self._transaction() as connection:
            user_id = self._user_id(connection, name)
            connection.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            sessions.end_sessions_of(connection, user_id, self._clock())
            account = self._account(connection, name)
            self.audit.append(connection, by, [AuditEntry("user.set_password", name)])  # that it changed, nothing more
            return account

    def remove_user(self, name: str, *, by: str) -> None:
        """Delete the account; its groups, sessions and saved conversations go with it, so it is signed out at once
        (the feedback it gave stays with the admins until the retention). Refused for the last
        admin: nobody could manage accounts or documents any more."""
        with self._transaction() as connection:
            lock_users(connection)
            user_id, account = self._find(connection, name)
            if account.is_admin:
                refuse_last_admin(connection, f"{name} is the last admin and cannot be removed: add another admin "
                                               "first (`enclave users add NAME --role admin`)")
            connection.execute(delete(users).where(users.c.id == user_id))
            delete_conversations_of(connection, name)  # a new account given the name later must not find them
            connection.execute(delete(removed_accounts).where(removed_accounts.c.name == name))
            connection.execute(insert(removed_accounts).values(name=name, removed_at=self._clock(), removed_by=by))
            self._recorded(connection, by, "user.remove", account)

    # -- signing in ------------------------------------------------------------------------------------------------

    def sign_in(self, name: str, password: str) -> User:
        """The user, if the password is the account's. Every attempt is recorded; after `throttle.attempts` failures
        for a name within `throttle.window`, the next ones are refused at once (SignInThrottled, with the seconds to
        wait) until the window has moved past the oldest of them. The failure is recorded *before* the password is
        checked, so attempts made in parallel count too; a success then turns it into one and starts the count
        again. Unknown names are throttled and checked (against a dummy hash) like known ones; a name no account can
        have (a space, a control character, too long) is checked against the dummy and refused, uncounted. Each
        outcome goes into the audit trail: success and throttled with the attempt, a failure once it is known."""
        if not is_account_name(name):
            self._passwords.verify(None, password)
            # Without the name: it is no account's, and what people type there by mistake is often a password.
            self._record_alone("", AuditEntry("sign_in.failure", details={"reason": "not a user name"}))
            raise SignInRefused(REFUSED)
        now = self._clock()
        with self._transaction() as connection:
            _lock_name(connection, name)
            until = throttled_until(self._failures_since_success(connection, name, now), now, self.throttle)
            outcome = "throttled" if until is not None else "failure"
            attempt_id = connection.execute(
                insert(sign_in_attempts).values(name=name, attempted_at=now, outcome=outcome)
                .returning(sign_in_attempts.c.id)
            ).scalar_one()
            row = connection.execute(
                select(users.c.id, users.c.password_hash).where(users.c.name == name)
            ).one_or_none()
            if until is not None:
                wait = seconds_to_wait(until, now)
                self.audit.append(connection, name, [AuditEntry("sign_in.throttled", details={"retry_after": wait})])
        if until is not None:
            raise SignInThrottled(f"too many failed sign-ins for this name: try again in {wait} s", retry_after=wait)
        verdict = self._passwords.verify(row.password_hash if row else None, password, name=name)
        if row is None or not verdict.matches:
            reason = "no such account" if row is None else ("wrong password" if row.password_hash else "no password")
            self._record_alone(name, AuditEntry("sign_in.failure", details={"reason": reason}))
            raise SignInRefused(REFUSED)
        renewed = self._passwords.hash(password) if verdict.needs_rehash else None  # before the write lock
        with self._transaction() as connection:
            current = connection.execute(select(users.c.password_hash).where(users.c.id == row.id)).one_or_none()
            found = find_account(connection, user_id=row.id)
            changed = current is None or found is None or current.password_hash != row.password_hash
            if changed:  # removed, or given a new password, while this one was being checked
                refused = AuditEntry("sign_in.failure", details={"reason": "changed meanwhile"})
                self.audit.append(connection, name, [refused])
            else:
                connection.execute(
                    update(sign_in_attempts).where(sign_in_attempts.c.id == attempt_id).values(outcome="success")
                )
                if renewed is not None:
                    connection.execute(update(users).where(users.c.id == row.id).values(password_hash=renewed))
                self.audit.append(connection, name, [AuditEntry("sign_in.success")])
        if changed or found is None:
            raise SignInRefused(REFUSED)
        return found[1].user()

    def _failures_since_success(self, connection: Connection, name: str, now: datetime) -> list[datetime]:
        last_success = connection.execute(
            select(func.max(sign_in_attempts.c.id))
            .where(sign_in_attempts.c.name == name, sign_in_attempts.c.outcome == "success")
        ).scalar_one()
        return list(connection.execute(
            select(sign_in_attempts.c.attempted_at).where(
                sign_in_attempts.c.name == name,
                sign_in_attempts.c.outcome == "failure",
                sign_in_attempts.c.id > (last_success or 0),
                sign_in_attempts.c.attempted_at > now - self.throttle.window,
            )
        ).scalars())

    # -- single sign-on --------------------------------------------------------------------------------------------

    def sign_in_with_sso(self, claims: Mapping[str, Any]) -> User:
        """The user an identity provider vouched for, from the claims of an ID token the caller has checked
        (Streamlit's st.login does); `claim_mapping` says which claims name the account, its groups and admins.

        The first sign-in creates the account, without a password. An account without a password is the provider's to
        describe: each sign-in sets its groups, and its role when an admin group is configured (but the last admin
        stays one). An account with a password is the admins' to describe (the first admin, a local account kept for
        when the provider is down): single sign-on signs it in and changes nothing. Refused, and recorded
        (SingleSignOnRefused), when the claims name no account Enclave can have, when an admin removed the account
        (the provider does not bring it back: an admin adds it again), and while there is no admin and the claims do
        not make one. No password is checked, so nothing is throttled: the provider guards its own sign-in."""
        try:
            identity = identity_from_claims(claims, self.claim_mapping)
        except SingleSignOnRefused as exc:
            claimed = claims.get(self.claim_mapping.name_claim)
            actor = claimed if isinstance(claimed, str) and is_account_name(claimed) else ""
            self._record_alone(actor, AuditEntry("sign_in.failure", details={"method": "sso", "reason": str(exc)}))
            raise
        with self._transaction() as connection:
            lock_users(connection)  # the checks below ("removed", "no admin yet", "not the last admin") hold
            found = find_account(connection, name=identity.name)
            refusal, entries = None, []
            if found is None:
                refusal = creation_refusal(connection, identity)
                if refusal is None:
                    role = "admin" if identity.is_admin else "member"
                    self._insert_user(connection, identity.name, role, identity.groups, None)
                    entries.append(account_entry("user.add", self._account(connection, identity.name), method="sso"))
            elif not found[1].has_password:
                entries += update_from_claims(connection, *found, identity)
            details: dict[str, Any] = {"method": "sso", "reason": refusal} if refusal else {"method": "sso"}
            if identity.ignored_groups:
                details["ignored_groups"] = list(identity.ignored_groups)
            entries.append(AuditEntry("sign_in.failure" if refusal else "sign_in.success", details=details))
            self.audit.append(connection, identity.name, entries)
            account = None if refusal else self._account(connection, identity.name)
        if account is None:
            raise SingleSignOnRefused(str(refusal))
        return account.user()

    # -- sessions --------------------------------------------------------------------------------------------------

    def start_session(self, user: User) -> str:
        """A new session for the signed-in user: returns its token, for the caller to hand to the browser (it is not
        kept: only its hash is). Lasts `session_lifetime`."""
        with self._transaction() as connection:
            user_id = self._user_id(connection, user.name)
            return sessions.start_session(connection, user_id, self._clock(), self.session_lifetime)

    def user_for_session(self, token: str) -> User | None:
        """Who holds this token, with the account's current role and groups; None when the session is unknown,
        ended or expired, or its account was removed."""
        with self._transaction() as connection:
            account = sessions.session_account(connection, token, self._clock())
        return None if account is None else account.user()

    def end_session(self, token: str) -> None:
        with self._transaction() as connection:
            sessions.end_session(connection, token, self._clock())

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    # -- inside ------------------------------------------------------------------------------------------------------

    def _transaction(self) -> ContextManager[Connection]:
        return transaction(self.database)

    def _insert_user(self, connection: Connection, name: str, role: str, groups: Sequence[str],
                     password_hash: str | None) -> None:
        if find_account(connection, name=name) is not None:
            raise UserExists(f"an account named {name} exists already: pick another name, or change that one "
                             "(`enclave users set-groups`, `enclave users set-password`)")
        connection.execute(delete(removed_accounts).where(removed_accounts.c.name == name))  # an admin's word again
        user_id = connection.execute(
            insert(users).values(name=name, role=role, password_hash=password_hash, created_at=self._clock())
            .returning(users.c.id)
        ).scalar_one()
        if groups:
            connection.execute(insert(user_groups), [{"user_id": user_id, "group_name": g} for g in groups])

    def _record_alone(self, actor: str, entry: AuditEntry) -> None:
        """Append a record in a transaction of its own (a sign-in refused after its attempt was committed)."""
        with self._transaction() as connection:
            self.audit.append(connection, actor, [entry])

    def _recorded(self, connection: Connection, by: str, action: str, account: Account, **details: object) -> Account:
        """Append the record of a change to this account, last in its transaction; the account, for the caller."""
        self.audit.append(connection, by, [account_entry(action, account, **details)])
        return account

    def _find(self, connection: Connection, name: str) -> tuple[int, Account]:
        found = find_account(connection, name=name)
        if found is None:
            raise UnknownUser(f"no account is named {name}: `enclave users list` shows them")
        return found

    def _user_id(self, connection: Connection, name: str) -> int:
        return self._find(connection, name)[0]

    def _account(self, connection: Connection, name: str) -> Account:
        return self._find(connection, name)[1]


def _lock_name(connection: Connection, name: str) -> None:
    """Sign-ins for one name take turns at counting and recording their attempt (SQLite: BEGIN IMMEDIATE already)."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"enclave-sign-in:{name}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def open_accounts(ingest_settings: IngestSettings, assistant_settings: AssistantSettings, *,
                  clock: Clock = utc_now, passwords: Passwords | None = None) -> Accounts:
    """Open the database and bring the assistant's tables up to date, without the embedding model or the store (for
    the `enclave users` commands). `close()` closes the database. Raises DatabaseUnavailable or SettingsError (as
    `open_database` does)."""
    return Accounts(open_assistant_database(ingest_settings), assistant_settings, clock=clock, passwords=passwords,
                    owns_database=True)
