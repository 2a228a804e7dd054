"""`enclave backup DIR` and `enclave restore DIR [--force]` over real data: a few real files ingested, an account and
the audit trail beside them (in the SQLite file, or on a real PostgreSQL), backed up, restored into a new data folder
(and a new database); the restored Enclave finds the same passages (the same chunk ids), lists the same documents,
and keeps the accounts and the audit trail. Exit codes: 0 done, 1 refused (a damaged backup, an Enclave that is not
empty), 2 unavailable (the app holds the store)."""

from __future__ import annotations

import json
import shutil

import pytest

from enclave_cli import invoke
from shared_data import DOCS

FILES = ("memo-supply-delivery.pdf", "udhr-english-spanish.html", "norwich-city-iwan-roberts.txt")


def run(*args: str, env: dict[str, str], input: str | None = None) -> str:
    result = invoke(*args, env=env, input=input)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def audit_trail(env: dict[str, str]) -> list[tuple]:
    return [(r["seq"], r["action"], r["target"], r["hash"]) for r in json.loads(run("audit", "--json", env=env))]


def state(env: dict[str, str]) -> dict[str, object]:
    """What a restore must bring back, the audit trail read first: the search is recorded in it."""
    return {
        "audit": audit_trail(env),
        "users": json.loads(run("users", "list", "--json", env=env)),
        "documents": json.loads(run("documents", "--json", env=env)),
        "search": [p["chunk_id"] for p in json.loads(run("search", "bottles of water delivered", "--json", env=env))],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest) -> tuple[str, str]:
    """ENCLAVE_DATABASE_URL of the Enclave backed up and of the one restored: the SQLite files under their data
    folders (""), or two databases on a real PostgreSQL server (tests/postgres.py)."""
    if request.param == "sqlite":
        return "", ""
    import uuid

    cluster = request.getfixturevalue("postgres_cluster")
    target = f"t_{uuid.uuid4().hex[:16]}"
    cluster.execute(f'CREATE DATABASE "{target}"')
    request.addfinalizer(lambda: cluster.execute(f'DROP DATABASE "{target}" WITH (FORCE)'))
    return request.getfixturevalue("postgres_database"), cluster.url(target)


@pytest.fixture
def backed_up(tmp_path, shared_models, databases):
    """A data folder with FILES ingested and a member account, its state, and its backup in tmp_path/backup."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in FILES:
        shutil.copy(DOCS / name, folder / name)
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DATABASE_URL": databases[0]}
    with shared_models.lent():
        run("ingest", str(folder), env=env)
        run("users", "add", "alice", "--group", "finance", env=env)
        before = state(env)
        before["audit"] = audit_trail(env)  # with the search just made: the trail as the backup takes it
        stdout = run("backup", str(tmp_path / "backup"), env=env)
    assert stdout.startswith(f"backed up {len(FILES)} documents")
    return before


def test_a_restored_enclave_finds_the_same_passages_and_keeps_accounts_and_audit(backed_up, tmp_path,
                                                                                    shared_models, databases):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "restored"), "ENCLAVE_DATABASE_URL": databases[1]}

    with shared_models.lent():
        stdout = run("restore", str(tmp_path / "backup"), env=env)
        after = state(env)

    assert stdout.startswith(f"restored {len(FILES)} documents")
    assert len(backed_up["documents"]) == len(FILES) and backed_up["search"]
    assert after == backed_up
    assert invoke("audit", "verify", env=env).exit_code == 0  # the hash chain came back whole


def test_a_restore_over_an_enclave_that_is_not_empty_exits_1_unless_forced(backed_up, tmp_path, shared_models,
                                                                             databases):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DATABASE_URL": databases[0]}

    refused = invoke("restore", str(tmp_path / "backup"), env=env)
    assert refused.exit_code == 1
    assert "not empty" in refused.stderr and "--force" in refused.stderr

    run("users", "remove", "alice", env=env)
    with shared_models.lent():
        run("restore", str(tmp_path / "backup"), "--force", env=env)
        assert state(env)["users"] == backed_up["users"]


def test_a_damaged_backup_exits_1_naming_the_file_and_changes_nothing(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}
    run("users", "add", "alice", env=env)
    run("backup", str(tmp_path / "backup"), env=env)
    dump = tmp_path / "backup" / "database.sqlite"
    dump.write_bytes(dump.read_bytes()[:-1] + b"\x01")
    target = {"ENCLAVE_DATA_DIR": str(tmp_path / "new")}

    result = invoke("restore", str(tmp_path / "backup"), env=target)

    assert result.exit_code == 1
    assert str(dump) in result.stderr and "SHA-256" in result.stderr
    assert not (tmp_path / "new").exists()


def test_a_backup_while_a_process_without_an_api_holds_the_store_exits_2_saying_what_to_do(tmp_path):
    from click.testing import CliRunner

    from ingest import load_settings
    from ingest.store import holding_store_folder
    from ui.commands.cli import main

    settings = load_settings(data_dir=tmp_path / "data", _env_file=None)
    with holding_store_folder(settings.qdrant_path / settings.collection):  # as `enclave up` does
        # Not enclave_cli.invoke: it checks that the store is free afterwards, and here the test itself holds it.
        result = CliRunner().invoke(main, ["backup", str(tmp_path / "backup")], catch_exceptions=False,
                                    env={"ENCLAVE_DATA_DIR": str(tmp_path / "data")})

    assert result.exit_code == 2
    assert "in use by another Enclave process" in result.stderr and "enclave up" in result.stderr
    assert not (tmp_path / "backup").exists()
