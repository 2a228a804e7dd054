"""Bring a data folder of the versions before the database into it. Those kept the registry (`enclave.sqlite3`) and
the ingestion log (`jobs.sqlite3`) in SQLite files of their own; without their rows the database would vouch for
none of the documents in the store: they would vanish from every list, and a write they had marked as under way
would never be repaired.

Each file is imported once: its rows and a `legacy_imports` row go in one transaction, under a lock, so two
processes opening the folder at once import it once. Then the file is renamed `<name>.imported` and kept as a
backup. A crash or a failed rename after the commit is harmless: the `legacy_imports` row stops a second import,
and the rename is tried again at the next open."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, select

from ingest.database import tables
from ingest.database.engine import BUSY_SECONDS, Database, hold_lock
from ingest.errors import IngestError

log = logging.getLogger(__name__)

REGISTRY_FILE = "enclave.sqlite3"
JOBS_FILE = "jobs.sqlite3"
IMPORTED = ".imported"  # suffix of an imported file, kept as a backup

# What each file holds: (its table, the table it goes to). The tables kept their names and columns; a registry
# written before `title` and `language` existed gets their defaults.
_CONTENTS: dict[str, tuple[tuple[str, Table], ...]] = {
    REGISTRY_FILE: (("documents", tables.documents), ("pending", tables.pending)),
    JOBS_FILE: (("batches", tables.batches), ("batch_files", tables.batch_files)),
}
_DEFAULTS: dict[str, Any] = {"title": "", "language": None}


@dataclass(frozen=True)
class LegacyImport:
    """One file imported: its name in the data folder, the rows it held, and the backup it was renamed to (None
    when the rename failed; it is tried again at the next open)."""

    file: str
    rows: int
    kept_as: Path | None


def import_legacy_files(database: Database, data_dir: Path) -> list[LegacyImport]:
    """Import the files of an older version found in data_dir, unless they were imported already; set every
    imported one aside. Returns what this call imported (nothing, almost always).

    Raises IngestError when such a file cannot be read (nothing is imported then), DatabaseUnavailable when the
    database cannot take the rows."""
    found = [data_dir / name for name in _CONTENTS if (data_dir / name).is_file()]
    if not found:
        return []
    imported: dict[str, int] = {}
    with database.writing("import the registry and ingestion log of an older Enclave") as connection:
        hold_lock(connection, "legacy-import")
        done = set(connection.execute(select(tables.legacy_imports.c.file)).scalars())
        for path in found:
            if path.name not in done:
                imported[path.name] = _import_file(database, connection, path)
    results = []
    for path in found:
        kept_as = _set_aside(path)
        if path.name in imported:
            results.append(LegacyImport(path.name, imported[path.name], kept_as))
            kept = kept_as or f"{path.name}{IMPORTED} (renamed by another process, or at the next start)"
            log.warning("imported %s (%d rows) from the older Enclave into the database %s; the file is kept as %s",
                        path, imported[path.name], database.describe(), kept)
    return results


def _import_file(database: Database, connection: Connection, path: Path) -> int:
    rows = _read(path)
    for table, values in rows.items():
        if values:
            keys = list(table.primary_key.columns)
            connection.execute(database.insert(table).on_conflict_do_nothing(index_elements=keys), values)
    count = sum(len(values) for values in rows.values())
    connection.execute(tables.legacy_imports.insert().values(
        file=path.name, source=str(path.resolve()), rows=count,
        imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    ))
    return count


def _read(path: Path) -> dict[Table, list[dict[str, Any]]]:
    """Every row of the file's tables, shaped for the database's tables (a table it lacks has no rows)."""
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_SECONDS)) as db:
            db.row_factory = sqlite3.Row
            present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            read: dict[Table, list[dict[str, Any]]] = {}
            for name, table in _CONTENTS[path.name]:
                found = db.execute(f"SELECT rowid, * FROM {name}").fetchall() if name in present else []
                read[table] = [_shape(row, table) for row in found]
            return read
    except sqlite3.Error as exc:
        raise IngestError(
            f"cannot read {path}, the document registry or ingestion log of an older Enclave, to import it into "
            f"the database: {exc}. Restore it from a backup, or move it out of the data folder to start without "
            "what it recorded (the documents in the store would then have to be ingested again)."
        ) from exc


def _shape(row: sqlite3.Row, table: Table) -> dict[str, Any]:
    """The row with the database table's columns; `batches.seq` is the old rowid (which batch started last)."""
    old = dict(row)
    old.setdefault("seq", old["rowid"])
    return {c.name: old.get(c.name, _DEFAULTS.get(c.name)) for c in table.columns}


def _set_aside(path: Path) -> Path | None:
    """Rename an imported file to `<name>.imported` (or `.imported.2`, … : a backup is never overwritten), with the
    journal files SQLite may have left beside it. None when it cannot be renamed."""
    target = path.with_name(path.name + IMPORTED)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{IMPORTED}.{n}")
    try:
        path.rename(target)
        for journal in ("-wal", "-shm"):
            side = path.with_name(path.name + journal)
            if side.exists():
                side.rename(target.with_name(target.name + journal))
    except FileNotFoundError:
        return None  # another process opening the folder set it aside first
    except OSError as exc:
        log.warning("%s was imported into the database but could not be renamed (%s): it is kept as it is, and the "
                    "rename is tried again at the next start", path, exc.strerror or exc)
        return None
    return target
