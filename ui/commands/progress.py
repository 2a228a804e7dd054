"""Terminal progress for ingestion: a bar over files and one over chunks, with rate and ETA, on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest import Progress as IngestEvent


class IngestProgress:
    """Feed it ingest events; it draws the bars and prints one line per failed file."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._files = self._bars.add_task("files ", total=None, rate="")
        self._chunks = self._bars.add_task("chunks", total=None, rate="")
        self._chunk_count = 0

    def __enter__(self) -> "IngestProgress":
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def __call__(self, event: IngestEvent) -> None:
        if event.kind == "start":
            self._bars.update(self._files, total=event.total)
        elif event.kind == "file" and event.result is not None:
            if event.result.status != "removed":
                self._bars.advance(self._files)
            if event.result.status == "failed":
                self._bars.console.print(f"[red]failed[/red] {event.result.path}: {event.result.reason}", highlight=False)
            elif event.result.status == "removed":
                self._bars.console.print(f"removed {event.result.path}: {event.result.reason}", highlight=False)
            elif event.result.reason:  # stored, with a part left out (an attachment that could not be read)
                self._bars.console.print(
                    f"[yellow]{event.result.status}[/yellow] {event.result.path}: {event.result.reason}", highlight=False
                )
        elif event.kind == "chunks":
            self._chunk_count += event.count
            self._bars.advance(self._chunks, event.count)
            task = self._bars.tasks[self._chunks]
            speed = task.speed
            self._bars.update(self._chunks, rate=f"{speed:.1f} chunks/s" if speed else "")
        elif event.kind == "stage" and event.stage == "embedding":
            self._bars.update(self._files, description="files ")
