"""`enclave documents grant|revoke DOC GROUP` through the command line: the next `ask`, `search` and `documents` of a
member (`--as`) see the change, with no restart and nothing embedded again; refusals exit 1 and an unavailable store
or database exits 2, each with one line; `enclave documents` alone still lists."""

from __future__ import annotations

import json
import os

import pytest

from enclave_cli import invoke
from shared_data import DOCS

FINANCE_DOC = "memo-supply-delivery.pdf"  # the delivery memo: 20,000 bottles of water
QUESTION = "How many bottles of water were delivered?"


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory, llm_server):
    data_dir = tmp_path_factory.mktemp("sharing") / "data"
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(data_dir), ENCLAVE_LLM_BASE_URL=llm_server.base_url)
    result = invoke("ingest", str(DOCS / FINANCE_DOC), "--group", "finance", env=env)
    assert result.exit_code == 0, result.stderr
    result = invoke("users", "add", "alice", "--group", "hr", env=env)
    assert result.exit_code == 0, result.stderr
    return env


def alice_sees(env: dict[str, str]) -> dict[str, bool]:
    """Whether alice's next question is answered from the memo, her search finds it and her listing shows it."""
    asked = invoke("ask", QUESTION, "--json", "--as", "alice", env=env)
    searched = invoke("search", "bottles of water delivered", "--json", "--as", "alice", env=env)
    listed = invoke("documents", "--json", "--as", "alice", env=env)
    for result in (asked, searched, listed):
        assert result.exit_code == 0, result.stderr
    citations = [c["document"] for c in json.loads(asked.stdout)["citations"]]
    return {
        "ask": citations[:1] == [FINANCE_DOC],
        "search": FINANCE_DOC in {hit["document"] for hit in json.loads(searched.stdout)},
        "documents": FINANCE_DOC in {row["name"] for row in json.loads(listed.stdout)},
    }


def groups_of(env: dict[str, str]) -> list[list[str]]:
    result = invoke("documents", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return [row["groups"] for row in json.loads(result.stdout)]


def test_a_grant_then_a_revoke_are_seen_by_alices_next_question(shared_env):
    assert alice_sees(shared_env) == {"ask": False, "search": False, "documents": False}

    granted = invoke("documents", "grant", FINANCE_DOC, "hr", env=shared_env)

    assert (granted.exit_code, granted.stdout) == (0, f"{FINANCE_DOC} is shared with: finance, hr\n"), granted.stderr
    assert alice_sees(shared_env) == {"ask": True, "search": True, "documents": True}

    revoked = invoke("documents", "revoke", FINANCE_DOC, "hr", env=shared_env)

    assert (revoked.exit_code, revoked.stdout) == (0, f"{FINANCE_DOC} is shared with: finance\n"), revoked.stderr
    assert alice_sees(shared_env) == {"ask": False, "search": False, "documents": False}


@pytest.mark.parametrize("args, message", [
    (("revoke", FINANCE_DOC, "hr"), "not shared with 'hr'"),
    (("grant", "no-such-memo.pdf", "hr"), "no stored document"),
    (("grant", FINANCE_DOC, " hr"), "cannot be a group"),
])
def test_a_refused_change_exits_1_with_one_line_and_changes_nothing(shared_env, args, message):
    result = invoke("documents", *args, env=shared_env)

    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert groups_of(shared_env) == [["finance"]]


def test_a_store_that_fails_during_the_change_exits_2_and_changes_nothing(shared_env, monkeypatch):
    from ingest import StoreUnavailable
    from ingest.store import EdgeStore

    def unavailable(*_):  # the injected fault: the store stops answering as the groups are written
        raise StoreUnavailable("the embedded store stopped answering (injected)")

    monkeypatch.setattr(EdgeStore, "set_document_groups", unavailable)
    result = invoke("documents", "grant", FINANCE_DOC, "hr", env=shared_env)
    monkeypatch.undo()

    assert result.exit_code == 2 and "stopped answering" in result.stderr
    assert groups_of(shared_env) == [["finance"]]


@pytest.mark.parametrize("setting, value", [
    ("ENCLAVE_QDRANT_URL", "http://127.0.0.1:9"),  # nothing listens there
    ("ENCLAVE_DATABASE_URL", "postgresql://enclave:pw@127.0.0.1:1/enclave"),
])
def test_an_unavailable_store_or_database_exits_2_with_one_line(tmp_path, setting, value):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), setting: value}

    result = invoke("documents", "revoke", FINANCE_DOC, "finance", env=env)

    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_documents_alone_still_lists_and_its_options_are_for_the_listing_only(shared_env):
    listed = invoke("documents", env=shared_env)
    assert listed.exit_code == 0 and listed.stdout.endswith(f"  {FINANCE_DOC}\n1 documents\n"), listed.stdout
    assert invoke("documents", "--as", "alice", env=shared_env).stdout == "0 documents\n"

    mixed = invoke("documents", "--json", "grant", FINANCE_DOC, "hr", env=shared_env)
    assert mixed.exit_code == 2 and "for the listing" in mixed.stderr
    assert groups_of(shared_env) == [["finance"]]


def test_ingest_without_group_shares_new_documents_with_the_default_group_and_keeps_stored_ones(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("The loading dock closes at six on Fridays.\n")
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DEFAULT_GROUP": "staff"}

    assert invoke("ingest", str(note), env=env).exit_code == 0
    assert groups_of(env) == [["staff"]]
    assert invoke("documents", "grant", "note.txt", "ops", env=env).exit_code == 0
    assert invoke("documents", "revoke", "note.txt", "staff", env=env).exit_code == 0
    assert invoke("ingest", str(note), env=env).exit_code == 0  # again, without --group: it keeps its groups
    assert groups_of(env) == [["ops"]]
