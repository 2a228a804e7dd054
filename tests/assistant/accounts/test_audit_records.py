"""What the accounts write into the audit trail (SQLite and PostgreSQL): every change, with who made it, in the same
transaction as the change; every sign-in, refused or throttled too; never a password or its hash."""

from __future__ import annotations

import pytest

from assistant import AuditError, LastAdmin, SignInRefused, SignInThrottled, UserExists
from audit_trails import tamper

ADMIN_PASSWORD = "correct horse battery staple"
ALICE_PASSWORD = "alice's long passphrase"


def trail_of(accounts) -> list[tuple[str, str, str, dict]]:
    return [(r.actor, r.action, r.target, r.details) for r in accounts.audit.records()]


def test_each_account_change_is_recorded_with_who_made_it_and_never_a_password(accounts, clock):
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    accounts.add_user("alice", "member", ["hr"], ALICE_PASSWORD, by="root")
    accounts.set_groups("alice", ["finance"], by="root")
    accounts.set_password("alice", ALICE_PASSWORD + " renewed", by="root")
    accounts.set_role("alice", "admin", by="root")
    accounts.remove_user("alice", by="admin-login")

    assert trail_of(accounts) == [
        ("root", "user.add", "root", {"role": "admin", "groups": ["everyone"], "has_password": True}),
        ("root", "user.add", "alice", {"role": "member", "groups": ["everyone", "hr"], "has_password": True}),
        ("root", "user.set_groups", "alice",
         {"role": "member", "groups": ["everyone", "finance"], "has_password": True, "before": ["everyone", "hr"]}),
        ("root", "user.set_password", "alice", {}),
        ("root", "user.set_role", "alice",
         {"role": "admin", "groups": ["everyone", "finance"], "has_password": True, "before": "member"}),
        ("admin-login", "user.remove", "alice", {"role": "admin", "groups": ["everyone", "finance"],
                                                 "has_password": True}),
    ]
    stored = "".join(r.details_json for r in accounts.audit.records())
    assert "passphrase" not in stored and "argon2" not in stored
    assert accounts.audit.verify().intact


def test_the_first_admin_made_from_the_command_line_is_recorded_under_its_login(accounts):
    accounts.create_first_admin("root", ADMIN_PASSWORD, by="ops")

    assert [(actor, action, target) for actor, action, target, _ in trail_of(accounts)] == [("ops", "user.add", "root")]


def test_a_refused_change_leaves_no_record(accounts):
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    with pytest.raises(UserExists):
        accounts.add_user("root", by="root")
    with pytest.raises(LastAdmin):
        accounts.set_role("root", "member", by="root")

    assert [action for _, action, _, _ in trail_of(accounts)] == ["user.add"]


def test_a_change_whose_record_cannot_be_written_is_not_made(accounts):
    """Fail closed: the record and the change are one transaction."""
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    tamper(accounts.database, "DELETE FROM audit_chain")

    with pytest.raises(AuditError, match="audit_chain"):
        accounts.add_user("alice", by="root")

    assert [a.name for a in accounts.list_users()] == ["root"]


def test_sign_ins_are_recorded_as_they_end_successful_refused_or_throttled(accounts, clock):
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    accounts.add_user("alice", password=ALICE_PASSWORD, by="root")
    accounts.add_user("bob", by="root")  # no password: single sign-on only
    accounts.sign_in("alice", ALICE_PASSWORD)
    for name, password in [("alice", "a wrong guess"), ("zed", "a guess"), ("bob", "a guess")]:
        with pytest.raises(SignInRefused):
            accounts.sign_in(name, password)
    for _ in range(accounts.throttle.attempts - 1):
        with pytest.raises(SignInRefused):
            accounts.sign_in("alice", "another wrong guess")
    with pytest.raises(SignInThrottled) as throttled:
        accounts.sign_in("alice", ALICE_PASSWORD)

    sign_ins = [(actor, action, details) for actor, action, _, details in trail_of(accounts)
                if action.startswith("sign_in")]
    wrong = ("alice", "sign_in.failure", {"reason": "wrong password"})
    assert sign_ins == [
        ("alice", "sign_in.success", {}),
        wrong,
        ("zed", "sign_in.failure", {"reason": "no such account"}),
        ("bob", "sign_in.failure", {"reason": "no password"}),
        *[wrong] * (accounts.throttle.attempts - 1),
        ("alice", "sign_in.throttled", {"retry_after": throttled.value.retry_after}),
    ]
    assert accounts.audit.verify().intact


def test_a_sign_in_with_what_cannot_be_a_name_is_recorded_without_it(accounts):
    """People type passwords into the name field: that text is not kept."""
    with pytest.raises(SignInRefused):
        accounts.sign_in("my secret passphrase", "whatever")

    assert trail_of(accounts) == [("", "sign_in.failure", "", {"reason": "not a user name"})]
