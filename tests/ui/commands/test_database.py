"""`enclave db upgrade` and `enclave db status` (ui/commands/database.py), on SQLite and PostgreSQL: settings and the
database only, and the exit codes scripts rely on."""

from __future__ import annotations

import pytest

from enclave_cli import invoke
from assistant import ASSISTANT_TABLES
from ingest import INGEST_TABLES, head_revision

HEAD = head_revision(INGEST_TABLES)
ASSISTANT_HEAD = head_revision(ASSISTANT_TABLES)


@pytest.fixture
def env(tmp_path, database_url) -> dict[str, str]:
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data")}
    if database_url:
        env["ENCLAVE_DATABASE_URL"] = database_url
    return env


def test_upgrade_creates_the_tables_then_has_nothing_to_do(env):
    first = invoke("db", "upgrade", env=env)
    again = invoke("db", "upgrade", env=env)

    assert (first.exit_code, again.exit_code) == (0, 0), first.stderr + again.stderr
    assert first.stdout == (f"ingest: upgraded from no tables to {HEAD}\n"
                            f"assistant: upgraded from no tables to {ASSISTANT_HEAD}\n")
    assert again.stdout == (f"ingest: at {HEAD}, the newest (nothing to do)\n"
                            f"assistant: at {ASSISTANT_HEAD}, the newest (nothing to do)\n")


def test_status_shows_each_trees_revision_and_the_newest(env):
    before = invoke("db", "status", env=env)
    invoke("db", "upgrade", env=env)
    after = invoke("db", "status", env=env)

    assert (before.exit_code, after.exit_code) == (0, 0), before.stderr + after.stderr
    assert f"ingest: no tables yet, newest {HEAD}  (run `enclave db upgrade`)" in before.stdout
    assert after.stdout.startswith("database: ") and f"ingest: at {HEAD}, newest {HEAD}\n" in after.stdout
    assert f"assistant: at {ASSISTANT_HEAD}, newest {ASSISTANT_HEAD}\n" in after.stdout


def test_status_names_the_database_without_its_password(tmp_path, postgres_database):
    with_password = postgres_database.replace("enclave@", "enclave:s3cret-pw@")  # the test server trusts anyone

    result = invoke("db", "status", env={"ENCLAVE_DATA_DIR": str(tmp_path), "ENCLAVE_DATABASE_URL": with_password})

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("database: postgresql+psycopg://enclave:***@/") and "s3cret-pw" not in result.stdout


@pytest.mark.parametrize("command", ["upgrade", "status"])
def test_an_unreachable_database_exits_2_with_one_line_and_no_password(tmp_path, command):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path), "ENCLAVE_DATABASE_URL": "postgresql://enclave:s3cret-pw@127.0.0.1:1/x"}

    result = invoke("db", command, env=env)

    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "ENCLAVE_DATABASE_URL" in result.stderr
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr


def test_upgrade_loads_no_model_and_opens_no_store(tmp_path, monkeypatch):
    import ingest.encoders.dense

    def refuse(*args, **kwargs):
        raise AssertionError("`enclave db` loaded the embedding model")

    monkeypatch.setattr(ingest.encoders.dense.Embedder, "__init__", refuse)
    result = invoke("db", "upgrade", env={"ENCLAVE_DATA_DIR": str(tmp_path / "data")})

    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["enclave.db"]  # no qdrant/ folder
