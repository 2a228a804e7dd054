"""`enclave db`: the database's tables, without the models or the store: bring them to the newest revision, or show
which revision they are at. Only the settings and the database are opened, so it runs in a second, beside a running
app, and as a deployment step before a new version starts."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from ingest import IngestError
from ui.commands.terminal import fail

if TYPE_CHECKING:
    from ingest import Database


@click.group("db")
def database() -> None:
    """The database (ENCLAVE_DATABASE_URL, or the SQLite file enclave.db under ENCLAVE_DATA_DIR): its tables."""


@database.command("upgrade")
def db_upgrade() -> None:
    """Bring every package's tables to the newest revision (Enclave also does it whenever it starts).

    Each package's tables migrate in one transaction: a migration that fails changes nothing, and two processes
    upgrading at once take turns. The registry and ingestion log of an Enclave from before the database, if the data
    folder still has them, are imported the first time Enclave opens the store (`enclave ingest`, the app).
    """
    from assistant import upgrade_database

    with opened_database() as db:
        for upgrade in upgrade_database(db):
            if upgrade.before == upgrade.after:
                click.echo(f"{upgrade.tree}: at {upgrade.after}, the newest (nothing to do)")
            else:
                click.echo(f"{upgrade.tree}: upgraded from {upgrade.before or 'no tables'} to {upgrade.after}")


@database.command("status")
def db_status() -> None:
    """Show each package's revision in the database and the newest this Enclave knows."""
    from assistant import read_database_status

    with opened_database() as db:
        click.echo(f"database: {db.describe()}")
        for status in read_database_status(db):
            advice = "" if status.up_to_date else "  (run `enclave db upgrade`)"
            at = f"at {status.current}" if status.current else "no tables yet"
            click.echo(f"{status.tree}: {at}, newest {status.head}{advice}")


@contextmanager
def opened_database() -> Iterator[Database]:
    """The database the settings name. A problem opening or migrating it (a bad setting, an unreachable server, a
    migration the database refused) is one line on stderr and exit 2."""
    from ingest import load_settings, open_database

    try:
        db = open_database(load_settings())
    except IngestError as exc:
        fail(str(exc))
    try:
        yield db
    except IngestError as exc:
        fail(str(exc))
    finally:
        db.close()
