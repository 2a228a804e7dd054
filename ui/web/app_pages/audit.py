"""Audit (admins only): browse the audit trail, newest first, chosen by dates, who, action and target; check its hash
chain; download what is shown as CSV, in the format of `enclave audit export --csv`. Nothing here changes a record."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import streamlit as st

from assistant import AUDIT_ACTIONS, AssistantError, AuditRecord
from ui.audit_csv import csv_bytes
from ui.web.identity import require_admin
from ui.web.session import get_enclave

# This page's st.session_state keys (the filters' widgets):
SINCE, UNTIL, ACTOR, ACTION, TARGET, LIMIT = ("audit.since", "audit.until", "audit.actor", "audit.action",
                                              "audit.target", "audit.limit")
ANY = ""  # the action filter's "any action"
LIMIT_DEFAULT, LIMIT_MAX = 200, 10_000  # records read per run: the table and the CSV of a year would not need more


def action_choices() -> list[str]:
    """Any action, then each family (sign_in, user, document…) followed by its actions, in AUDIT_ACTIONS' order: the
    trail matches a family on its prefix, as `enclave audit --action` does."""
    choices = [ANY]
    for action in AUDIT_ACTIONS:
        family = action.split(".")[0]
        if family != action and family not in choices:
            choices.append(family)
        choices.append(action)
    return choices


def describe_choice(choice: str) -> str:
    if choice == ANY:
        return "any action"
    return f"{choice} (every {choice}.… action)" if choice not in AUDIT_ACTIONS else choice


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def show_filters() -> None:
    since, until, actor, action, target, limit = st.columns([1.2, 1.2, 1.4, 1.8, 1.8, 1])
    since.date_input("From (UTC)", value=None, key=SINCE, format="YYYY-MM-DD")
    until.date_input("To (UTC, inclusive)", value=None, key=UNTIL, format="YYYY-MM-DD")
    actor.text_input("Who", key=ACTOR, help="The account (or the command line's login) that did it, as recorded.")
    action.selectbox("Action", action_choices(), key=ACTION, format_func=describe_choice,
                     help="One action, or a family of them: user, sign_in, document…")
    target.text_input("Target", key=TARGET, help="What it was done to: an account's name or a document's id.")
    limit.number_input("Newest", min_value=1, max_value=LIMIT_MAX, value=LIMIT_DEFAULT, step=100, key=LIMIT,
                       help="How many of the matching records to show, newest first.")


def chosen_records() -> list[AuditRecord] | None:
    """The newest records that match the filters, oldest first (as the trail gives them); None when the dates
    contradict each other (said on the page)."""
    first, last = st.session_state.get(SINCE), st.session_state.get(UNTIL)
    if first is not None and last is not None and first > last:
        st.warning("The first day is after the last: swap them to see records.", icon=":material/event_busy:")
        return None
    return get_enclave().audit.records(
        since=day_start(first) if first else None,
        until=day_start(last + timedelta(days=1)) if last else None,
        actor=st.session_state.get(ACTOR, "").strip() or None,
        action=st.session_state.get(ACTION) or None,
        target=st.session_state.get(TARGET, "").strip() or None,
        limit=int(st.session_state.get(LIMIT, LIMIT_DEFAULT)),
    )


def show_records(records: list[AuditRecord]) -> None:
    limit = int(st.session_state.get(LIMIT, LIMIT_DEFAULT))
    full = len(records) == limit
    more = f": the newest {limit}, raise “Newest” or narrow the filters for older ones" if full else ""
    st.caption(f"{len(records)} records, newest first{more}.")
    # Names, targets and details come from what people typed: shown as table cells, never as markdown.
    st.dataframe(
        [{"#": r.seq, "When (UTC)": r.at[:19].replace("T", " "), "Who": r.actor or "—", "Action": r.action,
          "Target": r.target or "—",
          "Details": json.dumps(r.details, ensure_ascii=False, separators=(",", ":"), sort_keys=True)}
         for r in reversed(records)],
        hide_index=True, width="stretch",
    )
    st.download_button("Download as CSV", data=csv_bytes(records), file_name="enclave-audit.csv", mime="text/csv",
                       key="audit-csv", icon=":material/download:", on_click="ignore",
                       help="These records, oldest first, as `enclave audit export --csv` writes them: seq, at, "
                       "actor, action, target, details, prev_hash, hash (checkable without Enclave).")


def show_verification() -> None:
    """Check every kept record against its hash and the one before it, and the chain's ends (`enclave audit
    verify`)."""
    try:
        check = get_enclave().audit.verify()
    except AssistantError as exc:
        st.error(f"The audit trail cannot be read right now: {exc}", icon=":material/error:")
        return
    if check.broken is None:
        st.success(f"{check.records} records, chain intact. Newest record #{check.last_seq}, hash `{check.head}`: "
                   f"note it outside Enclave and check it later with "
                   f"`enclave audit verify --known {check.last_seq}:{check.head}`.", icon=":material/verified:")
        return
    broken = check.broken
    st.error(f"The chain is broken at record #{broken.seq}: {broken.reason}. Restore the database from a backup, "
             "and find out who could write to it.", icon=":material/gpp_bad:")
    if broken.record is not None:  # what the record says now, as typed: plain text
        r = broken.record
        st.text(f"#{r.seq}  {r.at}  {r.actor or '-'}  {r.action}  {r.target or '-'}  {r.details_json}")


require_admin("read the audit trail")
st.title("Audit")
st.caption("Who did what, and when: sign-ins, account and document changes, questions and searches. Each record holds "
           "the hash of the one before it, so a record changed, put in or deleted afterwards shows when the chain is "
           "verified.")
if st.button("Verify chain", key="audit-verify", icon=":material/verified_user:"):
    show_verification()
show_filters()
try:
    chosen = chosen_records()
except AssistantError as exc:
    st.error(f"The audit trail cannot be read right now: {exc}", icon=":material/error:")
    st.stop()
if chosen == []:
    st.info("No record matches these filters.")
elif chosen is not None:
    show_records(chosen)
