"""The audit trail: who did what, when, to what, as append-only records in a hash chain, so that a record changed,
put in or deleted afterwards shows (`enclave audit verify`).

trail      the AuditTrail: append (in the transaction of the change, or right after it), list with filters,
           verify, prune past the retention; open_audit_trail for the command line (the database only)
chain      the hash of a record and the check of the chain, as pure functions
records    the actions recorded (AUDIT_ACTIONS), an entry to append, a record as stored, how times are written
recording  the Recorder the service and the Assistant call: what a document change, a question and a search
           record (ids, never passages), and how each fails
tables     the tables (the assistant's migration tree creates them)

Admin changes fail closed: an account change and its record commit together, and a document change whose record
cannot be written is reported as an error. Questions fail open: a record that cannot be written is logged as an
error and the answer is still given (see recording.py).
"""

from assistant.audit.chain import GENESIS, ChainBreak, ChainCheck, ChainState, record_hash, verify_chain
from assistant.audit.recording import Recorder, acting_entries, document_entries, question_entry, search_entry
from assistant.audit.records import AUDIT_ACTIONS, SYSTEM, AuditEntry, AuditRecord, format_time, parse_time
from assistant.audit.trail import AuditTrail, open_audit_trail

__all__ = [
    "AUDIT_ACTIONS",
    "GENESIS",
    "SYSTEM",
    "AuditEntry",
    "AuditRecord",
    "AuditTrail",
    "ChainBreak",
    "ChainCheck",
    "ChainState",
    "Recorder",
    "acting_entries",
    "document_entries",
    "format_time",
    "open_audit_trail",
    "parse_time",
    "question_entry",
    "record_hash",
    "search_entry",
    "verify_chain",
]
