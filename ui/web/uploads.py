"""The Documents page's uploads: the groups chosen for them, and ingesting them in the background (their names and
saving them: ui/uploads.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from assistant import AssistantError
from ingest import IngestError

if TYPE_CHECKING:  # these load the embedding stack: too heavy for a type
    from assistant import Enclave, User
    from ingest import BatchStatus


def parse_groups(text: str) -> tuple[str, ...]:
    """'hr, legal' → ('hr', 'legal'); empty → ('everyone',)."""
    groups = tuple(dict.fromkeys(g.strip() for g in text.split(",") if g.strip()))
    return groups or ("everyone",)


def chosen_groups(values: Iterable[str]) -> tuple[str, ...]:
    """The groups picked or typed in a group picker: spaces at either end dropped, blanks and repeats too; may be
    empty."""
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def known_groups(default: str, *group_lists: Iterable[str]) -> list[str]:
    """The groups a picker offers: the default one (ENCLAVE_DEFAULT_GROUP) first, then every other group given (the
    accounts' and the documents'), sorted."""
    others = {g for groups in group_lists for g in groups} - {default}
    return [default, *sorted(others)]


class BackgroundIngest:
    """Runs one batch at a time (an upload, a re-index) in a thread of its own, so that reloading or leaving the page
    does not stop it (Streamlit stops a page's script when the browser goes away). Progress lives in the ingestion
    log."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, enclave: Enclave, lock: threading.Lock, paths: list[Path], groups: tuple[str, ...],
              user: User) -> bool:
        """Start ingesting; False when a batch is already running."""
        return self._start_work("Ingestion", lock, lambda: enclave.ingest(paths, user, groups=groups))

    def start_reindex(self, enclave: Enclave, lock: threading.Lock, keys: Sequence[str], user: User) -> bool:
        """Start re-indexing these stored documents from their kept files; False when a batch is already running."""
        return self._start_work("Re-indexing", lock, lambda: enclave.reindex(keys, user))

    def _start_work(self, what: str, lock: threading.Lock, work: Callable[[], object]) -> bool:
        if self.running():
            return False

        def run() -> None:
            try:
                with lock:
                    work()
            except (IngestError, AssistantError) as exc:
                self.error = f"{what} stopped: {exc}"

        self.error = None
        self._thread = threading.Thread(target=run, name="enclave-ingest", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def summarize_batch(batch: BatchStatus) -> str:
    counts = {s: sum(f.status == s for f in batch.files) for s in ("added", "updated", "unchanged", "failed")}
    line = f"{len(batch.files)} files: {counts['added']} added, {counts['unchanged']} unchanged, {counts['failed']} failed"
    return line + (f", {counts['updated']} updated" if counts["updated"] else "")
