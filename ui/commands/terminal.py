"""What every `enclave` command shares: exit codes, one-line errors on stderr, the Enclave opened with start-up
problems turned into such a line, and who is running the command."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from ingest import IngestError

if TYPE_CHECKING:
    from assistant import Enclave, User

# Exit codes are part of the public contract: scripts rely on them.
EXIT_OK = 0
EXIT_FAILED_FILES = 1
EXIT_REFUSED = 1  # refused as asked: the account exists or not (`enclave users`, `--as`), a weak password, the last admin
EXIT_UNAVAILABLE = 2

stderr = Console(stderr=True, soft_wrap=True)  # one error, one line: scripts read it

# `search`, `ask` and `documents` see what one account may see: an admin checks what a member gets.
act_as = click.option("--as", "as_name", metavar="USER", default=None,
                      help="Act as this account (its groups and role); default: you, as an admin.")


def fail(message: str, code: int = EXIT_UNAVAILABLE) -> NoReturn:
    # Escaped: a message quotes paths and settings, and "[auth]" or "[draft].pdf" is text, not rich's markup.
    stderr.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    sys.exit(code)


@contextmanager
def opened_enclave(*, read_only: bool, warm_parsers: bool = False, use_queue: bool = True) -> Iterator[Enclave]:
    """Load settings and open the store and models, turning start-up problems into one clear line.
    read_only: a command that changes no document (no parse workers, no repair).
    warm_parsers: start the parse workers while the models load (commands that ingest).
    use_queue: False for `enclave worker`, which ingests what the queue holds (see `open_enclave`)."""
    from assistant import AssistantError, load_assistant_settings, open_enclave
    from ingest import load_settings

    try:
        ingest_settings = load_settings()
        assistant_settings = load_assistant_settings()
        with stderr.status("loading the embedding model and the document store…"):
            enclave = open_enclave(ingest_settings, assistant_settings, read_only=read_only,
                                   warm_parsers=warm_parsers, use_queue=use_queue)
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    try:
        yield enclave
    finally:
        enclave.close()


def cli_user() -> User:
    """Whoever runs the command line: an admin, named by their login (they can read the data folder anyway)."""
    import getpass

    from assistant import User

    return User(name=getpass.getuser(), groups=("everyone",), is_admin=True)


def acting_user(enclave: Enclave, name: str | None) -> User:
    """Who a command acts as: `--as NAME`, that account as it is now (its role and groups, so it sees exactly what it
    would see in the app), or, without it, whoever runs the command (`cli_user`). No such account: exit 1. The audit
    trail records what is done as the account under whoever runs the command."""
    if name is None:
        return cli_user()
    from dataclasses import replace

    from assistant import AccountError

    try:
        return replace(enclave.accounts.get(name).user(), impersonated_by=cli_user().name)
    except AccountError as exc:
        fail(str(exc), EXIT_REFUSED)
