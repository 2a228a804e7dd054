"""`enclave keys` through the command line (tests/enclave_cli.py), on SQLite and PostgreSQL: the new key on the last
line of stdout and nowhere else, the listing, revoking, and the exit codes (0 done, 1 refused, 2 unreachable)."""

from __future__ import annotations

import json

import pytest

from enclave_cli import invoke


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path) -> dict[str, str]:
    """A data folder of the test's own with its SQLite file or a PostgreSQL database, and alice, a member in hr."""
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else ""
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DATABASE_URL": url}
    added = invoke("users", "add", "alice", "--group", "hr", env=env)
    assert added.exit_code == 0, added.stderr
    return env


def listed(env) -> list[dict]:
    result = invoke("keys", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_create_prints_the_key_on_its_last_line_only_and_the_key_acts_as_its_account(env, accounts):
    result = invoke("keys", "create", "alice", env=env)

    assert result.exit_code == 0, result.stderr
    key = result.stdout.splitlines()[-1]
    assert result.stdout == key + "\n"  # alone on stdout: `$(enclave keys create alice)` is the key
    assert key not in result.stderr and "shown once" in result.stderr
    [listing] = listed(env)
    assert listing["id"] in result.stderr and key.startswith(listing["prefix"])
    assert accounts.keys.holder(key).user.name == "alice"
    assert key not in json.dumps(listing)


def test_list_shows_each_key_and_its_state(env):
    invoke("keys", "create", "alice", env=env)
    invoke("keys", "create", "alice", env=env)
    first, second = listed(env)
    invoke("keys", "revoke", first["id"], env=env)

    result = invoke("keys", "list", env=env)

    assert result.exit_code == 0, result.stderr
    header, *rows, summary = result.stdout.splitlines()
    assert header.split()[:2] == ["ID", "PREFIX"]
    assert summary == "2 keys, 1 active"
    revoked_row = next(row for row in rows if row.startswith(first["id"]))
    assert revoked_row.split()[-1] == "alice" and first["prefix"] + "…" in revoked_row
    assert [k["revoked"] is None for k in listed(env)] == [False, True]


def test_revoke_stops_the_key_and_is_recorded_under_the_login(env, accounts):
    key = invoke("keys", "create", "alice", env=env).stdout.strip()
    [listing] = listed(env)

    result = invoke("keys", "revoke", listing["id"], env=env)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"revoked {listing['id']} ({listing['prefix']}…) of alice at ")
    assert accounts.keys.holder(key) is None
    assert [r.action for r in accounts.audit.records(action="key")] == ["key.create", "key.revoke"]


@pytest.mark.parametrize("args, said", [
    (("keys", "create", "bob"), "no account is named bob"),
    (("keys", "revoke", "0123456789ab"), "no API key has the id"),
])  # fmt: skip
def test_an_unknown_account_or_key_is_refused_with_exit_1(env, args, said):
    result = invoke(*args, env=env)

    assert result.exit_code == 1
    assert said in result.stderr and result.stdout == ""


def test_an_unreachable_database_exits_2_with_one_line(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"),
           "ENCLAVE_DATABASE_URL": f"postgresql://enclave:s3cret@/enclave?host={tmp_path / 'no-server'}"}

    result = invoke("keys", "list", env=env)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot open the database") and "s3cret" not in result.output
