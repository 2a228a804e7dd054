"""The `enclave` command line over real data and a real LLM server. Run in this process through Click's CliRunner
(tests/enclave_cli.py), except where the process is the point: the exit code a shell sees, after a command that
loaded the models and the store, comes from the installed program in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from enclave_cli import invoke, run_process
from shared_data import BAD, DOCS


def test_search_finds_the_passage_with_the_answer(enclave_env):
    result = invoke("search", "bottles of water delivered", "-k", "3", "--json", env=enclave_env)
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["document"] == "memo-supply-delivery.pdf"
    assert hits[0]["page"] == 1
    assert "20,000 bottles of water" in hits[0]["text"]
    assert set(hits[0]) == {"document", "page", "chunk_id", "score", "text"}


def test_search_with_translate_searches_the_other_languages_too_and_still_finds_the_answer(enclave_env):
    plain = json.loads(invoke("search", "bottles of water delivered", "-k", "3", "--json", env=enclave_env).stdout)
    result = invoke("search", "bottles of water delivered", "-k", "10", "--translate", "--json", env=enclave_env)

    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["document"] == plain[0]["document"] == "memo-supply-delivery.pdf"


def test_ask_cites_the_file_that_holds_the_answer(enclave_env):
    result = invoke("ask", "How many bottles of water were delivered?", "--json", env=enclave_env)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answer"].strip()
    assert answer["citations"], answer
    assert answer["citations"][0]["document"] == "memo-supply-delivery.pdf"
    assert set(answer["citations"][0]) == {"n", "document", "page", "chunk_id", "text"}


def test_ask_streams_the_answer_then_numbered_sources(enclave_env):
    result = invoke("ask", "How many bottles of water were delivered?", env=enclave_env)
    assert result.exit_code == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert answer.strip()
    assert "[1] memo-supply-delivery.pdf, page 1" in sources


def test_ask_with_unreachable_llm_exits_2_and_says_what_to_do(ingested_data_dir):
    """The real process: exit 2 as a shell sees it, and no traceback, after the models and the store were loaded."""
    from assistant import find_free_port

    env = dict(os.environ, ENCLAVE_DATA_DIR=str(ingested_data_dir),
               ENCLAVE_LLM_BASE_URL=f"http://127.0.0.1:{find_free_port()}/v1")
    result = run_process("ask", "How many bottles of water were delivered?", env=env)
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert "unreachable" in message and "enclave llm serve" in message
    assert "Traceback" not in result.stderr


def test_bad_setting_fails_at_start_naming_the_setting(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path), "ENCLAVE_QDRANT_URL": "localhost:6333"}
    result = invoke("search", "anything", env=env)
    assert result.exit_code == 2
    assert "ENCLAVE_QDRANT_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingesting_the_same_folder_twice_adds_nothing_the_second_time(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("memo-supply-delivery.pdf", "udhr-english-spanish.html"):
        shutil.copy(DOCS / name, folder / name)
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}

    first = invoke("ingest", str(folder), env=env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "2 files: 2 added, 0 unchanged, 0 failed"

    second = invoke("ingest", str(folder), "--json", env=env)
    assert second.exit_code == 0, second.stderr
    results = json.loads(second.stdout)
    assert [r["status"] for r in results] == ["unchanged", "unchanged"]
    assert all(r["chunks"] > 0 for r in results)


def test_a_failed_file_is_reported_by_name_and_the_rest_is_stored(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(DOCS / "memo-supply-delivery.pdf", folder)
    shutil.copy(BAD / "empty.pdf", folder)
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}

    result = invoke("ingest", str(folder), "--json", env=env)
    assert result.exit_code == 1
    by_name = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert by_name["memo-supply-delivery.pdf"]["status"] == "added"
    assert by_name["empty.pdf"]["status"] == "failed"
    assert "empty" in by_name["empty.pdf"]["reason"]
    assert "empty.pdf" in result.stderr

    listing = invoke("documents", "--json", env=env)
    assert [d["name"] for d in json.loads(listing.stdout)] == ["memo-supply-delivery.pdf"]


def test_reindex_reads_a_stored_file_again_and_gives_it_a_new_version(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("Travel policy. Employees book economy class for flights under six hours.\n")
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}
    assert invoke("ingest", str(policy), env=env).exit_code == 0

    result = invoke("reindex", "policy.txt", "--json", env=env)

    assert result.exit_code == 0, result.stderr
    assert [(r["path"], r["status"]) for r in json.loads(result.stdout)] == [(str(policy), "updated")]
    listing = json.loads(invoke("documents", "--json", env=env).stdout)
    assert [(d["name"], d["version"]) for d in listing] == [("policy.txt", 2)]


def test_reindex_of_a_document_whose_file_is_gone_exits_1_and_keeps_it(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("Travel policy. Employees book economy class for flights under six hours.\n")
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}
    assert invoke("ingest", str(policy), env=env).exit_code == 0
    policy.unlink()

    result = invoke("reindex", "--all", env=env)

    assert result.exit_code == 1
    assert result.stdout.strip().splitlines()[-1] == "1 documents: 0 re-indexed, 1 failed"
    assert f"original file is gone: {policy}; upload it again" in result.stderr
    listing = json.loads(invoke("documents", "--json", env=env).stdout)
    assert [(d["name"], d["version"]) for d in listing] == [("policy.txt", 1)]


def test_reindex_needs_documents_or_all_but_not_both(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}

    for args in ((), ("policy.txt", "--all")):
        result = invoke("reindex", *args, env=env)
        assert result.exit_code == 2
        assert "name the documents to re-index, or give --all" in result.stderr
