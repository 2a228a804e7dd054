"""The AuditTrail on SQLite and PostgreSQL: records chained from the genesis hash, filters, retention that keeps the
chain verifiable, an unknown action refused, and two writers at once growing one chain. Time is the test's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant import AuditEntry, load_assistant_settings, open_audit_trail
from assistant.audit import GENESIS, format_time, record_hash
from audit_trails import RETENTION_DAYS, tamper
from databases import run_together

DAY = timedelta(days=1)


def test_records_hang_from_the_genesis_hash_one_after_another_and_verify(trail, clock):
    trail.record("root", "user.add", "alice", {"role": "member", "groups": ["everyone", "hr"]})
    clock.advance(minutes=1)
    trail.record_all("root", [AuditEntry("document.ingest", "d1", {"path": "a.pdf"}),
                              AuditEntry("document.ingest", "d2", {"path": "b.pdf"})])

    records = trail.records()

    assert [r.seq for r in records] == [1, 2, 3]
    assert [r.prev_hash for r in records] == [GENESIS, records[0].hash, records[1].hash]
    assert all(r.hash == record_hash(r.seq, r.at, r.actor, r.action, r.target, r.details_json, r.prev_hash)
               for r in records)
    assert records[0].at == format_time(clock.now - timedelta(minutes=1)) and records[0].time.tzinfo is not None
    assert records[0].details == {"groups": ["everyone", "hr"], "role": "member"}
    assert trail.verify().describe() == "3 records, chain intact"


def test_an_unknown_action_is_refused_and_nothing_is_written(trail):
    with pytest.raises(ValueError, match="'user.rename' is not an audit action"):
        trail.record_all("root", [AuditEntry("user.add", "alice"), AuditEntry("user.rename", "alice")])

    assert trail.records() == []


def test_records_are_chosen_by_time_actor_action_family_and_target_and_listed_newest_last(trail, clock):
    start = clock.now
    for actor, action, target in [("root", "user.add", "alice"), ("alice", "sign_in.success", ""),
                                  ("alice", "sign_in.failure", ""), ("root", "user.set_groups", "alice"),
                                  ("root", "document.remove", "d1")]:
        trail.record(actor, action, target)
        clock.advance(hours=1)

    def listed(**filters) -> list[int]:
        return [r.seq for r in trail.records(**filters)]

    assert listed() == [1, 2, 3, 4, 5]
    assert listed(since=start + timedelta(hours=1), until=start + timedelta(hours=3)) == [2, 3]
    assert listed(actor="alice") == [2, 3]
    assert listed(action="sign_in") == [2, 3] and listed(action="sign_in.failure") == [3]
    assert listed(action="user") == [1, 4] and listed(action="use") == []  # a family is a whole first word
    assert listed(target="alice") == [1, 4]
    assert listed(limit=2) == [4, 5] and listed(actor="root", limit=1) == [5]
    assert [r.seq for r in trail.each_record(action="user")] == [1, 4]


def test_pruning_removes_what_is_past_the_retention_and_the_chain_still_verifies(trail, clock):
    for n in range(3):
        trail.record("root", "user.add", f"old{n}")
    clock.advance(days=20)
    trail.record("root", "user.add", "recent")
    clock.advance(days=RETENTION_DAYS - 20, seconds=1)  # the first three are just past the retention

    assert trail.prune() == 3

    records = trail.records()
    assert [(r.seq, r.action, r.target) for r in records] == [(4, "user.add", "recent"), (5, "audit.prune", "")]
    assert records[1].actor == "enclave"
    assert records[1].details == {"removed": 3, "first_kept": 4, "anchor": records[0].prev_hash,
                                  "before": format_time(clock.now - timedelta(days=RETENTION_DAYS))}
    assert trail.verify().describe() == "2 records, chain intact"
    assert trail.prune() == 0  # nothing more is old enough


def test_appending_prunes_on_its_own_once_the_oldest_is_a_day_past_the_retention(trail, clock):
    trail.record("root", "user.add", "first")
    clock.advance(days=RETENTION_DAYS, hours=12)
    trail.record("root", "user.add", "second")
    assert [r.target for r in trail.records()] == ["first", "second"]  # past the retention, not yet by a day

    clock.advance(hours=12, seconds=1)
    trail.record("root", "user.add", "third")

    assert [(r.action, r.target) for r in trail.records()] == [
        ("user.add", "second"), ("audit.prune", ""), ("user.add", "third"),
    ]
    assert trail.verify().intact


def test_when_every_record_is_past_the_retention_the_prune_record_starts_the_chain(trail, clock):
    trail.record("root", "user.add", "alice")
    trail.record("root", "user.remove", "alice")
    clock.advance(days=RETENTION_DAYS + 1)

    assert trail.prune() == 2
    trail.record("root", "user.add", "bob")

    assert [(r.seq, r.action) for r in trail.records()] == [(3, "audit.prune"), (4, "user.add")]
    assert trail.verify().describe() == "2 records, chain intact"


def test_a_retention_of_zero_keeps_every_record(database_settings, clock):
    trail = open_audit_trail(database_settings, load_assistant_settings(audit_retention_days=0, _env_file=None),
                             clock=clock)
    try:
        trail.record("root", "user.add", "alice")
        clock.advance(days=3650)
        trail.record("root", "user.add", "bob")

        assert trail.prune() == 0
        assert [r.target for r in trail.records()] == ["alice", "bob"]
    finally:
        trail.close()


def test_records_deleted_from_the_start_and_passed_off_as_pruned_are_detected(trail, clock):
    """The chain's first end moved by hand to hide deleting #1: no audit.prune record says so."""
    for name in ("alice", "bob", "carol"):
        trail.record("root", "user.add", name)
    [first, second, _] = trail.records()
    tamper(trail.database, "DELETE FROM audit_records WHERE seq = 1")
    tamper(trail.database, "UPDATE audit_chain SET first_seq = 2, first_prev = :anchor", anchor=second.prev_hash)

    check = trail.verify()

    assert check.broken is not None and check.broken.seq == 2
    assert "records before #2 are gone, and no audit.prune record" in check.describe()


def test_two_writers_appending_at_once_grow_one_chain(database_settings, audit_settings, clock):
    """Two trails on two engines (as two processes would be), released together by a barrier: whichever way their
    appends interleave, the records are numbered 1..N without a gap or a fork, and each writer's stay in its order."""
    writers = [open_audit_trail(database_settings, audit_settings, clock=clock) for _ in range(2)]
    try:
        def append(n: int) -> None:
            for i in range(15):
                writers[n].record(f"writer{n}", "user.add", f"{n}-{i}")

        run_together(lambda: append(0), lambda: append(1))

        records = writers[0].records()
        assert [r.seq for r in records] == list(range(1, 31))
        for n in range(2):
            assert [r.target for r in records if r.actor == f"writer{n}"] == [f"{n}-{i}" for i in range(15)]
        assert writers[1].verify().describe() == "30 records, chain intact"
    finally:
        for writer in writers:
            writer.close()
