"""Open the database the settings name: `ENCLAVE_DATABASE_URL` (PostgreSQL in production), or by default a SQLite file
under the data folder. Every connection follows the same rules on both: a transaction is durable when it returns,
and two processes writing at once wait for each other instead of failing."""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ingest.database.locks import OnWait, holding
from ingest.errors import DatabaseUnavailable, IngestError, SettingsError
from ingest.settings import IngestSettings

SQLITE_FILE = "enclave.db"
BUSY_SECONDS = 30  # a writer waits this long for another one (another process ingesting) before failing
_READING = "enclave_reading"  # execution option: this connection only reads (see _follow_sqlite_rules)


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

    def ping(self) -> None:
        """One trivial query: DatabaseUnavailable (or another IngestError) unless the database answers."""
        with self.reading("answer a readiness check") as connection:
            connection.execute(text("SELECT 1"))

    @contextmanager
    def writing(self, doing: str) -> Iterator[Connection]:
        """One transaction, committed when the block ends, rolled back if it raises. On SQLite it holds the write
        lock from its first statement (BEGIN IMMEDIATE), so two writers queue instead of failing halfway.
        doing: what the block does ("record stored documents"), for the error message."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise self.error(exc, doing, rolled_back=True) from exc

    @contextmanager
    def reading(self, doing: str) -> Iterator[Connection]:
        """A connection for reads only: on SQLite a plain BEGIN, so a reader never waits for a writer (WAL)."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**{_READING: True})
                yield connection
        except SQLAlchemyError as exc:
            raise self.error(exc, doing) from exc

    @contextmanager
    def locking(self, names: Sequence[str], *, wait: bool = True, on_wait: OnWait | None = None) -> Iterator[bool]:
        """Hold the locks `names` ("document:ID") for the block, against every other holder: a thread, a process,
        an app replica on another machine (PostgreSQL). Yields True; if another holder has one, waits for it
        (`on_wait(name)` told first), or with wait=False yields False at once, holding none. Released when the block
        ends, or the process does. See `ingest/database/locks.py`."""
        in_block = False
        try:
            with holding(self.engine, names, wait, on_wait) as held:
                in_block = True
                yield held
                in_block = False
        except SQLAlchemyError as exc:
            if in_block:  # the block's own error, not the lock's
                raise
            raise self.error(exc, "lock what is being written") from exc
        except OSError as exc:
            if in_block:
                raise
            raise DatabaseUnavailable(
                f"could not lock what is being written beside the database {self.describe()}: "
                f"{exc.strerror or exc} ({exc.filename}). Check that Enclave may write to its data folder."
            ) from exc

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can say what to do when the row exists (`on_conflict_do_update` / `_do_nothing`): both
        dialects spell it the same, each with its own construct."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def error(self, exc: SQLAlchemyError, doing: str, rolled_back: bool = False) -> IngestError:
        """The IngestError to raise for a database error met while `doing` something; one line naming the
        database, never its password. A lost or refused connection, a lock held too long or a full disk is
        DatabaseUnavailable; anything else is a statement the database refused, a bug."""
        said = f"could not {doing} in the database {self.describe()}: {_reason(exc)}."
        if rolled_back:
            said += " Nothing of it was saved."
        if not _is_unavailable(exc):
            return IngestError(f"{said} This is a bug in Enclave: please report it with this line.")
        return DatabaseUnavailable(
            f"{said} Check that the database server runs and accepts connections (ENCLAVE_DATABASE_URL), that no "
            "other process holds the SQLite file for long, and that its disk has room; then try again."
        )


def hold_lock(connection: Connection, name: str) -> None:
    """Hold the lock `name` until this transaction ends: two processes doing the same once-only work (a migration, an
    import) do it one after the other, and the second finds it done. SQLite: the transaction's BEGIN IMMEDIATE already
    holds the one write lock there is. PostgreSQL: an advisory lock, released with the transaction."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"enclave:{name}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


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
        # A reader's BEGIN takes no lock until it reads, and in WAL mode reading never waits for the writer.
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(_READING) else "BEGIN IMMEDIATE")


def _is_unavailable(exc: SQLAlchemyError) -> bool:
    """The database is out of reach, busy or out of room, as opposed to refusing the statement itself. SQLite calls
    both operational errors; its code tells them apart: SQLITE_ERROR (1) is the statement (a missing table)."""
    if isinstance(exc, (InterfaceError, PoolTimeout)) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return True
    if isinstance(exc, OperationalError):
        code = getattr(exc.orig, "sqlite_errorcode", None)
        return code is None or code & 0xFF != 1  # the low byte is the primary code (extended codes add the rest)
    return False


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]
