"""Locks on named things (a stored document) that hold across threads, processes and, on PostgreSQL, machines, and
end with their holder however it ends: a killed process leaves nothing locked.

PostgreSQL (production, several app replicas on several machines): advisory locks of one transaction, on a connection
of its own (`pg_advisory_xact_lock`). Every replica asks the same server, and a killed process's connection closes,
which ends its transaction and its locks. SQLite (the embedded default, one machine by nature) has no lock finer
than its whole write lock, and a re-index cannot hold that for minutes (every other writer, the ingestion log and the
accounts included, would wait for it), so there a lock is an flock on a file of its own in a folder beside the
database file. The kernel releases it when its descriptor closes, at the end of the block or of the process; each
holder opens the file itself, so two threads of one process exclude each other as two processes do.

Locks are taken in one order (by key), so two holders of several never wait for each other in a circle.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from sqlalchemy import Engine, text

LOCKS_SUFFIX = "-locks"  # the SQLite file's lock folder: enclave.db-locks beside enclave.db (as -wal and -shm are)

OnWait = Callable[[str], None]  # told the name of a lock it is about to wait for (another holder has it)


def advisory_key(name: str) -> int:
    """The 64-bit key of the lock `name` on PostgreSQL (a hash: two names sharing one only wait for each other)."""
    return int.from_bytes(hashlib.blake2b(f"enclave:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def lock_folder(engine: Engine) -> Path:
    """Where the lock files of a SQLite database go: a folder beside its file."""
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("a database in memory is private to its connection: it has no other writer to lock out")
    return Path(database).with_name(Path(database).name + LOCKS_SUFFIX)


@contextmanager
def holding(engine: Engine, names: Sequence[str], wait: bool, on_wait: OnWait | None) -> Iterator[bool]:
    """Hold the locks `names` for the block and yield True. Another holder has one: wait for it (`on_wait` told
    first), or with wait=False yield False at once, holding none. Raises SQLAlchemyError or OSError."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, names, wait, on_wait) as held:
            yield held
    else:
        with _flocks(lock_folder(engine), names, wait, on_wait) as held:
            yield held


@contextmanager
def _advisory(engine: Engine, names: Sequence[str], wait: bool, on_wait: OnWait | None) -> Iterator[bool]:
    keys = sorted({advisory_key(n): n for n in names}.items())
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for key, name in keys:
                if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar():
                    continue
                if not wait:
                    yield False
                    return
                if on_wait is not None:
                    on_wait(name)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield True
        finally:
            transaction.rollback()  # it wrote nothing: ending it is what releases the locks


@contextmanager
def _flocks(folder: Path, names: Sequence[str], wait: bool, on_wait: OnWait | None) -> Iterator[bool]:
    folder.mkdir(exist_ok=True)
    files = sorted({hashlib.blake2b(n.encode(), digest_size=16).hexdigest(): n for n in names}.items())
    with ExitStack() as held:
        for file, name in files:
            path = folder / f"{file}.lock"
            fd = _lock_file(path, blocking=False)
            if fd is None:
                if not wait:
                    yield False
                    return
                if on_wait is not None:
                    on_wait(name)
                fd = _lock_file(path, blocking=True)
            assert fd is not None
            held.callback(_unlock_file, path, fd)
        yield True


def _lock_file(path: Path, blocking: bool) -> int | None:
    """The descriptor holding the flock of the file now at `path` (created if missing); None if another holder has
    it and not `blocking`. A holder deletes the file as it lets go, so a lock won on a file deleted meanwhile is
    worthless: lock the path's new file instead."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError) and exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        opened = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
            return fd
        os.close(fd)


def _unlock_file(path: Path, fd: int) -> None:
    """Delete the file while still holding it (so no file is left per document ever written), then let go."""
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
