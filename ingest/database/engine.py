"""Open the database the settings name: `ENCLAVE_DATABASE_URL` (PostgreSQL in production), or by default a SQLite file
under the data folder. Every connection follows the same rules on both: a transaction is durable when it returns,
and two processes writing at once wait for each other instead of failing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ingest.errors import DatabaseUnavailable, SettingsError
from ingest.settings import IngestSettings

SQLITE_FILE = "enclave.db"
BUSY_SECONDS = 30  # a writer waits this long for another one (another process ingesting) before failing


class Database:
    """One engine (a pool of connections) for one database, shared by everything in the process that keeps tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def describe(self) -> str:
        """The URL without its password: safe to print and log."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def database_url(settings: IngestSettings) -> URL:
    """The configured URL, or the default SQLite file. `postgresql://` means the psycopg (3) driver Enclave ships."""
    configured = settings.database_url.get_secret_value().strip() if settings.database_url else ""
    if not configured:
        return URL.create("sqlite", database=str(Path(settings.data_dir).resolve() / SQLITE_FILE))
    try:
        url = make_url(configured)
    except ArgumentError as exc:
        raise SettingsError(f"ENCLAVE_DATABASE_URL is not a database URL ({exc}); "
                            "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise SettingsError(f"ENCLAVE_DATABASE_URL: {url.get_backend_name()} is not supported; "
                            "use postgresql://… or leave it empty for the SQLite file under the data folder")
    return url


def open_database(settings: IngestSettings) -> Database:
    """Create the engine and check that the database answers. Raises DatabaseUnavailable or SettingsError."""
    url = database_url(settings)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            try:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create the folder of the database {shown}: {exc.strerror}. "
                    "Check that ENCLAVE_DATA_DIR names a folder Enclave may write to."
                ) from exc
        engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})
        _follow_sqlite_rules(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseUnavailable(
            f"cannot open the database {shown}: {_reason(exc)}. "
            "Check ENCLAVE_DATABASE_URL, that the server runs and accepts this user, and that the disk has room."
        ) from exc
    return Database(engine)


def _follow_sqlite_rules(engine: Engine) -> None:
    """WAL (readers never wait for a writer), a full sync at each commit (the registry's promise that a recorded
    document is stored survives a power cut), foreign keys enforced, and transactions begun by us, not by the
    sqlite3 module's guesswork: BEGIN IMMEDIATE takes the write lock up front, so two writers queue (for up to
    BUSY_SECONDS) instead of one failing halfway with "database is locked"."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit at the driver: SQLAlchemy's BEGIN below is the only one
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]
