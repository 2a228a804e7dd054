"""`enclave keys`: the accounts' API keys, for `enclave api`'s `Authorization: Bearer`. Opens only the database (no
embedding model, no store), as `enclave users` does."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ui.commands.terminal import cli_user, stderr
from ui.commands.users import run


@click.group("keys")
def keys() -> None:
    """Manage API keys: each belongs to an account and acts as it (its role and groups as they are at each call).

    A key is shown once, when it is made; only its SHA-256 is stored. Revoking a key, or removing its account, stops
    it at once. Making and revoking keys are recorded in the audit trail under your login (`enclave audit --action
    key`).

    Exit codes: 0 done; 1 refused (no such account or key id); 2 the database is unreachable or a setting is wrong.
    """


@keys.command("create")
@click.argument("user")
def create(user: str) -> None:
    """Make a new API key for the account USER. The key is printed on the last line of standard output, and only
    there: store it now (it cannot be shown again).

    \b
    Example:  KEY=$(enclave keys create alice | tail -n 1)
    """
    made = run(lambda accounts: accounts.keys.create(user, by=cli_user().name))
    stderr.print(f"created the API key {made.key.id} ({made.key.prefix}…) for {made.key.user}; it is shown once, on "
                 "the next line: `enclave keys revoke "
                 f"{made.key.id}` stops it", highlight=False)
    click.echo(made.secret)


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke the API key KEY_ID (as `enclave keys list` shows it): it is refused from its next call on."""
    revoked = run(lambda accounts: accounts.keys.revoke(key_id, by=cli_user().name))
    click.echo(f"revoked {revoked.id} ({revoked.prefix}…) of {revoked.user} at {_when(revoked.revoked_at)}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"id", "prefix", "user", "created", "last_used", "revoked"}] (never a key or its hash).')
@click.option("--user", "user", metavar="NAME", default=None, help="Only this account's keys.")
def list_keys(as_json: bool, user: str | None) -> None:
    """List the API keys, revoked ones too: id, the key's first characters, account, when it was made, last used (to
    the minute) and revoked (UTC)."""
    listed = run(lambda accounts: accounts.keys.list_keys(user))
    if as_json:
        click.echo(json.dumps([key.to_json() for key in listed], ensure_ascii=False, indent=2))
        return
    rows = [("ID", "PREFIX", "CREATED (UTC)", "LAST USED", "REVOKED", "USER")] + [
        (key.id, key.prefix + "…", _when(key.created_at), _when(key.last_used_at), _when(key.revoked_at), key.user)
        for key in listed
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])
    active = sum(key.active for key in listed)
    click.echo(f"{len(listed)} keys, {active} active")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")
