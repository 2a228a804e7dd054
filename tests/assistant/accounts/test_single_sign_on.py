"""Signing in through an identity provider (SQLite and PostgreSQL): the first sign-in creates the account, later ones
bring its groups and role up to date, an account with a password is left as its admins set it, an admin's removal
holds, and every outcome is in the audit trail."""

from __future__ import annotations

import pytest

from assistant import Accounts, SingleSignOnRefused, User, load_assistant_settings, open_accounts
from assistant.accounts import Passwords

ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_GROUP = "enclave-admins"


def claims(name: str, *groups: str) -> dict:
    return {"iss": "http://127.0.0.1:9", "sub": f"sub-{name}", "preferred_username": name, "groups": list(groups)}


def trail_of(accounts) -> list[tuple[str, str, str, dict]]:
    return [(r.actor, r.action, r.target, r.details) for r in accounts.audit.records()]


@pytest.fixture
def sso_accounts(database_settings, clock, hasher):
    """Accounts whose identity provider makes the members of ADMIN_GROUP admins, with a first admin, root."""
    settings = load_assistant_settings(oidc_admin_group=ADMIN_GROUP, _env_file=None)
    accounts = open_accounts(database_settings, settings, clock=clock, passwords=Passwords(hasher))
    accounts.create_first_admin("root", ADMIN_PASSWORD)
    yield accounts
    accounts.close()


def test_the_first_sign_in_creates_a_member_without_a_password_in_the_claimed_groups(sso_accounts):
    user = sso_accounts.sign_in_with_sso(claims("ana", "finance", "staff"))

    assert user == User("ana", ("everyone", "finance", "staff"), is_admin=False)
    account = sso_accounts.get("ana")
    assert (account.role, account.has_password) == ("member", False)
    assert trail_of(sso_accounts)[1:] == [
        ("ana", "user.add", "ana", {"role": "member", "groups": ["everyone", "finance", "staff"],
                                    "has_password": False, "method": "sso"}),
        ("ana", "sign_in.success", "", {"method": "sso"}),
    ]


def test_a_member_of_the_admin_group_is_created_an_admin(sso_accounts):
    assert sso_accounts.sign_in_with_sso(claims("olga", ADMIN_GROUP)).is_admin
    assert sso_accounts.get("olga").role == "admin"


def test_later_sign_ins_take_the_groups_and_role_the_provider_gives_now(sso_accounts):
    sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    sso_accounts.sign_in_with_sso(claims("ana", "hr", ADMIN_GROUP))

    assert sso_accounts.get("ana").user() == User("ana", ("everyone", ADMIN_GROUP, "hr"), is_admin=True)
    assert [(action, details.get("before")) for _, action, _, details in trail_of(sso_accounts)[3:]] == [
        ("user.set_groups", ["everyone", "finance"]),
        ("user.set_role", "member"),
        ("sign_in.success", None),
    ]

    sso_accounts.sign_in_with_sso(claims("ana", "hr"))
    assert not sso_accounts.get("ana").is_admin


def test_a_sign_in_that_changes_nothing_records_only_the_sign_in(sso_accounts):
    sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    before = len(trail_of(sso_accounts))
    sso_accounts.sign_in_with_sso(claims("ana", "finance"))

    assert [action for _, action, _, _ in trail_of(sso_accounts)[before:]] == ["sign_in.success"]


def test_an_account_with_a_password_signs_in_as_its_admins_set_it(sso_accounts):
    """The first admin, or a local account kept for when the provider is down: the provider does not demote it."""
    user = sso_accounts.sign_in_with_sso(claims("root", "finance"))

    assert user == User("root", ("everyone",), is_admin=True)
    assert trail_of(sso_accounts)[-1] == ("root", "sign_in.success", "", {"method": "sso"})


def test_the_provider_demotes_an_admin_but_never_the_last_one(sso_accounts):
    sso_accounts.sign_in_with_sso(claims("olga", ADMIN_GROUP))
    sso_accounts.sign_in_with_sso(claims("olga"))  # root is an admin still
    assert sso_accounts.get("olga").role == "member"

    sso_accounts.sign_in_with_sso(claims("olga", ADMIN_GROUP))
    sso_accounts.remove_user("root", by="olga")
    assert sso_accounts.sign_in_with_sso(claims("olga")).is_admin  # the last admin: nobody could manage accounts


def test_an_account_an_admin_added_without_a_password_is_the_providers_to_describe(sso_accounts):
    sso_accounts.add_user("bob", "member", ["legal"], by="root")

    assert sso_accounts.sign_in_with_sso(claims("bob", "finance")).groups == ("everyone", "finance")


def test_without_an_admin_group_the_provider_leaves_roles_alone(database_settings, clock, hasher):
    accounts = open_accounts(database_settings, load_assistant_settings(_env_file=None), clock=clock,
                             passwords=Passwords(hasher))
    try:
        accounts.create_first_admin("root", ADMIN_PASSWORD)
        accounts.add_user("bob", "admin", by="root")

        assert accounts.sign_in_with_sso(claims("bob")).is_admin
        assert not accounts.sign_in_with_sso(claims("ana", ADMIN_GROUP)).is_admin
    finally:
        accounts.close()


def test_a_removed_account_is_signed_out_at_once_and_not_created_again(sso_accounts):
    user = sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    token = sso_accounts.start_session(user)
    sso_accounts.remove_user("ana", by="root")

    assert sso_accounts.user_for_session(token) is None
    with pytest.raises(SingleSignOnRefused, match="an admin removed the account ana.*enclave users add ana"):
        sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    assert "ana" not in [a.name for a in sso_accounts.list_users()]
    actor, action, _, details = trail_of(sso_accounts)[-1]
    assert (actor, action, details["method"]) == ("ana", "sign_in.failure", "sso")
    assert "removed" in details["reason"]


def test_a_removal_holds_after_the_audit_trail_has_let_its_record_go(sso_accounts, clock):
    sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    sso_accounts.remove_user("ana", by="root")
    clock.advance(days=sso_accounts.audit.retention.days + 1)
    sso_accounts.audit.prune()
    assert not sso_accounts.audit.records(target="ana")  # the trail no longer says she was removed

    with pytest.raises(SingleSignOnRefused, match="an admin removed the account ana"):
        sso_accounts.sign_in_with_sso(claims("ana", "finance"))


def test_an_account_added_again_by_an_admin_signs_in_through_the_provider(sso_accounts):
    sso_accounts.sign_in_with_sso(claims("ana", "finance"))
    sso_accounts.remove_user("ana", by="root")
    sso_accounts.add_user("ana", by="root")

    assert sso_accounts.sign_in_with_sso(claims("ana", "hr")).groups == ("everyone", "hr")


def test_while_there_is_no_admin_only_a_member_of_the_admin_group_is_created(database_settings, clock, hasher):
    settings = load_assistant_settings(oidc_admin_group=ADMIN_GROUP, _env_file=None)
    accounts = open_accounts(database_settings, settings, clock=clock, passwords=Passwords(hasher))
    try:
        with pytest.raises(SingleSignOnRefused, match="no admin yet.*create-admin"):
            accounts.sign_in_with_sso(claims("ana", "finance"))
        assert accounts.list_users() == []

        assert accounts.sign_in_with_sso(claims("olga", ADMIN_GROUP)).is_admin
    finally:
        accounts.close()


def test_claims_that_name_no_account_are_refused_and_recorded(sso_accounts: Accounts):
    with pytest.raises(SingleSignOnRefused, match="cannot be an account name"):
        sso_accounts.sign_in_with_sso({"sub": "x", "preferred_username": "Ana Lopez"})
    with pytest.raises(SingleSignOnRefused, match="not a list of group names"):
        sso_accounts.sign_in_with_sso({"sub": "y", "preferred_username": "ana", "groups": [1]})

    failures = [(actor, details["method"]) for actor, action, _, details in trail_of(sso_accounts)
                if action == "sign_in.failure"]
    assert failures == [("", "sso"), ("ana", "sso")]
    assert [a.name for a in sso_accounts.list_users()] == ["root"]


def test_groups_enclave_cannot_hold_are_left_out_and_named_in_the_sign_in_record(sso_accounts):
    assert sso_accounts.sign_in_with_sso(claims("ana", "finance", " padded")).groups == ("everyone", "finance")
    assert trail_of(sso_accounts)[-1][3] == {"method": "sso", "ignored_groups": [" padded"]}
