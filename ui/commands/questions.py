"""`enclave search` and `enclave ask`: the passages for a query, and an answer checked against its sources, as one
account sees them; through the running app's API when it holds the store (ui/commands/remote.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ui.commands.remote import Remote, remotely, running_api
from ui.commands.terminal import EXIT_REFUSED, act_as, acting_user, fail, opened_enclave, stderr

if TYPE_CHECKING:
    from assistant import Answer


@click.command()
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="How many passages to show.")
@click.option("--method", type=click.Choice(["dense", "sparse", "hybrid"]), default=None,
              help="Retrieval method (default: ENCLAVE_SEARCH_METHOD, hybrid).")
@click.option("--translate", is_flag=True,
              help="Also search the library's other languages, with QUERY translated by the configured LLM.")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
@act_as
def search(query: str, k: int, method: str | None, translate: bool, as_json: bool, as_name: str | None) -> None:
    """Retrieval only: the top passages for QUERY (no LLM, unless --translate)."""
    from assistant import AssistantError

    if (remote := running_api()) is not None:
        print_passages(remotely(lambda: remote.search(query, k, method, as_name, translate)), as_json)
        return
    with opened_enclave(read_only=True) as enclave:
        try:
            passages = enclave.assistant.search(query, acting_user(enclave, as_name), k=k, method=method,
                                                translate=translate)
        except AssistantError as exc:
            fail(str(exc))
    print_passages([p.to_json() for p in passages], as_json)


def print_passages(rows: list[dict], as_json: bool) -> None:
    """Passages as JSON (document, page, chunk_id, score, text), or numbered with the start of their text."""
    if as_json:
        click.echo(json.dumps([{k: v for k, v in row.items() if k != "n"} for row in rows], ensure_ascii=False,
                              indent=2))
        return
    if not rows:
        click.echo("No matching passages.")
    for row in rows:
        page = f", page {row['page']}" if row["page"] is not None else ""
        click.echo(f"{row['n']}. {row['document']}{page}  (score {row['score']:.4f})")
        text = " ".join(row["text"].split())
        click.echo(f"   {text[:400]}{'…' if len(text) > 400 else ''}\n")


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True,
              help="Print {answer, citations, sentences, also_retrieved, not_found, ..., conversation, turn} as JSON.")
@click.option("--conversation", "conversation_id", metavar="ID", default=None,
              help="Continue this saved conversation: a follow-up reads its earlier questions and answers.")
@act_as
def ask(question: str, as_json: bool, conversation_id: str | None, as_name: str | None) -> None:
    """Answer QUESTION from the stored documents, with numbered sources.

    The answer streams as the model writes it, then is checked against its sources: citations are corrected,
    a sentence no source supports is listed as unsupported, and "not found" is said plainly.

    The question and its answer are kept as a conversation of yours (with --as, of that account): a new one, whose
    id is printed on stderr, or the one --conversation names (exit 1 if no conversation of yours has that id).
    `enclave conversations` lists them.
    """
    from assistant import AssistantError, ConversationError

    if (remote := running_api()) is not None:
        ask_through(remote, question, as_json, conversation_id, as_name)
        return
    with opened_enclave(read_only=True) as enclave:
        try:
            user = acting_user(enclave, as_name)
            history = [] if conversation_id is None else enclave.open_conversation(user, conversation_id).history
        except ConversationError as exc:
            fail(str(exc), EXIT_REFUSED)
        except AssistantError as exc:
            fail(str(exc))
        try:
            stream = enclave.assistant.ask(question, user, history=history)
            if as_json:
                answer = stream.read()
            else:
                for text in stream:
                    click.echo(text, nl=False)
                click.echo()
                answer = stream.read()  # the stream has ended: the checked answer
        except AssistantError as exc:
            if not as_json:
                click.echo()
            fail(str(exc))
        kept, kept_error = None, ""
        try:
            turn = enclave.keep_turn(user, conversation_id, question, answer)
            kept = (turn.conversation_id, turn.n)
        except AssistantError as exc:  # answered, but not kept: said after the answer (exit 2)
            kept_error = str(exc)
    print_answer(answer, stream.partial_text, as_json, kept, kept_error, conversation_id)


def ask_through(remote: Remote, question: str, as_json: bool, conversation_id: str | None,
                as_name: str | None) -> None:
    """`ask` through the running app's API: the same streamed text, checked answer, JSON and exit codes."""
    from ui.commands.remote import RemoteFailed

    def show(text: str) -> None:
        if not as_json:
            click.echo(text, nl=False)

    try:
        got = remote.ask(question, conversation_id, as_name, show)
    except RemoteFailed as exc:
        if not as_json:
            click.echo()
        fail(str(exc), exc.exit_code)
    if not as_json:
        click.echo()
    kept = None if got.conversation is None or got.turn is None else (got.conversation, got.turn)
    print_answer(got.answer, got.partial, as_json, kept, got.kept_error, conversation_id)


def print_answer(answer: Answer, streamed: str, as_json: bool, kept: tuple[str, int] | None, kept_error: str,
                 conversation_id: str | None) -> None:
    """After the stream: the answer as JSON, or what the check changed and the sources; then exit 2 if it could not
    be kept, or the new conversation's id on stderr."""
    if as_json:
        turn = {} if kept is None else {"conversation": kept[0], "turn": kept[1]}
        click.echo(json.dumps({**answer.to_json(), **turn}, ensure_ascii=False, indent=2))
    else:
        print_checked(answer, streamed)
    if kept is None:
        fail(f"the answer could not be kept in a conversation: {kept_error}")
    if conversation_id is None:
        stderr.print(f"conversation {kept[0]}: continue it with `enclave ask --conversation {kept[0]} QUESTION`",
                     highlight=False)


def print_checked(answer: Answer, streamed: str) -> None:
    """After the streamed text: the checked answer where it differs, unsupported sentences, warnings, sources."""
    if answer.text.strip() != streamed.strip():
        click.echo("\nChecked against the sources:\n" + answer.text)
    for sentence in answer.unsupported:
        click.echo(f"\nNot supported by the sources: {sentence.text}")
    for warning in answer.warnings:
        click.echo(f"\nWarning: {warning}")
    if answer.citations:
        click.echo("\nSources:")
        for c in answer.citations:
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(f"  [{c.n}] {c.document}{page}")
    if answer.retrieved:
        click.echo("\nAlso retrieved (not cited):")
        for c in answer.retrieved:
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(f"  [{c.n}] {c.document}{page}")
