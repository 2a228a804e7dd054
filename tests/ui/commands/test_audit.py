"""`enclave audit` through the command line (tests/enclave_cli.py), on SQLite and PostgreSQL: the listing, newest
last, and its filters; `verify` saying the chain is intact, and naming the first record edited, deleted or put in
through SQL (exit 1); the CSV export; a pruned trail that still verifies. Then, on a copy of the session's ingested
data, what `ingest`, `reindex`, `remove`, `search --as` and `ask` record."""

from __future__ import annotations

import csv
import getpass
import json
import shutil
from typing import Iterator

import pytest

from assistant import AuditEntry, AuditTrail, load_assistant_settings, open_audit_trail
from assistant.audit import record_hash
from audit_trails import tamper
from enclave_cli import invoke
from ingest import load_settings

ROOT_PASSWORD = "correct horse battery staple"
LOGIN = getpass.getuser()  # who the command line records


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path) -> dict[str, str]:
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else ""
    return {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DATABASE_URL": url}


def open_trail(env: dict[str, str], clock=None, **settings) -> AuditTrail:
    ingest_settings = load_settings(data_dir=env["ENCLAVE_DATA_DIR"], database_url=env["ENCLAVE_DATABASE_URL"] or None,
                                    _env_file=None)
    assistant_settings = load_assistant_settings(_env_file=None, **settings)
    return open_audit_trail(ingest_settings, assistant_settings, **({"clock": clock} if clock else {}))


@pytest.fixture
def trail(env, clock) -> Iterator[AuditTrail]:
    """Four records, an hour apart from 2030-01-07 09:00 UTC, as the accounts would write them."""
    trail = open_trail(env, clock)
    for actor, action, target in [("root", "user.add", "root"), ("root", "user.add", "alice"),
                                  ("alice", "sign_in.success", ""), ("root", "user.remove", "alice")]:
        trail.record(actor, action, target, {"note": f"{action} {target}"})
        clock.advance(hours=1)
    yield trail
    trail.close()


def verify(env, *args: str):
    return invoke("audit", "verify", *args, env=env)


def test_audit_lists_the_records_oldest_first_then_how_many(env, trail):
    result = invoke("audit", env=env)

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '#1  2030-01-07 09:00:00Z  root  user.add  root  {"note":"user.add root"}'
    assert [line.split()[0] for line in lines[:-1]] == ["#1", "#2", "#3", "#4"] and lines[-1] == "4 records"
    assert lines[2].split("  ")[4] == "-"  # no target


def test_audit_json_is_one_list_and_since_action_and_limit_choose(env, trail):
    every = json.loads(invoke("audit", "--json", env=env).stdout)
    since = json.loads(invoke("audit", "--since", "2030-01-07T10:00", "--json", env=env).stdout)
    users = json.loads(invoke("audit", "--action", "user", "--json", env=env).stdout)
    newest = json.loads(invoke("audit", "--limit", "1", "--json", env=env).stdout)
    by_alice = invoke("audit", "--user", "alice", env=env)

    assert [r["seq"] for r in every] == [1, 2, 3, 4]
    assert set(every[0]) == {"seq", "at", "actor", "action", "target", "details", "prev_hash", "hash"}
    assert every[0]["at"] == "2030-01-07T09:00:00.000000Z" and every[0]["details"] == {"note": "user.add root"}
    assert [r["seq"] for r in since] == [2, 3, 4]
    assert [r["action"] for r in users] == ["user.add", "user.add", "user.remove"]
    assert [r["seq"] for r in newest] == [4]
    assert by_alice.stdout.splitlines()[-1] == "1 records"
    assert json.loads(invoke("audit", "--since", "2031-01-01", "--json", env=env).stdout) == []


def test_a_date_that_is_not_one_is_a_usage_error(env):
    result = invoke("audit", "--since", "last tuesday", env=env)

    assert result.exit_code == 2 and "is not a date: use 2030-01-07" in result.stderr


def test_verify_says_how_many_records_and_that_the_chain_is_intact(env, trail):
    result = verify(env)

    assert result.exit_code == 0, result.stderr
    [summary, newest] = result.stdout.splitlines()
    assert summary == "4 records, chain intact"
    assert newest.startswith(f"newest record #4, hash {trail.records()[-1].hash}")


def test_a_record_edited_through_sql_is_named_by_verify(env, trail):
    tamper(trail.database, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")

    result = verify(env)

    assert result.exit_code == 1
    assert result.stdout.startswith("chain broken at record #2 (2030-01-07T10:00:00.000000Z, mallory, user.add, "
                                    "alice): its contents no longer give its hash: it was changed")


def test_a_record_edited_with_its_hash_recomputed_is_found_by_the_next_one(env, trail):
    [_, second, *_] = trail.records()
    forged = record_hash(2, second.at, "mallory", second.action, second.target, second.details_json,
                         second.prev_hash)
    tamper(trail.database, "UPDATE audit_records SET actor = 'mallory', hash = :forged WHERE seq = 2", forged=forged)

    result = verify(env)

    assert result.exit_code == 1
    assert "record #3" in result.stdout and "it does not follow #2" in result.stdout


def test_a_deleted_record_is_named_by_verify(env, trail):
    tamper(trail.database, "DELETE FROM audit_records WHERE seq = 2")

    result = verify(env)

    assert result.exit_code == 1
    assert result.stdout.startswith("chain broken at record #2: record #2 is missing before #3: deleted")


def test_a_deleted_newest_record_is_named_by_verify(env, trail):
    tamper(trail.database, "DELETE FROM audit_records WHERE seq = 4")

    result = verify(env)

    assert result.exit_code == 1
    assert "record #4 is missing at the end (the trail wrote up to #4): deleted" in result.stdout


def test_an_inserted_record_is_named_by_verify_even_with_a_hash_that_fits(env, trail):
    last = trail.records()[-1]
    details = json.dumps({"note": "nothing to see"})
    at = "2030-01-07T13:00:00.000000Z"
    forged = record_hash(5, at, "root", "user.add", "mallory", details, last.hash)
    tamper(trail.database, "INSERT INTO audit_records (seq, at, actor, action, target, details, prev_hash, hash) "
                           "VALUES (5, :at, 'root', 'user.add', 'mallory', :details, :prev, :hash)",
           at=at, details=details, prev=last.hash, hash=forged)

    result = verify(env)

    assert result.exit_code == 1
    assert result.stdout.startswith("chain broken at record #5 (2030-01-07T13:00:00.000000Z, root, user.add, "
                                    "mallory): the trail wrote up to #4, not this one: it was put in")


def test_a_chain_rewritten_whole_is_caught_by_a_hash_noted_earlier(env, trail):
    noted = verify(env).stdout.splitlines()[1].split("--known ")[1].rstrip("`")
    prev = None
    for r in trail.records():  # change #1, then recompute every hash after it and the newest end, as a forger would
        actor = "mallory" if r.seq == 1 else r.actor
        prev = prev or r.prev_hash
        digest = record_hash(r.seq, r.at, actor, r.action, r.target, r.details_json, prev)
        tamper(trail.database, "UPDATE audit_records SET actor = :actor, prev_hash = :prev, hash = :digest "
                               "WHERE seq = :seq", actor=actor, prev=prev, digest=digest, seq=r.seq)
        prev = digest
    tamper(trail.database, "UPDATE audit_chain SET last_hash = :digest", digest=prev)

    assert verify(env).exit_code == 0  # the chain alone cannot tell
    result = verify(env, "--known", noted)
    assert result.exit_code == 1 and "its hash is not the one noted for it earlier" in result.stdout


def test_export_writes_every_record_as_csv_with_its_hashes(env, trail, tmp_path):
    out = tmp_path / "audit.csv"

    result = invoke("audit", "export", "--csv", str(out), "--action", "user", env=env)

    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == f"exported 3 records to {out}"
    with out.open(encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    records = {r.seq: r for r in trail.records()}
    assert [int(row["seq"]) for row in rows] == [1, 2, 4]
    for row in rows:
        r = records[int(row["seq"])]
        assert (row["at"], row["actor"], row["details"], row["prev_hash"], row["hash"]) == (
            r.at, r.actor, r.details_json, r.prev_hash, r.hash)
        assert row["hash"] == record_hash(int(row["seq"]), row["at"], row["actor"], row["action"], row["target"],
                                          row["details"], row["prev_hash"])


def test_a_pruned_trail_still_verifies_and_says_what_was_pruned(env, clock):
    old = open_trail(env, clock, audit_retention_days=1)
    try:
        old.record_all("root", [AuditEntry("user.add", "alice"), AuditEntry("user.add", "bob")])
        clock.advance(days=2, seconds=1)
        old.record("root", "user.remove", "alice")  # the first two are a day past the retention: pruned now
    finally:
        old.close()

    listed = json.loads(invoke("audit", "--json", env=env).stdout)
    result = verify(env)

    assert [(r["seq"], r["action"]) for r in listed] == [(3, "audit.prune"), (4, "user.remove")]
    assert listed[0]["details"]["removed"] == 2 and listed[0]["actor"] == "enclave"
    assert result.exit_code == 0 and result.stdout.startswith("2 records, chain intact")


def test_user_commands_are_recorded_under_the_login_that_ran_them(env):
    created = invoke("users", "create-admin", "root", "--password-stdin", input=ROOT_PASSWORD + "\n", env=env)
    assert created.exit_code == 0, created.stderr
    assert invoke("users", "add", "alice", "--group", "hr", env=env).exit_code == 0

    listed = json.loads(invoke("audit", "--json", env=env).stdout)

    assert [(r["actor"], r["action"], r["target"]) for r in listed] == [
        (LOGIN, "user.add", "root"), (LOGIN, "user.add", "alice"),
    ]
    assert ROOT_PASSWORD not in json.dumps(listed)


def test_options_of_the_listing_given_to_a_subcommand_are_a_usage_error(env):
    result = invoke("audit", "--json", "verify", env=env)

    assert result.exit_code == 2 and "give them without `verify`" in result.stderr


def test_audit_opens_the_database_only(env, trail):
    """No embedding model, no store: an unreachable Qdrant and a missing model do not matter."""
    result = invoke("audit", "verify", env={**env, "ENCLAVE_QDRANT_URL": "http://127.0.0.1:9",
                                            "ENCLAVE_EMBEDDING_MODEL": "/nonexistent/model"})

    assert result.exit_code == 0, result.stderr


# -- what the other commands record (a copy of the session's ingested data, SQLite) ----------------------------------


def records_after(env: dict[str, str], seq: int, *options: str) -> list[dict]:
    """The records listed with these options that were written after record `seq`: the copied session folder may
    hold the searches and questions of other tests that read it."""
    listed = json.loads(invoke("audit", *options, "--json", env=env).stdout)
    return [record for record in listed if record["seq"] > seq]


def newest_seq(env: dict[str, str]) -> int:
    newest = json.loads(invoke("audit", "--limit", "1", "--json", env=env).stdout)
    return newest[-1]["seq"] if newest else 0


@pytest.fixture
def data_env(ingested_data_dir, llm_server, tmp_path) -> dict[str, str]:
    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    return {"ENCLAVE_DATA_DIR": str(copy), "ENCLAVE_DATABASE_URL": "", "ENCLAVE_LLM_BASE_URL": llm_server.base_url}


def test_document_commands_are_recorded_per_document(data_env, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("Employees may carry over five days of leave into the next year.\n")
    before = newest_seq(data_env)
    [added] = json.loads(invoke("ingest", str(policy), "--group", "hr", "--json", env=data_env).stdout)
    assert invoke("reindex", "policy.txt", env=data_env).exit_code == 0
    assert invoke("remove", "policy.txt", env=data_env).exit_code == 0

    listed = records_after(data_env, before, "--action", "document")

    assert [(r["actor"], r["action"], r["details"]["status"]) for r in listed] == [
        (LOGIN, "document.ingest", "added"), (LOGIN, "document.reindex", "updated"),
        (LOGIN, "document.remove", "removed"),
    ]
    assert len({r["target"] for r in listed}) == 1 and listed[0]["details"]["chunks"] == added["chunks"]
    assert verify(data_env).exit_code == 0


def test_searching_as_an_account_is_recorded_under_the_admin_who_did_it(data_env):
    assert invoke("users", "add", "alice", env=data_env).exit_code == 0
    before = newest_seq(data_env)

    found = json.loads(invoke("search", "bottles of water delivered", "-k", "2", "--as", "alice", "--json",
                              env=data_env).stdout)

    [record] = records_after(data_env, before, "--action", "search")
    assert (record["actor"], record["details"]["as"]) == (LOGIN, "alice")
    assert [r["chunk_id"] for r in record["details"]["results"]] == [p["chunk_id"] for p in found]


def test_ask_is_recorded_with_the_chunks_it_cited_and_not_the_question(data_env):
    question = "How many bottles of water were delivered?"
    before = newest_seq(data_env)
    answer = json.loads(invoke("ask", question, "--json", env=data_env).stdout)

    [record] = records_after(data_env, before, "--action", "question")

    assert [c["chunk_id"] for c in record["details"]["cited"]] == [c["chunk_id"] for c in answer["citations"]]
    assert [c["chunk_id"] for c in record["details"]["retrieved"]] == [c["chunk_id"] for c in answer["also_retrieved"]]
    assert "question" not in record["details"] and "bottles" not in json.dumps(record)
