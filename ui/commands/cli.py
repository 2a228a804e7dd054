"""The `enclave` command line: ingest, reindex, remove, documents, llm serve, app, api, up; and, each in its module
beside this one, search and ask (questions.py), eval (evaluation.py), users, keys, db (database.py), audit,
conversations and feedback, backup and restore (backup.py)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Callable, NoReturn

import click

from ingest import IngestError, StoreUnavailable, enforce_offline
from ui.commands.audit import audit
from ui.commands.backup import backup, restore
from ui.commands.conversations import conversations, feedback
from ui.commands.database import database
from ui.commands.evaluation import evaluate
from ui.commands.keys import keys
from ui.commands.questions import ask, search
from ui.commands.remote import remotely, running_api
from ui.commands.terminal import (EXIT_FAILED_FILES, EXIT_OK, EXIT_REFUSED, act_as, acting_user, cli_user, fail,
                                  opened_enclave, stderr)
from ui.commands.users import users
from ui.commands.worker import queued_ingest, worker

if TYPE_CHECKING:
    from assistant import Enclave


@click.group()
@click.version_option(package_name="enclave")
def main() -> None:
    """Enclave: a private assistant that answers from your documents, with citations."""
    enforce_offline()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--sync", is_flag=True, help="Also remove stored documents whose files are gone from these folders.")
@click.option("--group", "groups", multiple=True,
              help="Group allowed to see these documents (repeatable). Default: ENCLAVE_DEFAULT_GROUP (everyone) for "
                   "new documents; stored ones keep theirs.")
@click.option("--json", "as_json", is_flag=True, help="Print per-file results as a JSON list.")
def ingest(paths: tuple[str, ...], sync: bool, groups: tuple[str, ...], as_json: bool) -> None:
    """Parse, chunk, embed and store files or folders (recursively)."""
    from pathlib import Path

    from ingest import summarize

    if (remote := running_api()) is not None:  # the app holds the store: it reads the files, so their full paths
        absolute = [str(Path(p).expanduser().absolute()) for p in paths]
        results = run_batch(lambda progress: remote.batch("ingest", progress, paths=absolute, groups=groups, sync=sync))
        report_batch(results, as_json, summarize(results))
    if (queued := queued_ingest(paths, groups, sync, run_batch)) is not None:  # ENCLAVE_INGEST_QUEUE: a worker does it
        report_batch(queued, as_json, summarize(queued))
    with opened_enclave(read_only=False, warm_parsers=True) as enclave:
        results = run_batch(lambda progress: enclave.ingest(
            paths, cli_user(), groups=groups or None, sync=sync, progress=progress
        ))
    report_batch(results, as_json, summarize(results))


@main.command()
@click.argument("documents", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Re-index every stored document.")
@click.option("--json", "as_json", is_flag=True, help="Print per-document results as a JSON list.")
def reindex(documents: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Parse, chunk and embed stored documents again from their kept files, by id, file name or path (or --all).

    For after a change of the chunking or embedding settings, or a parser fix: unchanged files are read again
    too. Each document gets a new version; one whose file is gone is kept as it is, and reported.
    """
    if bool(documents) == everything:
        raise click.UsageError("name the documents to re-index, or give --all (not both)")
    if (remote := running_api()) is not None:
        action = "reindex_all" if everything else "reindex"
        results = run_batch(lambda progress: remote.batch(action, progress, paths=list(documents)))
        failed = sum(r.status == "failed" for r in results)
        report_batch(results, as_json, f"{len(results)} documents: {len(results) - failed} re-indexed, {failed} failed")
    with opened_enclave(read_only=False, warm_parsers=True) as enclave:
        user = cli_user()
        if everything:
            results = run_batch(lambda progress: enclave.reindex_all(user, progress=progress))
        else:
            results = run_batch(lambda progress: enclave.reindex(documents, user, progress=progress))
    failed = sum(r.status == "failed" for r in results)
    report_batch(results, as_json, f"{len(results)} documents: {len(results) - failed} re-indexed, {failed} failed")


def run_batch(work: Callable[[Callable], list]) -> list:
    """Run an ingest or re-index with progress bars on stderr; exit 2 with one line when the store is unreachable or
    the audit trail could not record what was done, 1 when a --group cannot be a group."""
    from assistant import AuditError
    from ingest import SharingRefused
    from ui.commands.progress import IngestProgress
    from ui.commands.remote import RemoteFailed

    try:
        with IngestProgress(stderr) as progress:
            return work(progress)
    except (StoreUnavailable, AuditError) as exc:
        fail(str(exc))
    except SharingRefused as exc:
        fail(str(exc), EXIT_REFUSED)
    except RemoteFailed as exc:
        fail(str(exc), exc.exit_code)


def report_batch(results: list, as_json: bool, summary: str) -> NoReturn:
    """Print per-file results (JSON) or the summary line; exit 1 when any file failed, else 0."""
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
    else:
        click.echo(summary)
    sys.exit(EXIT_FAILED_FILES if any(r.status == "failed" for r in results) else EXIT_OK)


@main.command()
@click.argument("documents", nargs=-1, required=True)
def remove(documents: tuple[str, ...]) -> None:
    """Delete stored documents by id, file name or path."""
    from assistant import AuditError

    if (remote := running_api()) is not None:
        results = remotely(lambda: remote.remove(documents))
    else:
        with opened_enclave(read_only=False) as enclave:
            try:
                results = enclave.remove(documents, cli_user())
            except AuditError as exc:
                fail(str(exc))
    for r in results:
        click.echo(f"{r.status} {r.path}" + (f": {r.reason}" if r.reason else ""))
    sys.exit(EXIT_FAILED_FILES if any(r.status == "failed" for r in results) else EXIT_OK)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the documents as a JSON list.")
@act_as
@click.pass_context
def documents(context: click.Context, as_json: bool, as_name: str | None) -> None:
    """List stored documents (with --as, those that account may see); `grant` and `revoke` change who may see one.

    Exit codes of grant and revoke: 0 done; 1 refused (no such document, a group it is not shared with, another
    writer changing it); 2 the store or the database is unavailable.
    """
    if context.invoked_subcommand is not None:
        if as_json or as_name is not None:
            raise click.UsageError("--json and --as are for the listing: give them without grant or revoke")
        return
    if (remote := running_api()) is not None:
        rows = remotely(lambda: remote.documents(as_name))
    else:
        with opened_enclave(read_only=True) as enclave:
            rows = [{**r.__dict__, "groups": list(r.groups)} for r in enclave.documents(acting_user(enclave, as_name))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['document_id']}  v{row['version']}  {row['chunks']:>5} chunks  {row['name']}")
    click.echo(f"{len(rows)} documents")


@documents.command("grant")
@click.argument("document")
@click.argument("group")
def documents_grant(document: str, group: str) -> None:
    """Share DOCUMENT (its id, file name or path) with GROUP, without embedding it again: members of GROUP find,
    list and open it from their next question on. Prints the groups it is shared with."""
    change_groups(document, lambda enclave: enclave.grant(document, group, cli_user()))


@documents.command("revoke")
@click.argument("document")
@click.argument("group")
def documents_revoke(document: str, group: str) -> None:
    """Stop sharing DOCUMENT with GROUP: once this returns, no member reaches it through GROUP. Revoking its last
    group leaves it to admins alone (use `enclave remove` to delete it). Prints the groups it is shared with."""
    change_groups(document, lambda enclave: enclave.revoke(document, group, cli_user()))


def change_groups(document: str, change: Callable[[Enclave], tuple[str, ...]]) -> None:
    """Run a grant or a revoke; print the document's groups after it, or exit 1 (refused) or 2 (unavailable, or
    made but not recorded in the audit trail)."""
    from assistant import AssistantError, AuditError
    from ingest import DocumentNotFound, SharingRefused

    with opened_enclave(read_only=False) as enclave:
        try:
            groups = change(enclave)
        except AuditError as exc:  # changed, but not recorded: as for a batch, exit 2
            fail(str(exc))
        except (DocumentNotFound, SharingRefused, AssistantError) as exc:
            fail(str(exc), EXIT_REFUSED)
        except IngestError as exc:  # the store or the database did not answer: nothing was changed
            fail(str(exc))
    shared = ", ".join(groups) if groups else "no group (admins alone see it)"
    click.echo(f"{document} is shared with: {shared}")


@main.group()
def llm() -> None:
    """The LLM server."""


@llm.command("serve")
@click.option("--engine", type=click.Choice(["llama.cpp", "vllm"]), default="llama.cpp", show_default=True)
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: ENCLAVE_LLM_PORT, 8088).")
def llm_serve(engine: str, port: int | None) -> None:
    """Start the LLM server (llama.cpp with the packaged model, or vLLM with gpt-oss on a GPU host)."""
    from assistant import AssistantError, run_llm_server
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_llm_server(engine, load_ui_settings(), port))
    except (AssistantError, IngestError) as exc:
        fail(str(exc))


main.add_command(search)
main.add_command(ask)
main.add_command(evaluate)
main.add_command(users)
main.add_command(keys)
main.add_command(database)
main.add_command(audit)
main.add_command(conversations)
main.add_command(feedback)
main.add_command(backup)
main.add_command(worker)
main.add_command(restore)


@main.command()
def app() -> None:
    """Start the Streamlit app. Exit 2 with one line for a bad or unsafe setting (ENCLAVE_AUTH=none beyond
    loopback)."""
    from ui.errors import UIError
    from ui.commands.launcher import run_app
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_app(load_ui_settings()))
    except (UIError, IngestError) as exc:
        fail(str(exc))


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: ENCLAVE_API_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: ENCLAVE_API_PORT, 8000).")
def api(host: str | None, port: int | None) -> None:
    """Start the REST API: OpenAI-compatible chat completions and search for API keys (`enclave keys`), its
    reference at /docs. Runs until Ctrl-C. Exit 2 with one line when the store is in use by another Enclave process
    (the app), or for a bad or unsafe setting (ENCLAVE_AUTH=none beyond loopback)."""
    from assistant import AssistantError
    from ui.api import run_api
    from ui.errors import UIError
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_api(load_ui_settings(), host, port))
    except (UIError, AssistantError, IngestError) as exc:
        fail(str(exc))


@main.command()
@click.option("--llm/--no-llm", "with_llm", default=True, help="Also start the embedded LLM server.")
@click.option("--api/--no-api", "with_api", default=True,
              help="Serve the REST API from the app's process, on ENCLAVE_API_HOST:ENCLAVE_API_PORT (127.0.0.1:8000).")
def up(with_llm: bool, with_api: bool) -> None:
    """Start the embedded LLM server and the app with the REST API beside it, wait until they answer, print the URLs.
    While it runs, `enclave ingest`, `search`, `ask`, `documents`, `remove` and `reindex` work through its API. Exit 2
    with one line for a bad or unsafe setting (ENCLAVE_AUTH=none beyond loopback) or an API port in use."""
    from assistant import AssistantError
    from ui.errors import UIError
    from ui.commands.launcher import run_stack
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_stack(load_ui_settings(), with_llm=with_llm, with_api=with_api))
    except (UIError, AssistantError, IngestError) as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
