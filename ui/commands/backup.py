"""`enclave backup DIR` and `enclave restore DIR [--force]`: the database, the vector store and the original files,
copied together into a folder with a manifest of SHA-256 checksums, and put back once every checksum matches
(ingest/backup.py does the work). Progress bars over the bytes copied, on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ui.commands.terminal import EXIT_REFUSED, fail, stderr

STOP_BACKUP = ("The process holding the store serves no API this command can use: stop it and back up, or run "
               "the app as `enclave up` (with its API), through which `enclave backup` works while it runs")
STOP_RESTORE = ("Stop `enclave up` (or the app, or `enclave api`) before restoring: it holds the embedded store, "
                "and the store cannot be replaced under it")


class CopyProgress:
    """One bar per step (the database, the store, the originals…), over its bytes; told (step, done, total)."""

    def __init__(self) -> None:
        self._bars = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=stderr, transient=False,
        )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> CopyProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self._tasks:
            self._tasks[step] = self._bars.add_task(step, total=total or None)
        self._bars.update(self._tasks[step], completed=done, total=total or None)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup(folder: Path) -> None:
    """Back up the database, the vector store and the original files into FOLDER (new or empty).

    The copy is consistent: no document can be stored or removed while it is taken. FOLDER gets a manifest.json
    with the SHA-256 of every file, written last; `enclave restore FOLDER` checks them all before it changes
    anything. While `enclave up` runs, the backup is taken through its API: the app pauses its writers for the
    copy."""
    from ingest import back_up, load_settings

    from ui.commands.remote import RemoteFailed, find_running_api

    if (remote := find_running_api()) is not None:  # the app holds the store: it pauses its writers and copies
        stderr.print(f"{remote.where} holds the store: backing up through its API", highlight=False)
        try:
            with CopyProgress() as progress:
                done = remote.backup(str(folder.expanduser().absolute()), progress)
        except RemoteFailed as exc:
            fail(str(exc), exc.exit_code)
        click.echo(f"backed up {done['documents']} documents ({done['files']} files, {_size(done['size'])}) "
                   f"to {folder}")
        return
    with exiting_on_failure(STOP_BACKUP):
        settings = load_settings()
        with CopyProgress() as progress:
            manifest = back_up(settings, folder, progress)
    click.echo(f"backed up {manifest.documents} documents ({len(manifest.files)} files, {_size(manifest.size)}) "
               f"to {folder}")


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what this Enclave holds now (its documents, accounts, audit "
                                            "trail and conversations) with the backup.")
def restore(folder: Path, force: bool) -> None:
    """Restore the backup in FOLDER: the database, the vector store and the original files, once every file's
    SHA-256 matches the manifest (a damaged or incomplete backup is refused, naming the file, and nothing changes).

    Refused over an Enclave that holds anything, unless --force. Files of documents ingested from outside the data
    folder are put back where they were, where nothing is there now."""
    from ingest import load_settings, restore_backup

    with exiting_on_failure(STOP_RESTORE):
        settings = load_settings()
        with CopyProgress() as progress:
            manifest = restore_backup(settings, folder, force=force, progress=progress)
    click.echo(f"restored {manifest.documents} documents from {folder} (taken {manifest.created_at})")


@contextmanager
def exiting_on_failure(when_busy: str) -> Iterator[None]:
    """The command's exit for ingest's errors in the block: a refusal (a folder not empty, a damaged backup, an
    Enclave that is not empty) exits 1; a store another process holds says `when_busy` (what to do), and exits 2, as
    any other error of ingest's does."""
    from ingest import BackupRefused, IngestError, StoreBusy

    try:
        yield
    except BackupRefused as exc:
        fail(str(exc), EXIT_REFUSED)
    except StoreBusy as exc:
        fail(f"{exc}. {when_busy}")
    except IngestError as exc:
        fail(str(exc))


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    shown = float(size)
    for unit in ("KB", "MB", "GB"):
        shown /= 1024
        if shown < 1024 or unit == "GB":
            break
    return f"{shown:.1f} {unit}"
