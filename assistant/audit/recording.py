"""What Enclave's own work records, and what happens when the record cannot be written.

Document changes fail closed: the store cannot join the database's transaction, so the records are written right
after the change, and one that cannot be written raises AuditUnavailable saying the change was made unrecorded (the
command exits 2, the app shows the error). Questions and searches fail open: the answer has been given, so a record
that cannot be written is logged as an error, with the ids it would have held, and answering goes on; refusing
answers whenever the database hiccups would only teach people to work around Enclave.

What a record holds: ids, never passages; a question's text only when ENCLAVE_AUDIT_QUESTION_TEXT allows it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from assistant.audit.records import AuditEntry
from assistant.audit.trail import AuditTrail
from assistant.errors import AuditError, AuditUnavailable
from assistant.models import Answer, Citation, Passage, User

if TYPE_CHECKING:
    from ingest import FileResult

log = logging.getLogger(__name__)


def document_entries(action: str, results: Iterable["FileResult"],
                     groups: Sequence[str] | None = None) -> list[AuditEntry]:
    """One entry per document a batch changed or failed to change; an `unchanged` file had nothing done to it and is
    left out (a nightly `ingest --sync` of a share would otherwise write a record per file per night). A file the
    batch removed (`--sync`) is a `document.remove`."""
    entries = []
    for result in results:
        if result.status == "unchanged":
            continue
        details: dict[str, Any] = {"path": result.path, "status": result.status}
        if result.reason:
            details["reason"] = result.reason
        if action != "document.remove" and result.status != "removed":
            details["chunks"] = result.chunks
            if groups is not None:
                details["groups"] = list(groups)
        entries.append(AuditEntry("document.remove" if result.status == "removed" else action,
                                  result.document_id, details))
    return entries


def question_entry(question: str, answer: Answer, keep_text: bool) -> AuditEntry:
    """What an answer revealed: the passages it cites and the others shown beside it (`also retrieved`), by chunk and
    document id; whether Enclave said it found nothing, or the user stopped it."""
    details: dict[str, Any] = {
        "cited": _ids(answer.citations),
        "retrieved": _ids(answer.retrieved),
        "not_found": answer.not_found,
        "stopped": answer.stopped,
    }
    if keep_text:
        details["question"] = question
        if answer.query and answer.query != question:
            details["query"] = answer.query  # a follow-up, rewritten to stand alone
    return AuditEntry("question", "", details)


def search_entry(query: str, passages: Sequence[Passage], method: str | None, keep_text: bool) -> AuditEntry:
    details: dict[str, Any] = {"results": _ids(Citation.from_passage(p) for p in passages)}
    if method:
        details["method"] = method
    if keep_text:
        details["query"] = query
    return AuditEntry("search", "", details)


def _ids(citations: Iterable[Citation]) -> list[dict[str, str]]:
    return [{"chunk_id": c.chunk_id, "document_id": c.document_id} for c in citations]


class Recorder:
    """The hooks the service and the Assistant call once their work is done."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    def documents(self, user: User, action: str, results: Sequence["FileResult"],
                  groups: Sequence[str] | None = None) -> None:
        """Record a batch's documents (`document_entries`). Raises AuditUnavailable when they cannot be."""
        self._record_closed(user, document_entries(action, results, groups))

    def sharing(self, user: User, action: str, document_id: str, group: str, groups: Sequence[str]) -> None:
        """Record a document shared with a group or no longer (`document.grant`, `document.revoke`) and the groups it
        has after. For `Enclave.grant` / `revoke`, once the change is made:
        `self._recorder.sharing(user, "document.grant", record.document_id, group, record.groups)`.
        Raises AuditUnavailable when it cannot be recorded."""
        self._record_closed(user, [AuditEntry(action, document_id, {"group": group, "groups": list(groups)})])

    def _record_closed(self, user: User, entries: list[AuditEntry]) -> None:
        try:
            self.trail.record_all(*acting_entries(user, entries))
        except AuditError as exc:
            raise AuditUnavailable(f"{len(entries)} document changes were made but could not be recorded in the audit "
                                   f"trail ({exc}); `enclave documents` shows what is stored now") from exc

    def answered(self, question: str, user: User, answer: Answer) -> None:
        self._record_open(user, question_entry(question, answer, self.trail.keeps_question_text))

    def searched(self, query: str, user: User, passages: Sequence[Passage], method: str | None) -> None:
        self._record_open(user, search_entry(query, passages, method, self.trail.keeps_question_text))

    def _record_open(self, user: User, entry: AuditEntry) -> None:
        try:
            self.trail.record_all(*acting_entries(user, [entry]))
        except AuditError as exc:
            log.error("the audit trail could not record a %s by %s (%s); the answer was given: %s",
                      entry.action, user.impersonated_by or user.name, entry.details, exc)


def acting_entries(user: User, entries: list[AuditEntry]) -> tuple[str, list[AuditEntry]]:
    """Who to record, and the entries: an admin acting as an account (`--as`) is recorded as the admin, with the
    account in the details; a call with an API key names the key's id in them."""
    if user.api_key:  # a call through the API: which of the account's keys made it
        entries = [AuditEntry(e.action, e.target, {**e.details, "key": user.api_key}) for e in entries]
    if not user.impersonated_by:
        return user.name, entries
    return user.impersonated_by, [AuditEntry(e.action, e.target, {**e.details, "as": user.name}) for e in entries]
