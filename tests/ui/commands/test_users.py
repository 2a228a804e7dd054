"""`enclave users` through the command line (tests/enclave_cli.py), on SQLite and PostgreSQL: what each command
prints, its exit code (0 done, 1 refused, 2 unreachable or a bad setting), and that a password goes in through stdin
only and never comes out."""

from __future__ import annotations

import json

import pytest

from enclave_cli import invoke

ROOT_PASSWORD = "correct horse battery staple"
ALICE_PASSWORD = "  älice's passphrase, spaces kept  "  # only the line break is dropped


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path) -> dict[str, str]:
    """The environment of a command: a data folder of the test's own, and its SQLite file or a PostgreSQL database."""
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else ""
    return {"ENCLAVE_DATA_DIR": str(tmp_path / "data"), "ENCLAVE_DATABASE_URL": url}


@pytest.fixture
def with_root(env) -> dict[str, str]:
    """The environment, once the first admin, root, is created."""
    created = invoke("users", "create-admin", "root", "--password-stdin", input=ROOT_PASSWORD + "\n", env=env)
    assert created.exit_code == 0, created.stderr
    return env


def listed(env) -> list[dict]:
    result = invoke("users", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_create_admin_takes_the_password_from_stdin_and_lets_root_sign_in(env, accounts):
    result = invoke("users", "create-admin", "root", "--password-stdin", input=ROOT_PASSWORD + "\n", env=env)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "created root, admin\n"
    assert ROOT_PASSWORD not in result.output
    [root] = listed(env)
    assert {k: root[k] for k in ("name", "role", "groups", "has_password")} == {
        "name": "root", "role": "admin", "groups": ["everyone"], "has_password": True,
    }
    assert accounts.sign_in("root", ROOT_PASSWORD).is_admin


def test_a_second_first_admin_is_refused_with_exit_1(with_root):
    result = invoke("users", "create-admin", "other", "--password-stdin", input=ROOT_PASSWORD + "\n", env=with_root)

    assert result.exit_code == 1
    assert "accounts exist already" in result.stderr and "enclave users add" in result.stderr
    assert [u["name"] for u in listed(with_root)] == ["root"]


def test_add_a_member_in_groups_without_a_password(with_root):
    result = invoke("users", "add", "alice", "--group", "hr", "--group", "finance", env=with_root)

    assert result.exit_code == 0, result.stderr
    assert "alice, member, in everyone, finance, hr, no password" in result.stdout
    alice = next(u for u in listed(with_root) if u["name"] == "alice")
    assert (alice["role"], alice["groups"], alice["has_password"]) == ("member", ["everyone", "finance", "hr"], False)


def test_add_an_admin_whose_password_keeps_all_but_the_line_break(with_root, accounts):
    result = invoke("users", "add", "alice", "--role", "admin", "--password-stdin", input=ALICE_PASSWORD + "\r\n",
                    env=with_root)

    assert result.exit_code == 0, result.stderr
    assert accounts.sign_in("alice", ALICE_PASSWORD).is_admin


def test_list_shows_a_table_and_json_with_no_hash(with_root):
    invoke("users", "add", "alice", "--group", "hr", env=with_root)

    table = invoke("users", "list", env=with_root)
    as_json = invoke("users", "list", "--json", env=with_root)

    assert table.exit_code == as_json.exit_code == 0
    header, alice, root, total = table.stdout.splitlines()
    assert header.split() == ["NAME", "ROLE", "PASSWORD", "CREATED", "(UTC)", "GROUPS"]
    assert alice.split()[:3] == ["alice", "member", "no"] and alice.endswith("everyone, hr")
    assert root.split()[:3] == ["root", "admin", "yes"]
    assert total == "2 accounts"
    assert [set(u) for u in json.loads(as_json.stdout)] == [{"name", "role", "groups", "has_password", "created"}] * 2
    assert "argon2" not in table.stdout + as_json.stdout


@pytest.mark.parametrize("args", [
    ("add", "root"),
    ("set-groups", "zed", "hr"),
    ("set-role", "zed", "admin"),
    ("remove", "zed"),
])  # fmt: skip
def test_an_existing_or_unknown_account_is_refused_with_exit_1(with_root, args):
    result = invoke("users", *args, env=with_root)

    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert ("exists already" in result.stderr) or ("`enclave users list` shows them" in result.stderr)


def test_a_weak_password_is_refused_with_exit_1_and_not_echoed(with_root):
    result = invoke("users", "add", "alice", "--password-stdin", input="alice\n", env=with_root)

    assert result.exit_code == 1
    assert "at least 8 characters" in result.stderr
    assert "alice" not in result.stderr.replace("'", "")  # the name is the password here: neither is shown
    assert [u["name"] for u in listed(with_root)] == ["root"]


def test_set_groups_replaces_them_and_an_open_session_sees_it(with_root, accounts):
    invoke("users", "add", "alice", "--group", "hr", "--password-stdin", input=ALICE_PASSWORD + "\n", env=with_root)
    token = accounts.start_session(accounts.sign_in("alice", ALICE_PASSWORD))

    result = invoke("users", "set-groups", "alice", "legal", "finance", env=with_root)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "alice is in everyone, finance, legal\n"
    assert accounts.user_for_session(token).groups == ("everyone", "finance", "legal")


def test_set_password_replaces_it_and_signs_the_account_out(with_root, accounts):
    token = accounts.start_session(accounts.sign_in("root", ROOT_PASSWORD))

    result = invoke("users", "set-password", "root", "--password-stdin", input=ALICE_PASSWORD + "\n", env=with_root)

    assert result.exit_code == 0, result.stderr
    assert ALICE_PASSWORD not in result.output
    assert accounts.user_for_session(token) is None
    assert accounts.sign_in("root", ALICE_PASSWORD).name == "root"


def test_remove_signs_the_account_out_at_once(with_root, accounts):
    invoke("users", "add", "alice", "--password-stdin", input=ALICE_PASSWORD + "\n", env=with_root)
    token = accounts.start_session(accounts.sign_in("alice", ALICE_PASSWORD))

    result = invoke("users", "remove", "alice", env=with_root)

    assert (result.exit_code, result.stdout) == (0, "removed alice\n")
    assert accounts.user_for_session(token) is None
    assert [u["name"] for u in listed(with_root)] == ["root"]


def test_the_last_admin_cannot_be_removed(with_root):
    result = invoke("users", "remove", "root", env=with_root)

    assert result.exit_code == 1
    assert "root is the last admin" in result.stderr
    assert [u["name"] for u in listed(with_root)] == ["root"]


def test_set_role_makes_a_member_an_admin_and_back_and_an_open_session_sees_it(with_root, accounts):
    invoke("users", "add", "alice", "--password-stdin", input=ALICE_PASSWORD + "\n", env=with_root)
    token = accounts.start_session(accounts.sign_in("alice", ALICE_PASSWORD))

    promoted = invoke("users", "set-role", "alice", "admin", env=with_root)

    assert (promoted.exit_code, promoted.stdout) == (0, "alice is an admin\n"), promoted.stderr
    assert accounts.user_for_session(token).is_admin  # the same session, at its next request
    demoted = invoke("users", "set-role", "alice", "member", env=with_root)
    assert (demoted.exit_code, demoted.stdout) == (0, "alice is a member\n"), demoted.stderr
    assert not accounts.user_for_session(token).is_admin
    assert [(u["name"], u["role"]) for u in listed(with_root)] == [("alice", "member"), ("root", "admin")]


def test_the_last_admin_cannot_be_made_a_member(with_root):
    result = invoke("users", "set-role", "root", "member", env=with_root)

    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "root is the last admin and cannot become a member" in line
    assert [u["role"] for u in listed(with_root)] == ["admin"]


@pytest.mark.parametrize("args", [
    ("users", "add", "alice", "--password", ALICE_PASSWORD),  # no such option: argv is readable by others
    ("users", "create-admin", "root"),  # the first admin needs a password, from stdin
    ("users", "set-password", "root"),
    ("users", "set-groups", "root"),  # replacing the groups with nothing is said as `everyone`
    ("users", "set-role", "root", "owner"),  # not a role
])  # fmt: skip
def test_a_password_from_the_command_line_or_a_missing_argument_is_a_usage_error(env, args):
    result = invoke(*args, env=env)

    assert result.exit_code == 2
    assert ALICE_PASSWORD not in result.output
    assert invoke("users", "list", "--json", env=env).stdout.strip() == "[]"  # nothing was created


def test_an_unreachable_database_exits_2_with_one_line(tmp_path):
    env = {"ENCLAVE_DATA_DIR": str(tmp_path / "data"),
           "ENCLAVE_DATABASE_URL": f"postgresql://enclave:s3cret@/enclave?host={tmp_path / 'no-server'}"}

    result = invoke("users", "list", env=env)

    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot open the database") and "ENCLAVE_DATABASE_URL" in line
    assert "s3cret" not in result.output


@pytest.mark.parametrize("setting, value", [("ENCLAVE_SESSION_HOURS", "0"), ("ENCLAVE_SIGN_IN_ATTEMPTS", "none")])
def test_a_bad_setting_exits_2_naming_it(tmp_path, setting, value):
    result = invoke("users", "list", env={"ENCLAVE_DATA_DIR": str(tmp_path / "data"), setting: value})

    assert result.exit_code == 2
    assert setting in result.stderr and "Traceback" not in result.output


def help_text(*command: str) -> str:
    return " ".join(invoke(*command, "--help").stdout.split())  # as read, not as wrapped


def test_help_explains_roles_groups_passwords_and_exit_codes():
    overview = help_text("users")
    for words in ("admin", "member", "everyone", "ENCLAVE_DATABASE_URL", "Exit codes: 0 done; 1 refused"):
        assert words in overview
    for command in ("create-admin", "add", "list", "set-groups", "set-role", "set-password", "remove"):
        assert command in overview
    assert "single sign-on" in help_text("users", "add")
    assert "Read the password from stdin" in help_text("users", "create-admin")
    assert "Never from the command line or the environment" in help_text("users", "set-password")
