"""The Users page with AppTest, signed in as an admin on a real Enclave and its accounts: list, add, change a role,
groups or a password, remove; a refusal is shown as the accounts say it, as `enclave users` does."""

from __future__ import annotations

import pytest
from streamlit_apps import PASSWORD, admin, member, signed_in_app

USERS = "app_pages/users.py"
NEW_PASSWORD = "a new and longer passphrase"

pytestmark = pytest.mark.usefixtures("keep_main_module")


@pytest.fixture
def page(accounts):
    """The Users page, signed in as the admin root; mia is a member of hr."""
    admin(accounts, "root")
    member(accounts, "mia", ("hr",))
    at = signed_in_app(accounts, "root", page=USERS)
    assert at.title[0].value == "Users"
    return at


def run(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def add(at, name: str, role: str = "member", groups: str = "", password: str = "", again: str | None = None):
    at.text_input(key="users.add.name").input(name)
    at.selectbox(key="users.add.role").select(role)
    at.text_input(key="users.add.groups").input(groups)
    at.text_input(key="users.add.password").input(password)
    at.text_input(key="users.add.password-again").input(password if again is None else again)
    return run(at.button(key="add-user-submit").click().run())


def choose(at, name: str):
    return run(at.selectbox(key="users.selected").select(name).run())


def test_the_page_lists_every_account_with_its_role_groups_and_password(page):
    table = page.dataframe[0].value

    assert list(table["Name"]) == ["mia", "root"]
    assert list(table["Role"]) == ["member", "admin"]
    assert list(table["Groups"]) == ["everyone, hr", "everyone"]
    assert list(table["Password"]) == ["yes", "yes"]


def test_an_admin_adds_a_member_in_groups_who_can_then_sign_in(page, accounts):
    at = add(page, "bob", "member", "legal, hr", PASSWORD)

    assert at.success[0].value == "Added bob, member, in everyone, hr, legal, with a password."
    bob = accounts.get("bob")
    assert (bob.role, bob.groups) == ("member", ("everyone", "hr", "legal"))
    assert accounts.sign_in("bob", PASSWORD).name == "bob"
    assert "bob" in list(at.dataframe[0].value["Name"])


def test_an_account_added_without_a_password_cannot_sign_in_until_one_is_set(page, accounts):
    at = add(page, "carol", "admin")

    assert "without a password" in at.success[0].value
    assert accounts.get("carol").is_admin and not accounts.get("carol").has_password


def test_two_different_passwords_add_nothing(page, accounts):
    at = add(page, "bob", password=PASSWORD, again=PASSWORD + "!")

    assert at.error[0].value == "The two passwords differ: type the same one twice."
    assert [a.name for a in accounts.list_users()] == ["mia", "root"]


def test_a_refusal_is_shown_as_the_accounts_say_it(page):
    at = add(page, "mia", password=PASSWORD)

    assert at.error[0].value.startswith("An account named mia exists already")


def test_an_admin_replaces_an_accounts_groups(page, accounts):
    at = choose(page, "mia")
    at.text_input(key="users.set.groups.mia").input("legal")
    run(at.button(key="set-groups-submit").click().run())

    assert accounts.get("mia").groups == ("everyone", "legal")
    assert at.success[0].value == "mia is in everyone, legal."


def set_role(at, name: str, role: str):
    at = choose(at, name)
    at.selectbox(key=f"users.set.role.{name}").select(role)
    return run(at.button(key="set-role-submit").click().run())


def test_an_admin_makes_a_member_an_admin_who_gets_the_admin_pages_at_the_next_click(page, accounts):
    mias_tab = signed_in_app(accounts, "mia")
    assert not mias_tab.session_state["user"].is_admin

    at = set_role(page, "mia", "admin")

    assert at.success[0].value == "mia is an admin from their next click on (nobody is signed out)."
    assert accounts.get("mia").is_admin
    assert list(at.dataframe[0].value["Role"]) == ["admin", "admin"]
    mias_tab.run()  # her next click, in the same session: no new sign-in
    assert mias_tab.sidebar.caption[0].value == "Signed in as **mia** (admin)"
    assert mias_tab.switch_page(USERS).run().title[0].value == "Users"


def test_an_admin_made_a_member_loses_the_admin_pages_at_the_next_click(page, accounts):
    set_role(page, "mia", "admin")
    at = set_role(page, "root", "member")  # root demotes itself: mia is the admin left

    assert accounts.get("root").role == "member"
    assert at.title[0].value == "Ask your documents"  # this very click: the Users page is not root's any more


def test_the_last_admin_cannot_be_made_a_member(page, accounts):
    at = set_role(page, "root", "member")

    assert at.error[0].value.startswith("root is the last admin and cannot become a member")
    assert accounts.get("root").is_admin
    assert at.title[0].value == "Users"


def test_setting_a_password_ends_that_accounts_sessions(page, accounts):
    mias_session = accounts.start_session(accounts.get("mia").user())
    at = choose(page, "mia")
    at.text_input(key="users.set.password").input(NEW_PASSWORD)
    at.text_input(key="users.set.password-again").input(NEW_PASSWORD)
    run(at.button(key="set-password-submit").click().run())

    assert at.success[0].value == "Set the password of mia; its sessions ended."
    assert accounts.user_for_session(mias_session) is None
    assert accounts.sign_in("mia", NEW_PASSWORD).name == "mia"
    assert at.title[0].value == "Users"  # root's own session goes on


def test_removing_asks_first_then_removes_the_account(page, accounts):
    at = choose(page, "mia")
    run(at.button(key="remove-user").click().run())
    assert "Remove the account mia?" in at.warning[0].value
    run(at.button(key="confirm-remove").click().run())

    assert [a.name for a in accounts.list_users()] == ["root"]
    assert at.success[0].value == "Removed mia; its sessions ended."


def test_the_last_admin_cannot_be_removed(page, accounts):
    at = choose(page, "root")
    run(at.button(key="remove-user").click().run())
    assert "you will be signed out" in at.warning[0].value
    run(at.button(key="confirm-remove").click().run())

    assert at.error[0].value.startswith("root is the last admin and cannot be removed")
    assert accounts.get("root").is_admin
    assert at.title[0].value == "Users"


def test_an_admin_makes_an_api_key_for_an_account_sees_it_once_and_revokes_it(page, accounts):
    at = choose(page, "mia")
    at = run(at.button(key="make-key").click().run())

    [made] = accounts.keys.list_keys("mia")
    assert at.success[0].value == f"Made the API key {made.id} for mia: copy it now, it is shown this once."
    [shown] = [c.value for c in at.code]
    assert shown.startswith(made.prefix) and accounts.keys.holder(shown).user.name == "mia"  # the key itself, working
    table = at.dataframe[1].value
    assert list(table["Id"]) == [made.id] and list(table["Last used (UTC)"]) == ["never"]

    at = run(at.run())
    assert not at.code  # shown this once: gone at the next click

    at.selectbox(key="users.revoke_key").select(made.id)
    at = run(at.button(key="revoke-key-submit").click().run())
    assert at.success[0].value == f"Revoked the API key {made.id} of mia: it is refused from its next call."
    assert accounts.keys.holder(shown) is None
    assert [r.action for r in accounts.audit.records(action="key")] == ["key.create", "key.revoke"]
    assert "users.revoke_key" not in [box.key for box in at.selectbox]  # no key left to revoke
