"""Back up an Enclave into a folder, and restore one from it: the database (every package's tables), the vector store
and the original files, taken together so they agree, and a manifest with the SHA-256 of every file, written last.

Agreeing. With the embedded store, the backup holds the store's folder lock for the whole copy, as any writer does:
no ingestion, re-index or removal can run (they all open the store), so no document lands between the database's copy
and the store's. With a Qdrant server there is no such lock across machines: the database is dumped first and the
collection snapshotted right after, and a document written in between is left in the store without a registry record
(stop the writers, or back up at a quiet hour). Accounts and the audit trail may change during a backup (`enclave
users` opens no store): the database copy is one consistent moment of them.

Layout of a backup folder:
    manifest.json            what is in it, and the SHA-256 and size of every other file
    database.sqlite|.pgdump  the database (ingest.database.dumps)
    store/…  |  store.snapshot   the embedded shard's files, or the server collection's snapshot
    originals/…              the data folder's kept uploads
    external/ID/NAME         the file of a document ingested from outside the data folder, by document id

Restore checks every file against the manifest before it changes anything, refuses a backup of another kind of
database or store, and refuses an Enclave that holds anything unless forced. Files of documents ingested from outside
the data folder are put back where they were, only where nothing is there now.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable

from sqlalchemy import select, update

from ingest.database import DUMP_FILES, database_is_empty, database_url, dump_database, open_database, restore_database
from ingest.database import tables
from ingest.errors import BackupDamaged, BackupRefused, IngestError
from ingest.settings import IngestSettings
from ingest.store import (EdgeStore, Store, clear_store_folder, holding_store_folder, recover_server, snapshot_server,
                          store_files)

MANIFEST = "manifest.json"
FORMAT = 1
STORE_FOLDER, STORE_SNAPSHOT = "store", "store.snapshot"
ORIGINALS, EXTERNAL = "originals", "external"
_BLOCK = 1 << 20

BackupProgress = Callable[[str, int, int], None]  # (step, bytes done, bytes in the step), told as bytes are done


@dataclass(frozen=True)
class BackedUpFile:
    sha256: str
    size: int


@dataclass(frozen=True)
class BackupManifest:
    """What a backup folder holds: the kind of database and store it was taken from, and every file's checksum."""

    created_at: str
    database: str  # "sqlite" or "postgresql"
    store: str  # "embedded" or "server"
    collection: str
    data_dir: str  # the data folder it was taken from (resolved): its uploads' paths are rewritten on restore
    documents: int
    files: dict[str, BackedUpFile] = field(default_factory=dict)  # path in the folder (posix) -> checksum
    external: dict[str, str] = field(default_factory=dict)  # path in the folder -> where the file was
    format: int = FORMAT

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BackupManifest:
        raw = json.loads(text)
        raw["files"] = {path: BackedUpFile(**entry) for path, entry in raw["files"].items()}
        return cls(**raw)


def back_up(settings: IngestSettings, folder: Path, progress: BackupProgress | None = None, *,
            store: Store | None = None) -> BackupManifest:
    """Back up the Enclave the settings name into `folder` (created; it must be new or empty).

    store: the embedded store this process holds open (the app's), paused for the copy instead of locked; the caller
    holds its own writers back meanwhile (the app's writing lock), as the store's folder lock holds back the others.

    Raises BackupRefused for a folder that holds anything, StoreBusy while another process (the app) holds the
    embedded store, StoreUnavailable or DatabaseUnavailable when either cannot be read."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupRefused(f"{folder} is not an empty folder: back up into a new folder, so that no older backup's "
                            "file is mixed into this one")
    url = database_url(settings)
    embedded = not settings.qdrant_url
    made = not folder.exists()
    try:
        with ExitStack() as held:
            if embedded and isinstance(store, EdgeStore):  # this process's writers wait for the copy
                held.enter_context(store.paused())
            elif embedded:  # from here on no writer can open the store: the database and the store agree
                held.enter_context(holding_store_folder(settings.qdrant_path / settings.collection))
            folder.mkdir(parents=True, exist_ok=True)
            files: dict[str, BackedUpFile] = {}
            dump = folder / DUMP_FILES[url.get_backend_name()]
            dump_database(url, dump)
            files[dump.name] = BackedUpFile(*_checksum(dump))
            _tell(progress, "database", files[dump.name].size, files[dump.name].size)
            sources = _document_sources(settings)
            if embedded:
                shard = settings.qdrant_path / settings.collection
                files |= _copy_tree(shard, store_files(shard), folder / STORE_FOLDER, "store", progress)
            else:
                snapshot_server(settings, folder / STORE_SNAPSHOT, partial(_tell, progress, "store", total=0))
                files[STORE_SNAPSHOT] = BackedUpFile(*_checksum(folder / STORE_SNAPSHOT))
            originals = settings.originals_dir
            kept = sorted(p for p in originals.rglob("*") if p.is_file()) if originals.is_dir() else []
            files |= _copy_tree(originals, kept, folder / ORIGINALS, "originals", progress)
            external = _copy_external(settings, sources, folder, files, progress)
        manifest = BackupManifest(
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), database=url.get_backend_name(),
            store="embedded" if embedded else "server", collection=settings.collection,
            data_dir=str(Path(settings.data_dir).resolve()), documents=len(sources), files=files, external=external,
        )  # fmt: skip
        written = folder / (MANIFEST + ".part")
        written.write_text(manifest.to_json(), encoding="utf-8")
        _sync(written)
        written.rename(folder / MANIFEST)  # last: a folder without its manifest is an unfinished backup
    except BaseException as exc:
        _remove_unfinished(folder, made)
        if isinstance(exc, OSError):  # the backup folder's disk is full, or a file could not be read
            raise IngestError(f"the backup stopped: {exc.strerror or exc} ({exc.filename}); nothing was kept in "
                              f"{folder}. Check that its disk has room and the data folder can be read") from exc
        raise
    return manifest


def verify_backup(folder: Path, progress: BackupProgress | None = None) -> BackupManifest:
    """The backup's manifest, once every file it lists is there with its size and SHA-256. Raises BackupDamaged,
    naming the first file missing or different, or the manifest itself."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupDamaged(f"{path} is missing: {folder} is not a finished backup (was it interrupted?); "
                            "restore another backup")
    try:
        manifest = BackupManifest.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupDamaged(f"{path} is damaged ({exc}): restore another backup") from exc
    if manifest.format != FORMAT:
        raise BackupRefused(f"{path}: backup format {manifest.format} is not one this Enclave reads ({FORMAT})")
    done, total = 0, manifest.size
    for name, expected in sorted(manifest.files.items()):
        if Path(name).is_absolute() or ".." in Path(name).parts:  # a restore writes where the names say
            raise BackupDamaged(f"{path} names a file outside the backup ({name}): restore another backup")
        file = folder / name
        if not file.is_file():
            raise BackupDamaged(f"{file} is missing: the backup is incomplete; restore another backup")
        if file.stat().st_size != expected.size:
            raise BackupDamaged(f"{file} has {file.stat().st_size} bytes, the manifest says {expected.size}: the "
                                "backup is damaged; restore another backup")
        digest = hashlib.sha256()
        try:
            with file.open("rb") as reading:
                while block := reading.read(_BLOCK):
                    digest.update(block)
                    done += len(block)
                    _tell(progress, "checking", done, total)
        except OSError as exc:
            raise BackupDamaged(f"{file} cannot be read ({exc.strerror or exc}): check its permissions, or restore "
                                "another backup") from exc
        if digest.hexdigest() != expected.sha256:
            raise BackupDamaged(f"{file} does not match its SHA-256 in the manifest: the backup is damaged; "
                                "restore another backup")
    return manifest


def restore_backup(settings: IngestSettings, folder: Path, *, force: bool = False,
            progress: BackupProgress | None = None) -> BackupManifest:
    """Restore the backup in `folder` into the Enclave the settings name, once it is verified whole.

    Raises BackupDamaged (nothing changed), BackupRefused for a backup of another kind of database or store, or an
    Enclave that holds anything without `force` (nothing changed); StoreBusy while another process holds the
    embedded store; IngestError when a part could not be put back (the Enclave is then partly restored: the message
    says to run the restore again with --force)."""
    folder = Path(folder)
    manifest = verify_backup(folder, progress)
    url = database_url(settings)
    embedded = not settings.qdrant_url
    here = ("embedded" if embedded else "server", url.get_backend_name())
    if (manifest.store, manifest.database) != here:
        raise BackupRefused(
            f"{folder} holds a {manifest.store} store and a {manifest.database} database; this Enclave has a "
            f"{here[0]} store and a {here[1]} database: set ENCLAVE_QDRANT_URL and ENCLAVE_DATABASE_URL as they "
            "were when the backup was taken"
        )
    store = settings.qdrant_path / settings.collection
    with ExitStack() as held:
        if embedded:
            held.enter_context(holding_store_folder(store))
        if not force and (found := _what_is_there(settings, store if embedded else None)):
            raise BackupRefused(f"this Enclave is not empty ({found}): restore with --force to replace all of it "
                                "with the backup, or point ENCLAVE_DATA_DIR at a new folder")
        try:
            _put_back(settings, manifest, folder, store if embedded else None, progress)
        except (IngestError, OSError) as exc:
            said = str(exc) if isinstance(exc, IngestError) else f"{exc.strerror or exc} ({exc.filename})"
            raise IngestError(f"the restore stopped halfway: {said}. This Enclave is partly restored: fix the cause, "
                              f"then run `enclave restore {folder} --force` again") from exc
    return manifest


# -- steps --------------------------------------------------------------------------------------------------------


def _put_back(settings: IngestSettings, manifest: BackupManifest, folder: Path, store: Path | None,
              progress: BackupProgress | None) -> None:
    """The database, the store (its folder, held by the caller; None: the server's collection), the kept uploads,
    the outside files where nothing is now; then the uploads' paths, if the data folder moved."""
    dump = DUMP_FILES[manifest.database]
    restore_database(database_url(settings), folder / dump)
    _tell(progress, "database", manifest.files[dump].size, manifest.files[dump].size)
    if store is not None:
        clear_store_folder(store)
        _copy_tree(folder / STORE_FOLDER, _listed(manifest, folder, STORE_FOLDER), store, "store", progress)
    else:
        recover_server(settings, folder / STORE_SNAPSHOT)
    originals = settings.originals_dir
    shutil.rmtree(originals, ignore_errors=True)
    _copy_tree(folder / ORIGINALS, _listed(manifest, folder, ORIGINALS), originals, "originals", progress)
    for name, where in manifest.external.items():
        if not Path(where).exists():
            _copy_tree(folder / name, [folder / name], Path(where), "external files", progress)
    _move_uploads(settings, Path(manifest.data_dir))


def _document_sources(settings: IngestSettings) -> dict[str, str]:
    """Every stored document's id and the path of its file, from the registry (none before the first ingestion)."""
    database = open_database(settings)
    try:
        with database.reading("read the stored documents") as connection:
            if not connection.dialect.has_table(connection, tables.documents.name):
                return {}
            rows = connection.execute(select(tables.documents.c.document_id, tables.documents.c.source))
            return {row.document_id: row.source for row in rows}
    finally:
        database.close()


def _copy_external(settings: IngestSettings, sources: dict[str, str], folder: Path, files: dict[str, BackedUpFile],
                   progress: BackupProgress | None) -> dict[str, str]:
    """Copy the files of documents ingested from outside the data folder (the originals folder is copied whole);
    a document stored from text, or whose file is gone, has none."""
    originals = settings.originals_dir.resolve()
    wanted = {}
    for document_id, source in sorted(sources.items()):
        path = Path(source)
        if path.is_absolute() and path.is_file() and not path.resolve().is_relative_to(originals):
            wanted[f"{EXTERNAL}/{document_id}/{path.name}"] = path
    total, done = sum(p.stat().st_size for p in wanted.values()), 0
    for name, path in wanted.items():
        advance = partial(_tell_from, progress, "external files", done, total)
        files[name] = BackedUpFile(*_copy(path, folder / name, advance))
        done += files[name].size
    return {name: str(path) for name, path in wanted.items()}


def _copy_tree(source: Path, paths: list[Path], dest: Path, step: str,
               progress: BackupProgress | None) -> dict[str, BackedUpFile]:
    """Copy `paths` (files under `source`, or `source` itself) to the same places under `dest` (or to `dest`);
    their checksums, named by their path in the backup folder (`dest`'s name, then theirs under it)."""
    total, done = sum(p.stat().st_size for p in paths), 0
    copied = {}
    for path in paths:
        relative = path.relative_to(source)
        target = dest / relative if relative.parts else dest
        checksum = _copy(path, target, partial(_tell_from, progress, step, done, total))
        copied[(Path(dest.name) / relative).as_posix()] = BackedUpFile(*checksum)
        done += checksum[1]
    if paths:
        _tell(progress, step, total, total)
    return copied


def _copy(source: Path, dest: Path, advance: Callable[[int], None]) -> tuple[str, int]:
    """Copy one file, synced to disk; its SHA-256 and size, from the bytes written."""
    digest, size = hashlib.sha256(), 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reading, dest.open("wb") as writing:
        while block := reading.read(_BLOCK):
            digest.update(block)
            if block.count(0) == len(block):  # the store's files are mostly preallocated zeros: keep them holes
                writing.seek(len(block), os.SEEK_CUR)
            else:
                writing.write(block)
            size += len(block)
            advance(size)
        writing.truncate(size)  # a file ending in zeros ends at its size
        writing.flush()
        os.fsync(writing.fileno())
    shutil.copystat(source, dest)
    return digest.hexdigest(), size


def _checksum(path: Path) -> tuple[str, int]:
    with path.open("rb") as reading:
        return hashlib.file_digest(reading, "sha256").hexdigest(), path.stat().st_size


def _listed(manifest: BackupManifest, folder: Path, top: str) -> list[Path]:
    return [folder / name for name in sorted(manifest.files) if name.startswith(top + "/")]


def _what_is_there(settings: IngestSettings, store: Path | None) -> str:
    """What makes this Enclave not empty, in a few words; "" when it holds nothing."""
    if not database_is_empty(database_url(settings)):
        return "its database has tables"
    if store is not None and store_files(store):
        return f"its store at {store} has files"
    originals = settings.originals_dir
    if originals.is_dir() and any(originals.iterdir()):
        return f"{originals} has files"
    return ""


def _move_uploads(settings: IngestSettings, old_data_dir: Path) -> None:
    """Restored into another data folder: point the registry's kept uploads at their new place."""
    old, new = str(old_data_dir / ORIGINALS), str(settings.originals_dir.resolve())
    if old == new:
        return
    database = open_database(settings)
    try:
        documents = tables.documents
        with database.writing("point the restored documents at their restored files") as connection:
            rows = connection.execute(select(documents.c.document_id, documents.c.source)).all()
            for row in rows:
                if row.source.startswith(old + os.sep):
                    connection.execute(update(documents).where(documents.c.document_id == row.document_id)
                                       .values(source=new + row.source[len(old):]))
    finally:
        database.close()


def _remove_unfinished(folder: Path, made: bool) -> None:
    """A backup that failed leaves nothing behind: the folder, if it made it, or what it wrote in the empty one."""
    if not folder.is_dir():
        return
    if made:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    with path.open("rb+") as file:
        os.fsync(file.fileno())


def _tell_from(progress: BackupProgress | None, step: str, start: int, total: int, done: int) -> None:
    _tell(progress, step, start + done, total)


def _tell(progress: BackupProgress | None, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(step, done, total)


__all__ = ["BackupManifest", "BackupProgress", "back_up", "restore_backup", "verify_backup"]
