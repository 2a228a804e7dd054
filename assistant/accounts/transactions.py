"""One transaction on the accounts' database, with SQLAlchemy's errors turned into the assistant's: what Accounts and
its keys each change and read in."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from assistant.errors import AccountError, AccountsUnavailable
from ingest import Database


@contextmanager
def transaction(database: Database) -> Iterator[Connection]:
    """One transaction; SQLAlchemy's errors become AccountError (a constraint refused the change) or
    AccountsUnavailable, with the driver's first line only (the full error lists the statement's parameters, a
    password hash or a key's hash among them)."""
    try:
        with database.engine.begin() as connection:
            yield connection
    except IntegrityError as exc:
        raise AccountError(f"the accounts' database refused the change ({reason(exc)}); "
                           "another change to the same account may have come first: try again") from exc
    except SQLAlchemyError as exc:
        raise AccountsUnavailable(
            f"cannot use the accounts in {database.describe()}: {reason(exc)}. "
            "Check ENCLAVE_DATABASE_URL and that the database server runs, then try again."
        ) from exc


def reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or type(exc).__name__).strip().splitlines()[0]
