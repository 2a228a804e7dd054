"""The audit trail as CSV, in one format for `enclave audit export --csv` and the app's Audit page: seq, at, actor,
action, target, details (the canonical JSON its hash covers, as stored), prev_hash, hash, so that the file can be
checked without Enclave (the chain's format is in the README)."""

from __future__ import annotations

import csv
import io
from typing import IO, TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from assistant import AuditRecord

CSV_COLUMNS = ("seq", "at", "actor", "action", "target", "details", "prev_hash", "hash")


def write_csv(records: Iterable[AuditRecord], out: IO[str]) -> int:
    """Write the header and a row per record, as they come (a year of them need not be held at once); how many."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for r in records:
        writer.writerow((r.seq, r.at, r.actor, r.action, r.target, r.details_json, r.prev_hash, r.hash))
        count += 1
    return count


def csv_bytes(records: Iterable[AuditRecord]) -> bytes:
    """The records as a CSV file's bytes (UTF-8), for a download."""
    text = io.StringIO()
    write_csv(records, text)
    return text.getvalue().encode("utf-8")
