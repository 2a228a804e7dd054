"""The hash chain, as pure functions: each record's SHA-256 covers its own fields and the hash of the record before
it, so a record changed, put in or taken out after the fact no longer fits, and `verify_chain` says which and why.

The hash of a record is SHA-256 over this JSON, keys sorted, no spaces, ASCII only (non-ASCII escaped as \\uXXXX):
    {"action": ..., "actor": ..., "at": ..., "details": <the details' canonical JSON, as a string>,
     "prev": <the previous record's hash, or 64 zeros before the first>, "seq": <int>, "target": ..., "v": 1}

The chain's two ends are kept beside it (`ChainState`, written with every append): the newest record's number and
hash, so that deleting the newest records shows; and the first kept record's number and previous hash, which pruning
moves forward while recording, in the chain itself, an `audit.prune` record that names them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Mapping

from assistant.audit.records import AuditRecord

GENESIS = "0" * 64  # the "previous hash" of the very first record
FORMAT = 1  # the "v" inside every hash: a new serialisation gets a new number, and old records keep theirs


@dataclass(frozen=True)
class ChainState:
    """The two ends of the chain as the trail last left them."""

    first_seq: int  # the oldest record kept (1 until something is pruned)
    first_prev: str  # its previous hash: the anchor the kept chain hangs from
    last_seq: int  # the newest record (first_seq - 1 while there is none)
    last_hash: str


def record_hash(seq: int, at: str, actor: str, action: str, target: str, details_json: str, prev_hash: str) -> str:
    body = json.dumps(
        {"v": FORMAT, "seq": seq, "at": at, "actor": actor, "action": action, "target": target,
         "details": details_json, "prev": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )  # fmt: skip
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def hash_of(record: AuditRecord) -> str:
    """What the record's hash should be, from its stored fields."""
    return record_hash(record.seq, record.at, record.actor, record.action, record.target, record.details_json,
                       record.prev_hash)


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain first fails to hold: the record's number, the record when it is there, and why."""

    seq: int
    reason: str
    record: AuditRecord | None = None

    def describe(self) -> str:
        r = self.record
        about = f" ({r.at}, {r.actor}, {r.action}{', ' + r.target if r.target else ''})" if r else ""
        return f"record #{self.seq}{about}: {self.reason}"


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of `verify_chain`: how many records were read, the newest one's number and hash, the first break
    (None: intact), and the records noted earlier (`known`) that were pruned since, so could not be checked."""

    records: int
    last_seq: int
    head: str
    broken: ChainBreak | None
    unchecked: tuple[int, ...] = ()

    @property
    def intact(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken is not None:
            return f"chain broken at {self.broken.describe()}"
        return f"{self.records} records, chain intact"


def verify_chain(records: Iterable[AuditRecord], state: ChainState | None,
                 known: Mapping[int, str] | None = None) -> ChainCheck:
    """Check records (in the order of their numbers) against each other and against the chain's ends. Reads each
    record once, so the trail can stream them.

    known: record numbers and hashes noted outside the database earlier (what `enclave audit verify` printed). The
    chain alone cannot show a trail rewritten from scratch, hashes and ends included, by someone who can write to the
    database; a hash kept elsewhere can, for every record up to it."""
    known = known or {}
    if state is None:
        return ChainCheck(0, 0, GENESIS, ChainBreak(0, "the chain's ends (the audit_chain row) are gone: deleted"))
    count, last, broken = 0, None, None
    last_prune: AuditRecord | None = None
    for record in records:
        broken = _check_link(record, last, state) or _check_known(record, known)
        if broken is not None:
            break
        count, last = count + 1, record
        if record.action == "audit.prune":
            last_prune = record
    else:
        broken = _check_ends(last, last_prune, state)
        newest = last.seq if last else 0
        beyond = sorted(seq for seq in known if seq > newest)
        if broken is None and beyond:
            broken = ChainBreak(beyond[0], "it was noted earlier but the trail ends before it: the trail was cut "
                                           "back or rewritten")
    unchecked = tuple(sorted(seq for seq in known if seq < state.first_seq))
    return ChainCheck(count, last.seq if last else 0, last.hash if last else GENESIS, broken, unchecked)


def _check_known(record: AuditRecord, known: Mapping[int, str]) -> ChainBreak | None:
    noted = known.get(record.seq)
    if noted is None or noted == record.hash:
        return None
    return ChainBreak(record.seq, f"its hash is not the one noted for it earlier ({noted}): the chain was rewritten "
                                  "up to here", record)


def _check_link(record: AuditRecord, before: AuditRecord | None, state: ChainState) -> ChainBreak | None:
    expected_seq = before.seq + 1 if before else state.first_seq
    if record.seq >= expected_seq > state.last_seq:  # every record the trail wrote has been read
        return ChainBreak(record.seq, f"the trail wrote up to #{state.last_seq}, not this one: it was put in",
                          record)
    if record.seq < expected_seq:  # only before the first kept one: numbers are unique
        return ChainBreak(record.seq, f"the trail keeps records from #{state.first_seq} on, so this one was put in "
                                      "(or the chain's first record was moved)", record)
    if record.seq > expected_seq:
        missing = _span(expected_seq, record.seq - 1)
        return ChainBreak(expected_seq, f"{missing} missing before #{record.seq}: deleted")
    if hash_of(record) != record.hash:
        return ChainBreak(record.seq, "its contents no longer give its hash: it was changed after it was written",
                          record)
    if before is not None and record.prev_hash != before.hash:
        return ChainBreak(record.seq, f"it does not follow #{before.seq} (its previous hash is not #{before.seq}'s): "
                                      f"#{before.seq} was changed, or this one was put in", record)
    if before is None and record.prev_hash != state.first_prev:
        return ChainBreak(record.seq, "it does not hang from the chain's kept anchor: it was changed or put in, "
                                      "or the records before it deleted", record)
    return None


def _check_ends(last: AuditRecord | None, last_prune: AuditRecord | None, state: ChainState) -> ChainBreak | None:
    newest = last.seq if last else state.first_seq - 1
    if newest < state.last_seq:
        return ChainBreak(newest + 1, f"{_span(newest + 1, state.last_seq)} missing at the end (the trail wrote up "
                                      f"to #{state.last_seq}): deleted")
    if last is not None and last.hash != state.last_hash:
        return ChainBreak(last.seq, "it is not the record the trail wrote last (its hash is not the one kept): it "
                                    "was changed", last)
    if state.first_seq > 1:
        said = last_prune.details if last_prune else {}
        if said.get("first_kept") != state.first_seq or said.get("anchor") != state.first_prev:
            return ChainBreak(state.first_seq, f"the records before #{state.first_seq} are gone, and no audit.prune "
                                               "record in the chain says it removed them: deleted")
    return None


def _span(first: int, last: int) -> str:
    return f"record #{first} is" if first == last else f"records #{first} to #{last} are"
