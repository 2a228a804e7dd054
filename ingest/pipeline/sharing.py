"""Who a stored document is shared with: its groups changed in the store's payloads and in the registry without
embedding anything again, in an order that a crash at any point can be repaired from.

The order, for one document: lock it against every other writer (`Registry.lock`: another thread, process or app
replica re-indexing, removing, repairing or sharing it), claim it (`pending`), write the store, then the registry,
then clear the mark and let go of the lock. The new groups are worked out from the groups recorded once it is locked,
so a change another admin made just before is kept, not overwritten with what was read before it. Killed
before the registry's write, the document is pending with its old groups recorded, and repair shares its chunks with
those again (whatever part of the store's write landed); killed after it, repair shares them with the new ones once
more. Either way it ends with the old groups or the new ones, in the store and the registry alike, and nothing is
deleted. A change that raises puts the store back itself before raising, so it is never left half-made in a running
process. When the change returns, the store's payloads (the search filter) and the registry (listing, opening the
original) both hold the new groups: the next question of a revoked member no longer sees the document.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Callable, Iterable

from ingest.errors import DocumentBusy, DocumentNotFound, IngestError, SharingRefused
from ingest.models import DocumentRecord, FileResult
from ingest.store.registry import Registry

if TYPE_CHECKING:
    from ingest.store import Store

MAX_GROUP = 128  # as an account's group name (assistant/accounts/directory.py)


def check_group(group: str) -> str:
    """The group name, if a document can be shared with it; else SharingRefused."""
    if not 1 <= len(group) <= MAX_GROUP or group != group.strip() or any(
        unicodedata.category(c).startswith("C") for c in group
    ):
        raise SharingRefused(f"{group!r} cannot be a group: use 1 to {MAX_GROUP} characters, without spaces at either "
                             "end, as accounts are given them (`enclave users add NAME --group GROUP`)")
    return group


def clean_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """Each group checked, duplicates dropped, in the order given."""
    return tuple(dict.fromkeys(check_group(g) for g in groups))


class Sharing:
    """Changes the groups of stored documents, with the registry and the store it is handed."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store

    def find_one(self, key: str) -> DocumentRecord:
        """The one stored document with this id, file name or source path. A change of who may see a document names
        exactly one: a file name two documents share is refused, not applied to both."""
        found = self.registry.find(key)
        if not found:
            raise DocumentNotFound(f"no stored document has the id, name or path {key!r}: `enclave documents` "
                                   "lists them")
        if len(found) > 1:
            raise DocumentNotFound(
                f"{len(found)} stored documents are called {key!r}: name one by its id or its path "
                f"({', '.join(r.document_id for r in found)})"
            )
        return found[0]

    def grant(self, key: str, group: str) -> DocumentRecord:
        """Share the document with one more group (already shared with it: nothing to do); its record after."""
        found = self.find_one(key)
        check_group(group)
        return self._change(found, lambda record: (*record.groups, group))

    def revoke(self, key: str, group: str) -> DocumentRecord:
        """Stop sharing the document with a group; its record after. Revoking its last group leaves it to admins
        alone (they see every document): hidden from every member, not deleted."""
        def without(record: DocumentRecord) -> tuple[str, ...]:
            if group not in record.groups:
                shared = ", ".join(record.groups) or "no group: admins alone see it"
                raise SharingRefused(f"{record.name!r} is not shared with {group!r}, so there is nothing to revoke "
                                     f"(it is shared with {shared})")
            return tuple(g for g in record.groups if g != group)

        return self._change(self.find_one(key), without)

    def share(self, record: DocumentRecord, groups: Iterable[str]) -> DocumentRecord:
        """Share the stored document `record` with exactly these groups (see the module's doc for the order)."""
        groups = clean_groups(groups)
        return self._change(record, lambda _: groups)

    def _change(self, found: DocumentRecord, new_groups: Callable[[DocumentRecord], Iterable[str]]) -> DocumentRecord:
        """Give the document `found` the groups `new_groups` makes of its record as it is once locked."""
        document_id = found.document_id
        with self.registry.lock(document_id, wait=False) as held:
            if not held:
                raise DocumentBusy(
                    f"{found.name!r} is being written right now (an ingestion, a re-index, a removal or another "
                    "change of its groups): try again when that is done"
                )
            record = self.registry.get(document_id)
            if record is None:
                raise DocumentNotFound(f"{found.name!r} was removed meanwhile: `enclave documents` lists them")
            groups = clean_groups(new_groups(record))
            if groups == record.groups:
                return record
            if not self.registry.claim(document_id):
                raise DocumentBusy(
                    f"{record.name!r} was left half-written by an interrupted run: opening Enclave again to write "
                    "(the app, or any `enclave ingest`) repairs it; then try again"
                )
            try:
                self.store.set_document_groups(document_id, groups)
                if not self.registry.set_groups(document_id, groups):
                    raise DocumentNotFound(f"{record.name!r} was removed while its groups were being changed")
            except BaseException as exc:
                self._undo(document_id, exc)
                raise
            self.registry.finish(document_id)
            return self.registry.get(document_id) or record

    def ingested_again(self, path: str, previous: DocumentRecord, groups: tuple[str, ...] | None) -> FileResult:
        """A file (or text) ingested again with the content stored already: unchanged, or only shared with the
        groups given (None: it keeps its own), without being parsed or embedded again."""
        if groups is None or groups == previous.groups:
            return FileResult(path, "unchanged", chunks=previous.chunks, document_id=previous.document_id)
        try:
            self.share(previous, groups)
        except SharingRefused as exc:
            return FileResult(path, "failed", str(exc), document_id=previous.document_id)
        return FileResult(path, "updated", chunks=previous.chunks, document_id=previous.document_id)

    def _undo(self, document_id: str, failure: BaseException) -> None:
        """A change that failed: the store back to the registry's groups and the mark cleared, if the store and the
        database answer; if not, the mark stays, the next repair does it, and `failure` says so."""
        try:
            record = self.registry.get(document_id)
            if record is not None:
                self.store.set_document_groups(document_id, record.groups)
            else:
                self.store.delete_document(document_id)  # removed meanwhile: nothing of it may stay findable
            self.registry.finish(document_id)
        except IngestError as exc:
            failure.add_note(f"the change could not be undone at once ({exc}): the document stays marked as being "
                             "written, and is repaired when Enclave is next opened to write (the app, `enclave ingest`)")
