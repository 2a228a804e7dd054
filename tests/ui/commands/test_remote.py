"""The command line beside a running app: while `enclave up` (what `make run` runs) holds the embedded store, `enclave
ingest`, `documents`, `search`, `ask`, `remove` and `backup` work through the API served from the app's process, say
so in one line, and give what they give on the store itself: progress, JSON, refusals and exit codes.

One real `enclave up` for the module (the app, its API, the test LLM), its output in a file; the commands run in this
process (tests/enclave_cli.py) with the app's data folder in their environment."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from enclave_cli import ENCLAVE, STORE_LOCK, invoke
from shared_data import BAD, DOCS

from assistant import find_free_port

THROUGH = "holds the store: working through its API"
MEMO, EMAIL = "memo-supply-delivery.pdf", "family-day.eml"


@dataclass
class RunningApp:
    data_dir: Path
    api_url: str
    log: Path


def wait_for_text(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared; output was:\n{log.read_text(errors='replace')}")


def store_held(data_dir: Path) -> bool:
    """Whether another process holds the embedded store's directory lock (its lock taken and let go at once if not)."""
    [lock] = data_dir.rglob(STORE_LOCK)
    descriptor = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory, llm_server) -> Iterator[RunningApp]:
    root = tmp_path_factory.mktemp("beside")
    data, log = root / "data", root / "up.log"
    app_port, api_port = find_free_port(), find_free_port()
    env = dict(os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_APP_PORT=str(app_port),
               ENCLAVE_API_PORT=str(api_port), ENCLAVE_LLM_BASE_URL=llm_server.base_url)
    with log.open("w") as out, subprocess.Popen([ENCLAVE, "up", "--no-llm"], env=env, stdout=out,
                                                 stderr=subprocess.STDOUT) as process:
        try:
            wait_for_text(log, "Enclave is ready", process, timeout=600)
            yield RunningApp(data, f"http://127.0.0.1:{api_port}", log)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


@pytest.fixture
def beside(running_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> RunningApp:
    """The commands of this test read the running app's data folder."""
    monkeypatch.setenv("ENCLAVE_DATA_DIR", str(running_app.data_dir))
    return running_app


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two documents and an empty PDF, as an admin would add a folder."""
    folder = tmp_path_factory.mktemp("to-add")
    for path in (DOCS / MEMO, DOCS / EMAIL, BAD / "empty.pdf"):
        shutil.copy(path, folder)
    return folder


@pytest.fixture(scope="module")
def ingested(running_app: RunningApp, folder: Path) -> dict:
    """`enclave ingest FOLDER --group finance --json` through the running app, once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCLAVE_DATA_DIR", str(running_app.data_dir))
        result = invoke("ingest", str(folder), "--group", "finance", "--json")
    return {"exit_code": result.exit_code, "stderr": result.stderr, "results": json.loads(result.stdout)}


def test_ingest_adds_a_folder_through_the_running_app_and_reports_each_file(beside, ingested, folder):
    assert ingested["exit_code"] == 1  # a file failed: as on the store itself
    assert ingested["stderr"].splitlines()[0].endswith(THROUGH)
    results = {Path(r["path"]).name: r for r in ingested["results"]}
    assert results[MEMO]["status"] == results[EMAIL]["status"] == "added"
    assert results[MEMO]["chunks"] > 0 and results[EMAIL]["chunks"] > 0
    assert results["empty.pdf"]["status"] == "failed" and "empty file" in results["empty.pdf"]["reason"]
    assert f"failed {folder / 'empty.pdf'}: empty file" in ingested["stderr"]  # the progress output's line
    assert "files" in ingested["stderr"] and "chunks" in ingested["stderr"]  # the progress bars

    listed = invoke("documents", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert {d["name"] for d in json.loads(listed.stdout)} >= {MEMO, EMAIL}
    assert store_held(beside.data_dir)  # the app held the store throughout: the command could only go through it


def test_the_same_folder_again_is_unchanged_not_duplicated(beside, ingested, folder):
    again = invoke("ingest", str(folder), "--json")
    statuses = {Path(r["path"]).name: r["status"] for r in json.loads(again.stdout)}
    assert statuses == {MEMO: "unchanged", EMAIL: "unchanged", "empty.pdf": "failed"}
    names = [d["name"] for d in json.loads(invoke("documents", "--json").stdout)]
    assert names.count(MEMO) == 1


def test_search_and_ask_through_the_running_app_answer_from_what_it_ingested(beside, ingested):
    found = invoke("search", "bottles of water delivered", "-k", "3", "--json")
    assert found.exit_code == 0, found.stderr
    assert found.stderr.strip().endswith(THROUGH)
    hits = json.loads(found.stdout)
    assert hits[0]["document"] == MEMO and "20,000 bottles of water" in hits[0]["text"]
    assert set(hits[0]) == {"document", "page", "chunk_id", "score", "text"}

    asked = invoke("ask", "How many bottles of water were delivered?", "--json")
    assert asked.exit_code == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answer"].strip() and answer["turn"] == 1
    assert {c["document"] for c in answer["citations"] + answer["also_retrieved"]} >= {MEMO}

    follow_up = invoke("ask", "Who signed it?", "--conversation", answer["conversation"], "--json")
    assert follow_up.exit_code == 0, follow_up.stderr
    assert json.loads(follow_up.stdout)["turn"] == 2  # the same saved conversation, continued


def test_ask_streams_its_text_then_the_sources_as_on_the_store(beside, ingested):
    asked = invoke("ask", "How many bottles of water were delivered?")
    assert asked.exit_code == 0, asked.stderr
    text, _, sources = asked.stdout.partition("Sources:\n")
    assert text.strip() and (MEMO in sources or MEMO in asked.stdout)
    assert "conversation " in asked.stderr  # the new conversation's id, to continue it


def test_refusals_keep_their_exit_codes_through_the_app(beside, ingested):
    unknown_account = invoke("search", "water", "--as", "nobody")
    assert unknown_account.exit_code == 1
    assert "no account is named nobody" in unknown_account.stderr

    unknown_conversation = invoke("ask", "water?", "--conversation", "0000000000000000")
    assert unknown_conversation.exit_code == 1
    assert "no conversation" in unknown_conversation.stderr


def test_as_an_account_through_the_app_sees_what_that_account_would(beside, ingested):
    assert invoke("users", "add", "mia", "--group", "finance").exit_code == 0
    assert invoke("users", "add", "bob", "--group", "hr").exit_code == 0

    as_mia = invoke("documents", "--as", "mia", "--json")
    assert as_mia.exit_code == 0, as_mia.stderr
    assert {d["name"] for d in json.loads(as_mia.stdout)} >= {MEMO, EMAIL}  # shared with finance
    assert json.loads(invoke("documents", "--as", "bob", "--json").stdout) == []
    bob_searches = invoke("search", "bottles of water delivered", "--as", "bob", "--json")
    assert bob_searches.exit_code == 0 and json.loads(bob_searches.stdout) == []


def test_the_api_beside_the_app_serves_keys_and_keeps_its_local_routes_to_the_run_file_token(beside, ingested):
    assert invoke("users", "add", "kim").exit_code == 0
    made = invoke("keys", "create", "kim")
    key = made.stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=beside.api_url, timeout=60) as client:
        models = client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200, models.text  # the same API as `enclave api`, on the app's store
        body = {"user": "mallory", "query": "water"}
        assert client.post("/v1/local/search", json=body).status_code == 403
        refused = client.post("/v1/local/search", json=body, headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 403 and "only the command line" in refused.json()["error"]["message"]
        assert not any(path.startswith("/v1/local") for path in client.get("/openapi.json").json()["paths"])

    token = json.loads((beside.data_dir / "api.json").read_text())["token"]
    assert oct((beside.data_dir / "api.json").stat().st_mode & 0o777) == "0o600"
    with httpx.Client(base_url=beside.api_url, timeout=60) as client:
        allowed = client.post("/v1/local/search", json={"user": "admin", "query": "water"},
                              headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and allowed.json()


def test_backup_through_the_running_app_restores_elsewhere_with_the_same_documents(beside, ingested, tmp_path,
                                                                                   shared_models):
    made = invoke("backup", str(tmp_path / "backup"))
    assert made.exit_code == 0, made.stderr
    assert made.stderr.splitlines()[0].endswith("holds the store: backing up through its API")
    assert made.stdout.startswith("backed up ")
    assert store_held(beside.data_dir)  # the app held the store: it paused its writers and copied
    listed = json.loads(invoke("documents", "--json").stdout)

    over_the_app = invoke("restore", str(tmp_path / "backup"), "--force")
    assert over_the_app.exit_code == 2 and "before restoring" in over_the_app.stderr

    restored = {"ENCLAVE_DATA_DIR": str(tmp_path / "restored")}
    with shared_models.lent():
        assert invoke("restore", str(tmp_path / "backup"), env=restored).exit_code == 0
        assert json.loads(invoke("documents", "--json", env=restored).stdout) == listed


def test_remove_through_the_running_app(beside, ingested):
    removed = invoke("remove", EMAIL)
    assert removed.exit_code == 0, removed.stderr
    assert removed.stdout.startswith("removed ")
    assert EMAIL not in {d["name"] for d in json.loads(invoke("documents", "--json").stdout)}
