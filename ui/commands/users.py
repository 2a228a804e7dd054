"""`enclave users`: the accounts that may sign in, their role, groups and password. Opens only the database (no
embedding model, no store), so each command takes a moment."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Callable, TypeVar

import click

from ingest import IngestError
from ui.commands.terminal import EXIT_REFUSED, cli_user, fail

if TYPE_CHECKING:
    from assistant import Account, Accounts

T = TypeVar("T")

PASSWORD_STDIN_HELP = ("Read the password from stdin: one line, its line break dropped (piped, or typed without echo "
                       "at a terminal). Never from the command line or the environment, where others can read it.")


def password_stdin_option(extra_help: str = "") -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--password-stdin", "password_stdin", is_flag=True, help=PASSWORD_STDIN_HELP + extra_help)


@click.group("users")
def users() -> None:
    """Manage the accounts that may sign in: admins (manage accounts and documents, see every document) and members
    (ask questions of the documents shared with their groups).

    Every account is in the group `everyone`, which holds the documents ingested without --group. Accounts live in
    the database: ENCLAVE_DATABASE_URL, or the SQLite file under ENCLAVE_DATA_DIR. Each change is recorded in the
    audit trail under your login (`enclave audit`).

    Exit codes: 0 done; 1 refused (the account exists or does not, a weak password, the last admin removed or made a
    member); 2 the database is unreachable or a setting is wrong.
    """


@users.command("create-admin")
@click.argument("name")
@password_stdin_option()
def create_admin(name: str, password_stdin: bool) -> None:
    """Create the first account, NAME, an admin. Refused once any account exists: then an admin adds the others with
    `enclave users add`.

    \b
    Example:  printf '%s\\n' "$ADMIN_PASSWORD" | enclave users create-admin root --password-stdin
    """
    password = required_password(password_stdin, "the first admin needs a password")
    account = run(lambda accounts: accounts.create_first_admin(name, password, by=cli_user().name))
    click.echo(f"created {account.name}, admin")


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["member", "admin"]), default="member", show_default=True,
              help="admin: manages accounts and documents and sees every document. member: sees the documents "
                   "shared with its groups.")
@click.option("--group", "groups", multiple=True, metavar="G",
              help="A group the account is in, as given to `enclave ingest --group` (repeatable). Every account is "
                   "in `everyone` too.")
@password_stdin_option(" Without it the account has no password: it signs in only through single sign-on until one "
                       "is set.")
def add(name: str, role: str, groups: tuple[str, ...], password_stdin: bool) -> None:
    """Add the account NAME (a login name or an e-mail address)."""
    password = read_password() if password_stdin else None
    account = run(lambda accounts: accounts.add_user(name, role, groups, password, by=cli_user().name))
    click.echo(f"added {describe(account)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"name", "role", "groups", "has_password", "created"}] (never a password hash).')
def list_users(as_json: bool) -> None:
    """List the accounts: name, role, groups, whether it has a password, when it was created."""
    accounts = run(lambda accounts: accounts.list_users())
    if as_json:
        click.echo(json.dumps([a.to_json() for a in accounts], ensure_ascii=False, indent=2))
        return
    rows = [("NAME", "ROLE", "PASSWORD", "CREATED (UTC)", "GROUPS")] + [
        (a.name, a.role, "yes" if a.has_password else "no", a.created_at.strftime("%Y-%m-%d %H:%M"),
         ", ".join(a.groups))
        for a in accounts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    click.echo(f"{len(accounts)} accounts")


@users.command("set-groups")
@click.argument("name")
@click.argument("groups", nargs=-1, required=True, metavar="G...")
def set_groups(name: str, groups: tuple[str, ...]) -> None:
    """Replace the groups of the account NAME with G... (`everyone` alone: no other group). Its open sessions see the
    change at their next request."""
    account = run(lambda accounts: accounts.set_groups(name, groups, by=cli_user().name))
    click.echo(f"{account.name} is in {', '.join(account.groups)}")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "member"]))
def set_role(name: str, role: str) -> None:
    """Make the account NAME an admin or a member. Its open sessions get the new role at their next request. The
    last admin cannot become a member."""
    account = run(lambda accounts: accounts.set_role(name, role, by=cli_user().name))
    click.echo(f"{account.name} is {'an admin' if account.is_admin else 'a member'}")


@users.command("set-password")
@click.argument("name")
@password_stdin_option()
def set_password(name: str, password_stdin: bool) -> None:
    """Set or replace the password of the account NAME. Its open sessions end: whoever knew the old password is
    signed out."""
    password = required_password(password_stdin, "set-password needs the password")
    account = run(lambda accounts: accounts.set_password(name, password, by=cli_user().name))
    click.echo(f"set the password of {account.name}; its sessions ended")


@users.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Delete the account NAME; its sessions end at once. The last admin cannot be removed."""
    run(lambda accounts: accounts.remove_user(name, by=cli_user().name))
    click.echo(f"removed {name}")


def required_password(password_stdin: bool, why: str) -> str:
    """The password from stdin, for a command that cannot do without one (a usage error, exit 2, without)."""
    if not password_stdin:
        raise click.UsageError(f"{why}: give --password-stdin and pipe it in")
    return read_password()


def read_password() -> str:
    """One line from stdin without its line break; at a terminal, typed twice without echo."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def describe(account: Account) -> str:
    password = "with a password" if account.has_password else "no password: single sign-on only until one is set"
    return f"{account.name}, {account.role}, in {', '.join(account.groups)}, {password}"


def run(work: Callable[[Accounts], T]) -> T:
    """Open the accounts (the database only: no model, no store) and do the work. A refusal exits 1 with its line;
    a bad setting or a database that cannot be opened or fails midway (AccountsUnavailable) exits 2."""
    from assistant import AccountError, AssistantError, load_assistant_settings, open_accounts
    from ingest import load_settings

    try:
        accounts = open_accounts(load_settings(), load_assistant_settings())
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    try:
        return work(accounts)
    except AccountError as exc:
        fail(str(exc), EXIT_REFUSED)
    except AssistantError as exc:
        fail(str(exc))
    finally:
        accounts.close()
