"""The AuditTrail: append records to the chain (inside the transaction of the change they describe, or in one of
their own), list them with filters, verify the chain, and prune what is older than the retention.

Appending reads the chain's newest end with a lock on it (SELECT … FOR UPDATE of the one audit_chain row on
PostgreSQL; SQLite's BEGIN IMMEDIATE holds the only write lock already), so two processes appending at once queue,
the second reads what the first wrote, and one chain grows. Nothing here changes a stored record: records are
inserted, and pruning deletes only the oldest."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Select, delete, func, insert, or_, select, update

from assistant.audit.chain import ChainCheck, ChainState, record_hash, verify_chain
from assistant.audit.records import AUDIT_ACTIONS, SYSTEM, AuditEntry, AuditRecord, canonical_details, format_time
from assistant.audit.tables import audit_chain, audit_records
from assistant.errors import AuditError, AuditUnavailable
from assistant.migrations import open_assistant_database
from assistant.settings import AssistantSettings
from ingest import Database, IngestError, IngestSettings

Clock = Callable[[], datetime]
# Pruning runs as records are appended, once the oldest is a day past the retention: a day's records go at a time,
# not one with each append (each prune writes a record of its own).
PRUNE_SLACK = timedelta(days=1)
READ_BATCH = 1000  # records fetched at a time when verifying or exporting: a year of them need not fit in memory


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AuditTrail:
    """The audit trail in one database. `clock` gives the time (tests pass their own); `settings` the retention and
    whether a question's text is kept."""

    def __init__(self, database: Database, settings: AssistantSettings, *, clock: Clock = _utc_now,
                 owns_database: bool = False) -> None:
        self.database = database
        self.retention = timedelta(days=settings.audit_retention_days) if settings.audit_retention_days else None
        self.keeps_question_text = settings.audit_question_text
        self._clock = clock
        self._owns_database = owns_database  # opened by open_audit_trail: closed with the trail

    # -- writing ------------------------------------------------------------------------------------------------------

    def append(self, connection: Connection, actor: str, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Append inside the caller's transaction, so the records commit or roll back with the change they describe.
        Call it last in the transaction: it holds the trail's lock until the commit, and taking another lock after it
        could wait on a writer that waits for this one."""
        for entry in entries:
            if entry.action not in AUDIT_ACTIONS:
                raise ValueError(f"{entry.action!r} is not an audit action: add it to assistant/audit/records.py")
        state = _state(connection)
        now = self._clock()
        if self.retention is not None and self._prune_due(connection, state, now):
            state = self._prune(connection, state, now)[0]
        return _write(connection, state, format_time(now), actor, entries)[1]

    def record(self, actor: str, action: str, target: str = "",
               details: Mapping[str, Any] | None = None) -> AuditRecord:
        """Append one record in a transaction of its own: for a change the database's transaction could not hold (the
        document store's), right after it is made. For the document grant/revoke calls:
        `trail.record(user.name, "document.grant", document_id, {"group": group})`. Raises AuditUnavailable."""
        return self.record_all(actor, [AuditEntry(action, target, details or {})])[0]

    def record_all(self, actor: str, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Append several records in one transaction (a batch's documents). Raises AuditUnavailable."""
        if not entries:
            return []
        with self._writing("append to the audit trail") as connection:
            return self.append(connection, actor, entries)

    def prune(self) -> int:
        """Remove the records older than the retention now (appending does it a day later on its own); returns how
        many went. With a retention of 0 nothing goes."""
        if self.retention is None:
            return 0
        with self._writing("prune the audit trail") as connection:
            return self._prune(connection, _state(connection), self._clock())[1]

    # -- reading ------------------------------------------------------------------------------------------------------

    def records(self, *, since: datetime | None = None, until: datetime | None = None, actor: str | None = None,
                action: str | None = None, target: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        """The records that match, oldest first (limit: only the newest `limit` of them). `since` is inclusive,
        `until` exclusive; `action` is an action ("user.add") or a family ("user", "sign_in"). For the app's audit
        page and the command line."""
        query = _filtered(select(audit_records), since, until, actor, action, target)
        with self._reading() as connection:
            if limit is None:
                rows = connection.execute(query.order_by(audit_records.c.seq)).all()
            else:
                rows = connection.execute(query.order_by(audit_records.c.seq.desc()).limit(limit)).all()[::-1]
        return [_record(row) for row in rows]

    def each_record(self, *, since: datetime | None = None, until: datetime | None = None, actor: str | None = None,
                    action: str | None = None, target: str | None = None) -> Iterator[AuditRecord]:
        """As `records`, a batch at a time (an export of a year of them)."""
        query = _filtered(select(audit_records), since, until, actor, action, target).order_by(audit_records.c.seq)
        with self._reading() as connection, connection.execution_options(yield_per=READ_BATCH).execute(query) as rows:
            for row in rows:  # the `with` closes PostgreSQL's server-side cursor when the reader stops early too
                yield _record(row)

    def verify(self, known: Mapping[int, str] | None = None) -> ChainCheck:
        """Read every kept record in order and check the chain, and any record hashes noted earlier (`known`; see
        chain.verify_chain): one snapshot, so appends made meanwhile are not half seen."""
        with self._reading() as connection:
            if connection.dialect.name == "postgresql":  # else each statement sees the commits made before it
                connection.execution_options(isolation_level="REPEATABLE READ")
            state = _state_or_none(connection)
            query = select(audit_records).order_by(audit_records.c.seq)
            with connection.execution_options(yield_per=READ_BATCH).execute(query) as rows:  # closed at a break too
                return verify_chain((_record(row) for row in rows), state, known)

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    # -- inside -------------------------------------------------------------------------------------------------------

    def _prune_due(self, connection: Connection, state: ChainState, now: datetime) -> bool:
        assert self.retention is not None
        oldest = connection.execute(select(audit_records.c.at).where(audit_records.c.seq == state.first_seq))
        at = oldest.scalar_one_or_none()
        return at is not None and at < format_time(now - self.retention - PRUNE_SLACK)

    def _prune(self, connection: Connection, state: ChainState, now: datetime) -> tuple[ChainState, int]:
        """Delete the records older than the retention, oldest first and without a gap (a record dated earlier than
        one before it, from another host's clock, waits for that one), move the chain's first end to the first kept
        record, and append an `audit.prune` record that names it."""
        assert self.retention is not None
        before = format_time(now - self.retention)
        first_kept = connection.execute(
            select(func.min(audit_records.c.seq)).where(audit_records.c.at >= before)
        ).scalar_one_or_none()
        if first_kept is None:
            first_kept = state.last_seq + 1  # every record is old: the prune record will be the first kept
        if first_kept <= state.first_seq:
            return state, 0
        anchor = state.last_hash if first_kept > state.last_seq else connection.execute(
            select(audit_records.c.prev_hash).where(audit_records.c.seq == first_kept)
        ).scalar_one()
        removed = connection.execute(delete(audit_records).where(audit_records.c.seq < first_kept)).rowcount
        connection.execute(update(audit_chain).values(first_seq=first_kept, first_prev=anchor))
        state = replace(state, first_seq=first_kept, first_prev=anchor)
        details = {"removed": removed, "first_kept": first_kept, "anchor": anchor, "before": before}
        state, _ = _write(connection, state, format_time(now), SYSTEM, [AuditEntry("audit.prune", "", details)])
        return state, removed

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        try:
            with self.database.writing(doing) as connection:
                yield connection
        except IngestError as exc:  # the database's own message: which database, what to check
            raise AuditUnavailable(str(exc)) from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.database.reading("read the audit trail") as connection:
                yield connection
        except IngestError as exc:
            raise AuditUnavailable(str(exc)) from exc


def _state_or_none(connection: Connection, lock: bool = False) -> ChainState | None:
    query = select(audit_chain).where(audit_chain.c.id == 1)
    row = connection.execute(query.with_for_update() if lock else query).one_or_none()
    return None if row is None else ChainState(row.first_seq, row.first_prev, row.last_seq, row.last_hash)


def _state(connection: Connection) -> ChainState:
    """The chain's ends, locked until the transaction ends: the writer's turn to append."""
    state = _state_or_none(connection, lock=True)
    if state is None:
        raise AuditError("the audit trail's chain row (table audit_chain) is gone, so nothing more can be recorded: "
                         "run `enclave audit verify`, and restore the database from a backup")
    return state


def _write(connection: Connection, state: ChainState, at: str, actor: str,
           entries: Sequence[AuditEntry]) -> tuple[ChainState, list[AuditRecord]]:
    written = []
    seq, prev = state.last_seq, state.last_hash
    for entry in entries:
        seq += 1
        details_json = canonical_details(entry.details)
        digest = record_hash(seq, at, actor, entry.action, entry.target, details_json, prev)
        written.append(AuditRecord(seq, at, actor, entry.action, entry.target, details_json, prev, digest))
        prev = digest
    connection.execute(insert(audit_records), [
        {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "target": r.target,
         "details": r.details_json, "prev_hash": r.prev_hash, "hash": r.hash}
        for r in written
    ])  # fmt: skip
    connection.execute(update(audit_chain).values(last_seq=seq, last_hash=prev))
    return replace(state, last_seq=seq, last_hash=prev), written


def _filtered(query: Select[Any], since: datetime | None, until: datetime | None, actor: str | None,
              action: str | None, target: str | None) -> Select[Any]:
    c = audit_records.c
    if since is not None:
        query = query.where(c.at >= format_time(since))
    if until is not None:
        query = query.where(c.at < format_time(until))
    if actor is not None:
        query = query.where(c.actor == actor)
    if target is not None:
        query = query.where(c.target == target)
    if action is not None:
        family = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
        query = query.where(or_(c.action == action, c.action.like(family, escape="\\")))
    return query


def _record(row: Any) -> AuditRecord:
    return AuditRecord(row.seq, row.at, row.actor, row.action, row.target, row.details, row.prev_hash, row.hash)


def open_audit_trail(ingest_settings: IngestSettings, assistant_settings: AssistantSettings, *,
                     clock: Clock = _utc_now) -> AuditTrail:
    """Open the database and bring the assistant's tables up to date, without the models or the store (for
    `enclave audit`). `close()` closes the database. Raises DatabaseUnavailable or SettingsError (as `open_database`
    does)."""
    return AuditTrail(open_assistant_database(ingest_settings), assistant_settings, clock=clock, owns_database=True)
