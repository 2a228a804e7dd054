"""The chain as pure functions: the hash of a record in its documented form, and what `verify_chain` says of a chain
cut short, extended, or rewritten whole. (Records changed in the database: tests/ui/commands/test_audit.py.)"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from assistant.audit import GENESIS, AuditRecord, ChainState, record_hash, verify_chain


def chain(n: int, *extra: tuple[str, dict]) -> list[AuditRecord]:
    """n `user.add` records, then one per (action, details) in `extra`, chained from the genesis hash."""
    entries = [("user.add", {"n": seq}) for seq in range(1, n + 1)] + list(extra)
    records, prev = [], GENESIS
    for seq, (action, details) in enumerate(entries, start=1):
        at, said = f"2030-01-07T09:00:{seq:02}.000000Z", json.dumps(details, sort_keys=True)
        digest = record_hash(seq, at, "root", action, f"user{seq}", said, prev)
        records.append(AuditRecord(seq, at, "root", action, f"user{seq}", said, prev, digest))
        prev = digest
    return records


def ends(records: list[AuditRecord]) -> ChainState:
    return ChainState(records[0].seq, records[0].prev_hash, records[-1].seq, records[-1].hash)


def test_the_hash_is_sha256_of_the_documented_json():
    """What someone verifying an export without Enclave computes (README, "Audit trail")."""
    body = ('{"action":"user.add","actor":"r\\u00f6\\u00f6t","at":"2030-01-07T09:00:00.000000Z",'
            '"details":"{\\"role\\":\\"member\\"}","prev":"' + GENESIS + '","seq":1,"target":"alice","v":1}')
    expected = hashlib.sha256(body.encode("ascii")).hexdigest()

    assert record_hash(1, "2030-01-07T09:00:00.000000Z", "rööt", "user.add", "alice", '{"role":"member"}',
                       GENESIS) == expected


def test_an_intact_chain_is_counted_and_its_head_given():
    records = chain(3)
    check = verify_chain(records, ends(records))

    assert check.intact and (check.records, check.last_seq, check.head) == (3, 3, records[-1].hash)
    assert check.describe() == "3 records, chain intact"


def test_an_empty_trail_is_intact():
    assert verify_chain([], ChainState(1, GENESIS, 0, GENESIS)).describe() == "0 records, chain intact"


def test_records_cut_from_the_end_show_against_the_kept_newest_end():
    records = chain(4)
    check = verify_chain(records[:2], ends(records))

    assert check.broken is not None and check.broken.seq == 3
    assert "records #3 to #4 are missing at the end" in check.describe()


def test_a_record_added_after_the_newest_end_was_put_in():
    records = chain(3)
    check = verify_chain(records, ends(records[:2]))

    assert check.broken is not None and check.broken.seq == 3 and "put in" in check.broken.reason


def test_a_hash_noted_earlier_catches_a_chain_rewritten_whole():
    """Everything recomputed after changing #2 (hashes and ends too): the chain alone holds, the noted hash does not."""
    original = chain(3)
    rewritten, prev = [], GENESIS
    for r in original:
        target = "mallory" if r.seq == 2 else r.target
        digest = record_hash(r.seq, r.at, r.actor, r.action, target, r.details_json, prev)
        rewritten.append(replace(r, target=target, prev_hash=prev, hash=digest))
        prev = digest

    assert verify_chain(rewritten, ends(rewritten)).intact
    check = verify_chain(rewritten, ends(rewritten), known={3: original[2].hash})
    assert check.broken is not None and check.broken.seq == 3 and "noted for it earlier" in check.broken.reason


def test_a_noted_record_that_was_pruned_is_reported_unchecked_not_broken():
    first_two = chain(2)
    records = chain(2, ("audit.prune", {"removed": 1, "first_kept": 2, "anchor": first_two[0].hash}))
    kept = records[1:]

    check = verify_chain(kept, ChainState(2, first_two[0].hash, 3, records[2].hash), known={1: records[0].hash})

    assert check.intact and check.unchecked == (1,)


def test_records_removed_from_the_start_without_a_prune_record_saying_so_were_deleted():
    records = chain(3)
    check = verify_chain(records[1:], ChainState(2, records[0].hash, 3, records[2].hash))

    assert check.broken is not None and check.broken.seq == 2 and "no audit.prune record" in check.broken.reason
