"""`enclave audit`: the audit trail, read from the database alone (no model, no store): list records, verify the
chain, export them as CSV. Nothing here changes a record."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import click

from ingest import IngestError
from ui.audit_csv import write_csv
from ui.commands.terminal import EXIT_OK, EXIT_REFUSED, fail

if TYPE_CHECKING:
    from assistant import AuditRecord, AuditTrail

T = TypeVar("T")


class Moment(click.ParamType):
    """A date or a date and time, ISO 8601 (`2030-01-07`, `2030-01-07T09:30`, `2030-01-07 09:30:00+02:00`); without a
    zone, UTC."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date: use 2030-01-07 or 2030-01-07T09:30 (UTC unless a zone is given)",
                      param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def record_filters(command: Callable[..., None]) -> Callable[..., None]:
    """The options that choose records, shared by the listing and the export."""
    for option in reversed([
        click.option("--since", type=Moment(), help="Records from this date or time on (UTC unless a zone is given)."),
        click.option("--until", type=Moment(), help="Records before this date or time."),
        click.option("--user", "actor", metavar="NAME", help="Records of what this account or login did."),
        click.option("--action", metavar="ACTION",
                     help="One action (user.add) or a family of them (user, sign_in, document)."),
        click.option("--target", metavar="NAME|ID", help="Records about this account or document id."),
    ]):
        command = option(command)
    return command


@click.group("audit", invoke_without_command=True)
@record_filters
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the newest N records.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON list [{"seq", "at", "actor", "action", "target", "details", "prev_hash", "hash"}].')
@click.pass_context
def audit(ctx: click.Context, since: datetime | None, until: datetime | None, actor: str | None, action: str | None,
          target: str | None, limit: int | None, as_json: bool) -> None:
    """Who did what, and when: sign-ins, account and document changes, questions. Without a subcommand, list the
    records, oldest first (newest last).

    Every record holds the hash of the one before it, so a record changed, put in or deleted afterwards shows:
    `enclave audit verify`. Exit codes: 0 done; 1 the chain is broken (verify); 2 the database is unreachable or a
    setting is wrong.
    """
    if ctx.invoked_subcommand is not None:
        if any(v is not None for v in (since, until, actor, action, target, limit)) or as_json:
            raise click.UsageError(f"these options list records: give them without `{ctx.invoked_subcommand}`")
        return

    def show(trail: AuditTrail) -> int:
        if limit is None:
            records: Iterable[AuditRecord] = trail.each_record(since=since, until=until, actor=actor, action=action,
                                                               target=target)
        else:
            records = trail.records(since=since, until=until, actor=actor, action=action, target=target, limit=limit)
        return write_json(records) if as_json else write_lines(records)

    count = run(show)
    if not as_json:
        click.echo(f"{count} records")


@audit.command("verify")
@click.option("--known", "known", metavar="SEQ:HASH", multiple=True,
              help="A record's number and hash noted earlier (from a previous verify): check it is still there, "
                   "unchanged, so a chain rewritten from scratch shows too (repeatable).")
def verify(known: tuple[str, ...]) -> None:
    """Check every kept record against its hash and the one before it, and the chain's two ends. Exit 0 when intact;
    1 naming the first record found changed, put in or deleted, and why."""
    noted = dict(parse_known(value) for value in known)
    check = run(lambda trail: trail.verify(known=noted))
    click.echo(check.describe())
    for seq in check.unchecked:
        click.echo(f"record #{seq} was pruned: it could not be checked against the hash noted for it")
    if not check.intact:
        sys.exit(EXIT_REFUSED)
    if check.records:
        click.echo(f"newest record #{check.last_seq}, hash {check.head}: note it outside Enclave and check it later "
                   f"with `enclave audit verify --known {check.last_seq}:{check.head}`")
    sys.exit(EXIT_OK)


@audit.command("export")
@click.option("--csv", "csv_file", required=True, type=click.File("w", encoding="utf-8", lazy=True),
              metavar="FILE", help="Write the records as CSV to FILE (`-`: standard output).")
@record_filters
def export(csv_file: IO[str], since: datetime | None, until: datetime | None, actor: str | None, action: str | None,
           target: str | None) -> None:
    """Export records, oldest first, as CSV: seq, at, actor, action, target, details (JSON), prev_hash, hash. The
    hashes let someone verify the file without Enclave (the chain's format is in the README)."""

    count = run(lambda trail: write_csv(trail.each_record(since=since, until=until, actor=actor, action=action,
                                                          target=target), csv_file))
    if csv_file is not sys.stdout and getattr(csv_file, "name", "-") != "-":
        click.echo(f"exported {count} records to {csv_file.name}", err=True)


def write_lines(records: Iterable[AuditRecord]) -> int:
    count = 0
    for r in records:
        details = json.dumps(r.details, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        click.echo(f"#{r.seq}  {r.at[:19].replace('T', ' ')}Z  {r.actor or '-'}  {r.action}  {r.target or '-'}  "
                   f"{details}")
        count += 1
    return count


def write_json(records: Iterable[AuditRecord]) -> int:
    """One JSON list, written a record at a time (a year of records need not be held at once)."""
    count = 0
    click.echo("[", nl=False)
    for r in records:
        click.echo(("," if count else "") + "\n  " + json.dumps(r.to_json(), ensure_ascii=False), nl=False)
        count += 1
    click.echo("\n]" if count else "]")
    return count


def parse_known(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter(f"{value!r}: give SEQ:HASH as `enclave audit verify` printed it", param_hint="--known")
    return int(seq), digest.lower()


def run(work: Callable[[AuditTrail], T]) -> T:
    """Open the trail (the database only) and do the work; a bad setting or a database that cannot be opened or
    fails midway exits 2 with one line."""
    from assistant import AssistantError, load_assistant_settings, open_audit_trail
    from ingest import load_settings

    try:
        trail = open_audit_trail(load_settings(), load_assistant_settings())
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    try:
        return work(trail)
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    finally:
        trail.close()
