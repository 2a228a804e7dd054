"""`enclave ask --conversation`, `enclave conversations` and `enclave feedback` through the command line
(tests/enclave_cli.py), on a copy of the session's ingested data folder and the real test LLM server: the first ask
prints its conversation's id, the next continues it with its history; nobody opens another's conversation (refused
as an unknown id is); feedback is for admins."""

from __future__ import annotations

import json
import re
import shutil
from typing import Iterator

import pytest

from assistant import Answer, Citation, User, load_assistant_settings, open_accounts, open_conversations
from enclave_cli import invoke
from ingest import load_settings

QUESTION = "How many bottles of water were delivered?"
FOLLOW_UP = "and how many in May?"
MEMO = Citation(1, "memo-supply-delivery.pdf", 1, "memo-chunk", "20,000 bottles of water", document_id="memo")
ALICE = User("alice")


@pytest.fixture
def env(ingested_data_dir, tmp_path, llm_server) -> dict[str, str]:
    """A copy of the ingested data folder (conversations are written to it), the live LLM, short answers; accounts
    alice and bob (members)."""
    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    accounts = open_accounts(load_settings(data_dir=data, _env_file=None), load_assistant_settings(_env_file=None))
    try:
        for name in ("alice", "bob"):
            accounts.add_user(name, by="root")
    finally:
        accounts.close()
    return {"ENCLAVE_DATA_DIR": str(data), "ENCLAVE_LLM_BASE_URL": llm_server.base_url,
            "ENCLAVE_LLM_MAX_TOKENS": "64", "ENCLAVE_DATABASE_URL": ""}


@pytest.fixture
def alices(env) -> Iterator[str]:
    """A conversation of alice's with one answered question (kept without the LLM), and a rating of its answer."""
    store = open_conversations(load_settings(data_dir=env["ENCLAVE_DATA_DIR"], _env_file=None),
                               load_assistant_settings(_env_file=None))
    try:
        conversation_id = store.start(ALICE, QUESTION).id
        store.add_turn(ALICE, conversation_id, QUESTION, Answer("20,000 [1].", [MEMO]), model="smollm2")
        store.record_feedback(ALICE, conversation_id, 1, "down", "May is missing")
        yield conversation_id
    finally:
        store.close()


def test_the_first_ask_prints_its_conversation_and_the_next_continues_it_with_its_history(env):
    first = invoke("ask", QUESTION, env=env)
    assert first.exit_code == 0, first.stderr
    assert "\nSources:\n" in first.stdout and "conversation" not in first.stdout  # stdout as before, for scripts
    [conversation_id] = re.findall(r"conversation (\w+): continue it with `enclave ask --conversation \1", first.stderr)

    follow_up = invoke("ask", FOLLOW_UP, "--conversation", conversation_id, "--json", env=env)
    assert follow_up.exit_code == 0, follow_up.stderr
    answer = json.loads(follow_up.stdout)
    assert (answer["conversation"], answer["turn"]) == (conversation_id, 2)
    assert answer["query"] != FOLLOW_UP  # read with the first question: rewritten to stand alone
    assert "continue it" not in follow_up.stderr  # the id was printed when the conversation began

    listed = invoke("conversations", "--json", env=env)
    assert listed.exit_code == 0, listed.stderr
    assert [(c["id"], c["title"], c["turns"]) for c in json.loads(listed.stdout)] == [(conversation_id, QUESTION, 2)]


def test_another_users_conversation_is_refused_as_an_unknown_id_is(env, alices):
    unknown = invoke("conversations", "show", "0123456789abcdef", "--as", "bob", env=env)
    assert unknown.exit_code == 1
    said = unknown.stderr.replace("0123456789abcdef", alices)

    for args in (("ask", FOLLOW_UP, "--conversation", alices, "--as", "bob"),
                 ("conversations", "show", alices, "--as", "bob"),
                 ("conversations", "rename", alices, "mine now", "--as", "bob"),
                 ("conversations", "delete", alices, "--as", "bob"),
                 ("conversations", "show", alices)):  # the admin running the command line, as themselves
        refused = invoke(*args, env=env)
        assert (refused.exit_code, refused.stderr) == (1, said), args
        assert refused.stdout == ""

    bobs = invoke("conversations", "--as", "bob", "--json", env=env)
    assert (bobs.exit_code, json.loads(bobs.stdout)) == (0, [])
    shown = invoke("conversations", "show", alices, "--as", "alice", env=env)
    assert shown.exit_code == 0, shown.stderr
    assert QUESTION in shown.stdout and "20,000 [1]." in shown.stdout


def test_a_conversation_is_renamed_and_deleted_by_its_owner(env, alices):
    renamed = invoke("conversations", "rename", alices, "Water deliveries", "--as", "alice", env=env)
    assert (renamed.exit_code, renamed.stdout) == (0, f"renamed {alices}: Water deliveries\n")
    listing = invoke("conversations", "--as", "alice", env=env).stdout
    assert re.search(rf"^{alices}  \S+ \S+    1 questions  Water deliveries$", listing, re.MULTILINE), listing
    empty = invoke("conversations", "rename", alices, "  ", "--as", "alice", env=env)
    assert empty.exit_code == 1 and "cannot be empty" in empty.stderr

    deleted = invoke("conversations", "delete", alices, "--as", "alice", env=env)

    assert (deleted.exit_code, deleted.stdout) == (0, f"deleted {alices}\n")
    assert invoke("conversations", "--as", "alice", env=env).stdout == "0 conversations\n"


def test_feedback_is_listed_and_exported_for_admins_and_refused_to_members(env, alices):
    as_json = invoke("feedback", "--json", env=env)
    as_csv = invoke("feedback", "--csv", env=env)
    member = invoke("feedback", "--as", "alice", env=env)

    assert as_json.exit_code == 0, as_json.stderr
    [rating] = json.loads(as_json.stdout)
    assert {k: rating[k] for k in ("user", "conversation", "turn", "rating", "comment", "chunk_ids", "model")} == {
        "user": "alice", "conversation": alices, "turn": 1, "rating": "down", "comment": "May is missing",
        "chunk_ids": ["memo-chunk"], "model": "smollm2"}
    header, row = as_csv.stdout.splitlines()
    assert header.startswith("id,given,user,conversation,turn,rating,comment,question")
    assert f",alice,{alices},1,down,May is missing,{QUESTION}," in row
    assert member.exit_code == 1 and "only admins" in member.stderr and member.stdout == ""
