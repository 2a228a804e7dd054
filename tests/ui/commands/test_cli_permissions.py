"""Who sees what, through the command line (`--as USER`): member `alice` in `hr` asks about a `finance` document and
gets the not-found answer with no citation; `bob` in `finance` gets it answered and cited; an admin gets both. The
permission filter runs inside the vector search, so nothing of the finance document reaches alice's prompt, her
listing or her search results."""

from __future__ import annotations

import json
import os

import pytest

from enclave_cli import invoke
from shared_data import DOCS

FINANCE_DOC = "memo-supply-delivery.pdf"  # the delivery memo: 20,000 bottles of water
HR_DOC = "family-day.eml"  # the staff family day invitation
QUESTION = "How many bottles of water were delivered?"


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory, llm_server):
    data_dir = tmp_path_factory.mktemp("permissions") / "data"
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(data_dir), ENCLAVE_LLM_BASE_URL=llm_server.base_url)
    for name, group in ((FINANCE_DOC, "finance"), (HR_DOC, "hr")):
        result = invoke("ingest", str(DOCS / name), "--group", group, env=env)
        assert result.exit_code == 0, result.stderr
    for name, group in (("alice", "hr"), ("bob", "finance")):
        result = invoke("users", "add", name, "--group", group, env=env)
        assert result.exit_code == 0, result.stderr
    return env


def ask_as(env: dict[str, str], *who: str) -> dict:
    result = invoke("ask", QUESTION, "--json", *who, env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def listed_as(env: dict[str, str], *who: str) -> set[str]:
    result = invoke("documents", "--json", *who, env=env)
    assert result.exit_code == 0, result.stderr
    return {row["name"] for row in json.loads(result.stdout)}


def test_alice_in_hr_gets_not_found_and_nothing_of_the_finance_document(shared_env):
    answer = ask_as(shared_env, "--as", "alice")

    assert answer["not_found"] is True
    assert answer["citations"] == [] and answer["also_retrieved"] == []
    assert "20,000" not in answer["answer"] and "20000" not in answer["answer"]


def test_bob_in_finance_gets_it_answered_and_cited(shared_env):
    answer = ask_as(shared_env, "--as", "bob")

    assert answer["not_found"] is False
    assert [c["document"] for c in answer["citations"]][:1] == [FINANCE_DOC]


def test_an_admin_gets_both_documents(shared_env):
    answer = ask_as(shared_env)  # whoever runs the command line is an admin

    assert [c["document"] for c in answer["citations"]][:1] == [FINANCE_DOC]
    assert listed_as(shared_env) == {FINANCE_DOC, HR_DOC}


def test_each_member_lists_and_finds_only_their_groups_documents(shared_env):
    assert listed_as(shared_env, "--as", "alice") == {HR_DOC}
    assert listed_as(shared_env, "--as", "bob") == {FINANCE_DOC}

    result = invoke("search", "bottles of water delivered", "--json", "--as", "alice", env=shared_env)
    assert result.exit_code == 0, result.stderr
    assert {hit["document"] for hit in json.loads(result.stdout)} <= {HR_DOC}


def test_acting_as_an_account_that_does_not_exist_exits_1_with_one_line(shared_env):
    result = invoke("search", "water", "--as", "mallory", env=shared_env)

    assert result.exit_code == 1
    assert "mallory" in result.stderr and len(result.stderr.strip().splitlines()) == 1
