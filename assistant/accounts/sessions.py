"""Sessions: a random token handed to whoever signed in, and only its SHA-256 kept, so a copy of the database signs
nobody in. A session answers with the account as it is *now*: a changed role or group applies to the next request,
and a removed account's sessions are gone with it (the rows are deleted with the account)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from assistant.accounts.directory import Account, find_account
from assistant.accounts.tables import sessions

TOKEN_BYTES = 32  # 256 bits from the operating system's generator: not guessable, whatever the number of tries


def hash_token(token: str) -> str:
    """The key a session is stored under. A plain SHA-256 is enough: the token is random, not a password to stretch."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(connection: Connection, user_id: int, now: datetime, lifetime: timedelta) -> str:
    """Record a new session for this account; returns its token (shown once: it is not kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    connection.execute(insert(sessions).values(
        token_sha256=hash_token(token), user_id=user_id, created_at=now, expires_at=now + lifetime,
    ))  # fmt: skip
    return token


def session_account(connection: Connection, token: str, now: datetime) -> Account | None:
    """The account behind a live session, as it is now; None for an unknown, ended or expired token."""
    row = connection.execute(
        select(sessions.c.user_id).where(
            sessions.c.token_sha256 == hash_token(token),
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > now,
        )
    ).one_or_none()
    if row is None:
        return None
    found = find_account(connection, user_id=row.user_id)
    return None if found is None else found[1]


def end_session(connection: Connection, token: str, now: datetime) -> None:
    """End the session (signing out). An unknown or already ended token is left as it is."""
    connection.execute(
        update(sessions)
        .where(sessions.c.token_sha256 == hash_token(token), sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(connection: Connection, user_id: int, now: datetime) -> None:
    """End every live session of an account (its password changed: whoever knew the old one is signed out)."""
    connection.execute(
        update(sessions).where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None)).values(ended_at=now)
    )
