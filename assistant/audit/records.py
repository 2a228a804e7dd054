"""What an audit record says: the actions Enclave records, an entry to append, and a record as stored, with the
times written the one way the chain hashes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

# Every action the trail accepts, with what its record holds. A new action is added here (and in the README's table)
# before anything records it: a misspelt name fails at once instead of slipping past a filter.
AUDIT_ACTIONS: dict[str, str] = {
    "sign_in.success": "a sign-in with the right password, or through single sign-on (actor: the account; details: "
                       "method sso, groups the claim had that cannot be Enclave groups)",
    "sign_in.failure": "a refused sign-in (actor: the name as typed or claimed; details: reason, method sso)",
    "sign_in.throttled": "a sign-in refused unchecked after too many failures (details: retry_after seconds)",
    "user.add": "an account created (target: the account; details: role, groups, has_password; method sso when "
                "its first single sign-on created it)",
    "user.remove": "an account deleted (target; details: role, groups)",
    "user.set_groups": "an account's groups replaced (target; details: groups, before)",
    "user.set_role": "an account made an admin or a member, by an admin or by single sign-on's admin group (target; "
                     "details: role, before: the old role; groups)",
    "user.set_password": "an account's password set or replaced, never the password (target)",
    "key.create": "an API key made for an account (actor: who made it; target: the account; details: key_id, prefix; "
                  "never the key)",
    "key.revoke": "an API key revoked (target: its account; details: key_id, prefix)",
    "document.ingest": "a file added, updated, or failed to be (target: document id; details: path, status, reason, "
                       "chunks, groups)",
    "document.reindex": "a stored document parsed and embedded again (target; details: path, status, reason, chunks)",
    "document.remove": "a stored document deleted (target; details: path, status, reason)",
    "document.grant": "a group given access to a document (target: document id; details: group)",
    "document.revoke": "a group's access to a document taken away (target: document id; details: group)",
    "question": "a question answered (details: cited and retrieved chunk and document ids, not_found, stopped; its "
                "text only with ENCLAVE_AUDIT_QUESTION_TEXT)",
    "search": "a search without the LLM (details: the chunk and document ids it returned; its text only with "
              "ENCLAVE_AUDIT_QUESTION_TEXT)",
    "conversation.delete": "a saved conversation deleted by its owner (target: conversation id; details: turns)",
    "feedback": "an answer rated (target: conversation id; details: turn, rating, cited chunk ids, model; the comment "
                "is kept with the feedback, not here)",
    "audit.prune": "records older than the retention removed (details: removed, first_kept, anchor, before)",
}

SYSTEM = "enclave"  # the actor of what Enclave does on its own (pruning)


@dataclass(frozen=True)
class AuditEntry:
    """One thing to record: `action` (a key of AUDIT_ACTIONS), what it was done to (`target`: an account name, a
    document id, or empty) and `details`, plain JSON values (never a password, nor a question's text unless allowed)."""

    action: str
    target: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """A record as stored: its place in the chain (`seq`, from 1, without gaps), when (`at`, text: see
    `format_time`), who (`actor`), the entry, the hash of the record before it and its own."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    details_json: str  # the canonical JSON the hash covers, as stored
    prev_hash: str
    hash: str

    @property
    def details(self) -> dict[str, Any]:
        loaded = json.loads(self.details_json)
        return loaded if isinstance(loaded, dict) else {"value": loaded}  # an edited record may hold anything

    @property
    def time(self) -> datetime:
        return parse_time(self.at)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action, "target": self.target,
                "details": self.details, "prev_hash": self.prev_hash, "hash": self.hash}


def format_time(moment: datetime) -> str:
    """UTC to the microsecond, always the same width ("2030-01-07T09:00:00.000000Z"): the text sorts as the times do,
    so `--since` and pruning compare it as stored, and the hash covers exactly what is stored."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no zone: pass an aware one (the clock gives UTC)")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def canonical_details(details: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, ASCII only (a file name that is not valid UTF-8 still stores and hashes)."""
    return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
