"""`enclave conversations` (each account's saved conversations: list, show, rename, delete) and `enclave feedback`
(the ratings given on answers, for admins). Listing and changing open only the database (no model, no store); `show`
opens the store too, to withhold passages the account may no longer see. `enclave ask --conversation ID` continues
one (ui/commands/cli.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, TypeVar

import click

from ingest import IngestError
from ui.commands.terminal import EXIT_REFUSED, acting_user, cli_user, fail, opened_enclave

if TYPE_CHECKING:
    from assistant import Conversation, Conversations, User

T = TypeVar("T")

act_as = click.option("--as", "as_name", metavar="USER", default=None,
                      help="The conversations of this account (an admin acting as it); default: your own, as your "
                           "login.")


@click.group("conversations", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"id", "title", "created", "updated", "turns"}], the one continued last first.')
@act_as
@click.pass_context
def conversations(context: click.Context, as_json: bool, as_name: str | None) -> None:
    """List your saved conversations (with --as, that account's), the one continued last first: id, when it last
    went on (UTC), how many questions, title. `enclave ask --conversation ID "..."` continues one with its history.

    Conversations go ENCLAVE_CONVERSATION_RETENTION_DAYS after their last question (365; 0 keeps them).
    Exit codes: 0 done; 1 refused (no conversation of yours has this id, an empty title, an unknown --as account);
    2 the database is unreachable or a setting is wrong.
    """
    if context.invoked_subcommand is not None:
        if as_json or as_name is not None:
            raise click.UsageError("--json and --as here are for the listing: give them after the subcommand")
        return
    listing = run(as_name, lambda store, user: store.list_for(user))
    if as_json:
        click.echo(json.dumps([c.to_json() for c in listing], ensure_ascii=False, indent=2))
        return
    for c in listing:
        click.echo(f"{c.id}  {c.updated_at.strftime('%Y-%m-%d %H:%M')}  {c.turns:>3} questions  {c.title}")
    click.echo(f"{len(listing)} conversations")


@conversations.command("show")
@click.argument("conversation_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the conversation and each answer as `ask --json` does.")
@act_as
def show(conversation_id: str, as_json: bool, as_name: str | None) -> None:
    """Print conversation ID: each question, its answer and the answer's sources."""
    from assistant import AssistantError, ConversationError

    with opened_enclave(read_only=True) as enclave:
        try:
            conversation = enclave.open_conversation(acting_user(enclave, as_name), conversation_id)
        except ConversationError as exc:
            fail(str(exc), EXIT_REFUSED)
        except AssistantError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps(conversation.to_json(), ensure_ascii=False, indent=2))
        return
    print_conversation(conversation)


def print_conversation(conversation: Conversation) -> None:
    click.echo(f"{conversation.summary.title}  ({conversation.id})")
    for turn in conversation.turns:
        click.echo(f"\n[{turn.n}] {turn.asked_at.strftime('%Y-%m-%d %H:%M')}  {turn.question}\n")
        click.echo(turn.answer.text or "(no answer: it was stopped before any text)")
        for c in turn.answer.citations:
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(f"  [{c.n}] {c.document}{page}")


@conversations.command("rename")
@click.argument("conversation_id", metavar="ID")
@click.argument("title")
@act_as
def rename(conversation_id: str, title: str, as_name: str | None) -> None:
    """Give conversation ID a new TITLE."""
    renamed = run(as_name, lambda store, user: store.rename(user, conversation_id, title))
    click.echo(f"renamed {renamed.id}: {renamed.title}")


@conversations.command("delete")
@click.argument("conversation_id", metavar="ID")
@act_as
def delete(conversation_id: str, as_name: str | None) -> None:
    """Delete conversation ID for good. Feedback given on its answers stays with the admins until the retention."""
    run(as_name, lambda store, user: store.delete(user, conversation_id))
    click.echo(f"deleted {conversation_id}")


@click.command("feedback")
@click.option("--json", "as_json", is_flag=True, help="Print the ratings as a JSON list.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the ratings as CSV, for a spreadsheet.")
@act_as
def feedback(as_json: bool, as_csv: bool, as_name: str | None) -> None:
    """The thumbs up and down people gave answers in the app, the newest first, each with its comment and a copy of
    the question, the answer, its cited chunk ids and the model. For admins: refused (exit 1) with --as a member.
    Kept ENCLAVE_CONVERSATION_RETENTION_DAYS (365; 0 keeps them)."""
    from assistant import feedback_csv

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    ratings = run(as_name, lambda store, user: store.list_feedback(user))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in ratings], ensure_ascii=False, indent=2))
    elif as_csv:
        click.echo(feedback_csv(ratings), nl=False)
    else:
        for r in ratings:
            about = f"{r.conversation_id or '(deleted)'}#{r.turn or '-'}"
            comment = f"  “{r.comment}”" if r.comment else ""
            click.echo(f"{r.given_at.strftime('%Y-%m-%d %H:%M')}  {r.rating:<4}  {r.user}  {about}  "
                       f"{' '.join(r.question.split())[:80]}{comment}")
        click.echo(f"{len(ratings)} ratings: {sum(r.rating == 'up' for r in ratings)} up, "
                   f"{sum(r.rating == 'down' for r in ratings)} down")


def run(as_name: str | None, work: Callable[[Conversations, User], T]) -> T:
    """Open the conversations (the database only) and do the work as `--as` or whoever runs the command. A refusal
    (no such conversation of theirs, a bad title, a member reading feedback, an unknown account) exits 1; a bad
    setting or a database that cannot be opened or fails midway exits 2."""
    from assistant import (
        AccountError,
        Accounts,
        AssistantError,
        ConversationError,
        NotAllowed,
        load_assistant_settings,
        open_conversations,
    )
    from ingest import load_settings

    try:
        settings = load_assistant_settings()
        store = open_conversations(load_settings(), settings)
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    try:
        user = cli_user()
        if as_name is not None:
            account = Accounts(store.database, settings, audit=store.audit).get(as_name)
            user = replace(account.user(), impersonated_by=user.name)
        return work(store, user)
    except (AccountError, ConversationError, NotAllowed) as exc:
        fail(str(exc), EXIT_REFUSED)
    except AssistantError as exc:
        fail(str(exc))
    finally:
        store.close()
