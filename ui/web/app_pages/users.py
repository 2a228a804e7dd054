"""Users (admins only): the accounts that may sign in; add one, change an account's role, groups or password, make
and revoke its API keys, remove one. The accounts decide what is allowed, as for `enclave users` and `enclave keys`:
a refusal is shown as it is said there."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import streamlit as st

from assistant import Account, AccountError, ApiKey, AssistantError
from ui.web.identity import current_user, require_admin
from ui.web.session import get_enclave, sentence
from ui.web.uploads import parse_groups

# This page's st.session_state keys (passwords are emptied as soon as they are read: they are never kept):
NOTICE_KEY = "users.notice"  # (kind, message) to show once after a change or a refusal
CONFIRM_KEY = "users.confirm_remove"  # the name waiting for "Remove for good", or absent
SELECTED_KEY = "users.selected"
ADD_NAME, ADD_ROLE, ADD_GROUPS = "users.add.name", "users.add.role", "users.add.groups"
ADD_PASSWORD, ADD_AGAIN = "users.add.password", "users.add.password-again"
NEW_PASSWORD, NEW_AGAIN = "users.set.password", "users.set.password-again"
NEW_KEY = "users.new_key"  # (account, key) just made: shown on the next run, then dropped (it is not kept anywhere)
REVOKED_KEY = "users.revoke_key"  # the key id chosen to revoke

ROLE_HELP = ("admin: manages accounts and documents, sees every document. member: asks questions of the documents "
             "shared with its groups.")
GROUPS_HELP = ("Comma-separated, as given to `enclave ingest --group`. Every account is in `everyone` too, which holds "
               "the documents added without a group.")


def change(name: str, work: Callable[[], str]) -> None:
    """Do one change to the account `name`; its outcome is shown once, above the list."""
    try:
        st.session_state[NOTICE_KEY] = ("success", work())
    except AccountError as exc:  # refused as asked: a name taken or unknown, a weak password, the last admin
        st.session_state[NOTICE_KEY] = ("error", sentence(str(exc), name))
    except AssistantError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"The accounts cannot be changed right now: {exc}")


def take_passwords(first_key: str, again_key: str) -> tuple[str, str]:
    first, again = st.session_state.get(first_key, ""), st.session_state.get(again_key, "")
    st.session_state[first_key] = st.session_state[again_key] = ""
    return first, again


def add_clicked() -> None:
    name = st.session_state.get(ADD_NAME, "").strip()
    password, again = take_passwords(ADD_PASSWORD, ADD_AGAIN)
    if password != again:
        st.session_state[NOTICE_KEY] = ("error", "The two passwords differ: type the same one twice.")
        return

    def add() -> str:
        account = get_enclave().accounts.add_user(name, st.session_state.get(ADD_ROLE, "member"),
                                                  parse_groups(st.session_state.get(ADD_GROUPS, "")),
                                                  password or None, by=current_user().name)
        st.session_state[ADD_NAME] = st.session_state[ADD_GROUPS] = ""
        return f"Added {describe(account)}."

    change(name, add)


def set_groups_clicked(name: str, key: str) -> None:
    def set_groups() -> str:
        account = get_enclave().accounts.set_groups(name, parse_groups(st.session_state.get(key, "")),
                                                    by=current_user().name)
        return f"{account.name} is in {', '.join(account.groups)}."

    change(name, set_groups)


def set_role_clicked(name: str, key: str) -> None:
    def set_role() -> str:
        account = get_enclave().accounts.set_role(name, st.session_state.get(key, "member"), by=current_user().name)
        return (f"{account.name} is {'an admin' if account.is_admin else 'a member'} from their next click on "
                "(nobody is signed out).")

    change(name, set_role)


def set_password_clicked(name: str) -> None:
    password, again = take_passwords(NEW_PASSWORD, NEW_AGAIN)
    if password != again:
        st.session_state[NOTICE_KEY] = ("error", "The two passwords differ: type the same one twice.")
        return

    def set_password() -> str:
        get_enclave().accounts.set_password(name, password, by=current_user().name)
        return f"Set the password of {name}; its sessions ended."

    change(name, set_password)


def remove_clicked(name: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)

    def remove() -> str:
        get_enclave().accounts.remove_user(name, by=current_user().name)
        st.session_state.pop(SELECTED_KEY, None)
        return f"Removed {name}; its sessions ended."

    change(name, remove)


def make_key_clicked(name: str) -> None:
    def make_key() -> str:
        made = get_enclave().accounts.keys.create(name, by=current_user().name)
        st.session_state[NEW_KEY] = (name, made.secret)
        return f"Made the API key {made.key.id} for {name}: copy it now, it is shown this once."

    change(name, make_key)


def revoke_key_clicked(name: str) -> None:
    key_id = str(st.session_state.get(REVOKED_KEY, ""))

    def revoke_key() -> str:
        key = get_enclave().accounts.keys.revoke(key_id, by=current_user().name)
        return f"Revoked the API key {key.id} of {name}: it is refused from its next call."

    change(name, revoke_key)


def ask_to_remove(name: str) -> None:
    st.session_state[CONFIRM_KEY] = name


def keep() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def describe(account: Account) -> str:
    password = "with a password" if account.has_password else "without a password (it cannot sign in until one is set)"
    return f"{account.name}, {account.role}, in {', '.join(account.groups)}, {password}"


def show_accounts(listing: list[Account]) -> None:
    st.subheader(f"Accounts ({len(listing)})")
    st.dataframe(
        [{"Name": a.name, "Role": a.role, "Groups": ", ".join(a.groups), "Password": "yes" if a.has_password else "no",
          "Created (UTC)": a.created_at.strftime("%Y-%m-%d %H:%M")} for a in listing],
        hide_index=True, width="stretch",
    )


def show_add_form() -> None:
    st.subheader("Add an account")
    with st.form("add-user"):
        name, role = st.columns([3, 1])
        name.text_input("Name", key=ADD_NAME, help="A login name or an e-mail address.")
        role.selectbox("Role", ["member", "admin"], key=ADD_ROLE, help=ROLE_HELP)
        st.text_input("Groups", key=ADD_GROUPS, help=GROUPS_HELP)
        first, again = st.columns(2)
        first.text_input("Password", key=ADD_PASSWORD, type="password", autocomplete="new-password",
                         help="At least 8 characters, not the name. Empty: the account cannot sign in until one is set.")
        again.text_input("Password again", key=ADD_AGAIN, type="password", autocomplete="new-password")
        st.form_submit_button("Add", key="add-user-submit", type="primary", icon=":material/person_add:",
                              on_click=add_clicked)


def show_change_forms(account: Account, me: str) -> None:
    yourself = account.name == me
    groups_key = f"users.set.groups.{account.name}"  # one per account: it starts from that account's groups
    with st.form("set-groups"):
        st.text_input("Groups", value=", ".join(g for g in account.groups if g != "everyone"), key=groups_key,
                      help=GROUPS_HELP + " Empty: `everyone` alone. Open sessions get the new groups at their next "
                      "click.")
        st.form_submit_button("Set groups", key="set-groups-submit", on_click=set_groups_clicked,
                              args=(account.name, groups_key))
    role_key = f"users.set.role.{account.name}"  # one per account: it starts from that account's role
    with st.form("set-role"):
        st.selectbox("Role", ["member", "admin"], index=["member", "admin"].index(account.role), key=role_key,
                     help=ROLE_HELP + " Open sessions get the new role at their next click. The last admin cannot "
                     "become a member.")
        if yourself and account.is_admin:
            st.caption("Made a member, you lose this page at your next click.")
        st.form_submit_button("Set role", key="set-role-submit", on_click=set_role_clicked,
                              args=(account.name, role_key))
    with st.form("set-password"):
        first, again = st.columns(2)
        first.text_input("New password", key=NEW_PASSWORD, type="password", autocomplete="new-password")
        again.text_input("New password again", key=NEW_AGAIN, type="password", autocomplete="new-password")
        st.caption("Its open sessions end" + (": you will sign in again with the new one." if yourself else "."))
        st.form_submit_button("Set password", key="set-password-submit", on_click=set_password_clicked,
                              args=(account.name,))
    show_keys(account)
    if st.session_state.get(CONFIRM_KEY) != account.name:
        st.button(f"Remove {account.name}", key="remove-user", icon=":material/person_remove:",
                  on_click=ask_to_remove, args=(account.name,))
        return
    with st.container(border=True):
        st.warning(f"Remove the account {account.name}? Its sessions end at once"
                   + (", yours included: you will be signed out." if yourself else "."))
        yes, no = st.columns(2)
        yes.button("Remove for good", key="confirm-remove", type="primary", on_click=remove_clicked,
                   args=(account.name,))
        no.button("Keep it", key="cancel-remove", on_click=keep)


def show_keys(account: Account) -> None:
    """The account's API keys (for the REST API, as `enclave keys` lists them): make one, shown once; revoke one."""
    st.markdown("**API keys**")
    new = st.session_state.pop(NEW_KEY, None)
    if new is not None and new[0] == account.name:
        st.code(new[1], language=None)
        st.caption(f"The new key of {account.name}, shown this once: only a hash of it is kept. Hand it over "
                   "securely; it is sent as `Authorization: Bearer KEY` and acts as the account.")
    try:
        keys = get_enclave().accounts.keys.list_keys(account.name)
    except AssistantError as exc:
        st.error(f"The API keys cannot be read right now: {exc}", icon=":material/error:")
        return
    if keys:
        st.dataframe([key_row(k) for k in keys], hide_index=True, width="stretch")
    st.button("Make an API key", key="make-key", icon=":material/key:", on_click=make_key_clicked,
              args=(account.name,))
    active = {k.id: k for k in keys if k.active}
    if active:
        with st.form("revoke-key"):
            st.selectbox("Key", list(active), key=REVOKED_KEY, format_func=lambda i: f"{i} ({active[i].prefix}…)")
            st.form_submit_button("Revoke", key="revoke-key-submit", on_click=revoke_key_clicked,
                                  args=(account.name,))


def key_row(key: ApiKey) -> dict[str, str]:
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")

    return {"Id": key.id, "Key": f"{key.prefix}…", "Created (UTC)": when(key.created_at),
            "Last used (UTC)": when(key.last_used_at) or "never", "Revoked (UTC)": when(key.revoked_at)}


require_admin("manage accounts")
st.title("Users")
if notice := st.session_state.pop(NOTICE_KEY, None):
    kind, message = notice
    (st.error if kind == "error" else st.success)(message)
try:
    accounts = get_enclave().accounts.list_users()
except AssistantError as exc:
    st.error(f"The accounts cannot be read right now: {exc}", icon=":material/error:")
    st.stop()
show_accounts(accounts)
show_add_form()
st.subheader("Change an account")
by_name = {a.name: a for a in accounts}
if st.session_state.get(SELECTED_KEY) not in by_name:
    st.session_state.pop(SELECTED_KEY, None)
selected = st.selectbox("Account", list(by_name), key=SELECTED_KEY)
if selected is not None:
    show_change_forms(by_name[selected], current_user().name)
