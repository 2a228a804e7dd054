"""The queue's procrastinate App: on the database's own URL, with one task (ingest one batch) on one queue."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ingest.errors import SettingsError
from ingest.settings import IngestSettings

if TYPE_CHECKING:
    import procrastinate

TASK = "enclave.ingest_batch"
QUEUE = "ingest"


@dataclass(frozen=True)
class BatchJob:
    """What a worker needs to ingest one queued batch (the job's arguments, kept as JSON)."""

    batch_id: str  # the batch in the ingestion log, logged when it was queued
    paths: list[str]  # absolute: files and folders as given, on the storage every worker mounts
    user: str  # the account that asked
    groups: list[str] | None  # None: the default group for new documents, stored ones keep theirs
    sync: bool = False
    actor: dict[str, str] = field(default_factory=dict)  # more on who asked, for the audit trail (opaque here)

    def to_arguments(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_arguments(cls, arguments: dict[str, Any]) -> "BatchJob":
        return cls(**{name: arguments[name] for name in ("batch_id", "paths", "user", "groups", "sync", "actor")})


def conninfo(settings: IngestSettings) -> str:
    """The libpq URL of ENCLAVE_DATABASE_URL (which SQLAlchemy spells postgresql+psycopg://)."""
    from ingest.database import database_url

    url = database_url(settings)
    if url.get_backend_name() != "postgresql":
        raise SettingsError("the ingestion queue keeps its jobs in PostgreSQL: set ENCLAVE_DATABASE_URL to it")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(settings: IngestSettings, handle: Callable[[BatchJob], object] | None = None) -> "procrastinate.App":
    """The App, not yet open. handle: what a worker does with a job (only a worker passes it)."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings)))

    def ingest_batch(**arguments: Any) -> None:
        if handle is None:
            raise RuntimeError("this process only queues batches: `enclave worker` ingests them")
        handle(BatchJob.from_arguments(arguments))

    app.task(name=TASK, queue=QUEUE)(ingest_batch)
    return app

