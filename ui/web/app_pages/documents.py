"""Documents: add files to the library (one or many) for the groups chosen, watch them being ingested, list stored
ones with their groups, share one with more groups or fewer, re-index and delete."""

from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from assistant import AssistantError
from ingest import BatchStatus, DiskFull, DocumentRecord, IngestError
from ui.uploads import save_uploads
from ui.web.identity import current_user, require_admin
from ui.web.session import background_ingest, get_enclave, write_lock
from ui.web.uploads import chosen_groups, known_groups, summarize_batch

# This page's st.session_state keys:
CONFIRM_KEY = "documents.confirm_delete"  # document_id waiting for "Delete for good", or absent
SHARING_KEY = "documents.sharing"  # document_id whose groups are being changed, or absent
NOTICE_KEY = "documents.notice"  # (kind, message) to show once after a deletion, a change of groups or a refusal
UPLOAD_GROUPS_KEY = "documents.upload.groups"  # the groups chosen for an upload

ADMINS_ONLY = "no group: only admins see it"
GROUPS_HELP = ("Members of these groups find the documents' passages, list them and open them; admins see every "
               "document. Pick a group, or type a new one and press Enter (accounts join groups on the Users page).")

# The document table's columns and their relative widths; the last three hold the sharing, re-index and delete
# buttons.
COLUMNS = (("Name", 3.2), ("Pages", 0.8), ("Chunks", 0.9), ("Size", 1), ("Groups", 1.6), ("Version", 0.9),
           ("Ingested", 2.4), ("", 0.7), ("", 0.7), ("", 0.7))
WIDTHS = [width for _, width in COLUMNS]


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def ingest_uploads(files: Sequence[UploadedFile], groups: tuple[str, ...]) -> None:
    """Save the files and start ingesting them in the background; progress shows below, even after a reload."""
    enclave, user = get_enclave(), current_user()
    saved, refused = save_uploads(((f.name, f) for f in files), enclave.originals_dir)
    for result in refused:
        st.warning(f"{result.path}: {result.reason}", icon=":material/block:")
    if saved and not background_ingest().start(enclave, write_lock(), saved, groups, user):
        st.warning("Another upload is being added right now: try again when it is done.", icon=":material/hourglass:")


def show_batch(batch: BatchStatus, running: bool) -> None:
    done = batch.done
    caption = f"{done} of {len(batch.files)} files done" + (" · ingesting…" if running else "")
    st.progress(done / len(batch.files) if batch.files else 1.0, text=caption)
    st.dataframe(
        [{"File": f.name, "Status": f.status, "Chunks": f.chunks, "Reason": f.reason} for f in batch.files],
        hide_index=True,
    )
    # The table is drawn on a canvas and cuts a long reason off: each failed file's whole reason, as plain text (a
    # file name is the uploader's), where it can be read and copied.
    for f in batch.files:
        if f.reason and f.status in ("failed", "interrupted"):
            st.text(f"{f.name}: {f.reason}")
    if not running:
        failed = any(f.status in ("failed", "interrupted") for f in batch.files)
        (st.warning if failed else st.success)(summarize_batch(batch))
        full = next((f.reason for f in batch.files if f.reason.startswith(DiskFull.PREFIX)), None)
        if full:  # the one reason that stops a whole batch: said once, where it cannot be missed
            st.error(full[:1].upper() + full[1:], icon=":material/hard_drive:")


@st.fragment(run_every=1.0)
def follow_running_batch() -> None:
    """Redrawn every second while a batch runs; when it ends, the whole page reruns to list the new documents."""
    worker = background_ingest()
    batch = get_enclave().latest_batch(running=worker.running())
    if batch is not None:
        show_batch(batch, running=worker.running())
    if not worker.running():
        st.rerun()


def show_latest_batch() -> None:
    worker = background_ingest()
    if worker.running():
        follow_running_batch()
        return
    if worker.error:
        st.error(worker.error, icon=":material/error:")
    batch = get_enclave().latest_batch(running=False)
    if batch is not None and batch.files:
        st.caption(f"Last upload or re-index, started {batch.started_at[:16].replace('T', ' ')} UTC by {batch.user}")
        show_batch(batch, running=False)


def reindex_document(record: DocumentRecord) -> None:
    """Parse, chunk and embed the document again from its kept file, in the background; progress shows above."""
    enclave, user = get_enclave(), current_user()
    if not background_ingest().start_reindex(enclave, write_lock(), [record.document_id], user):
        st.session_state[NOTICE_KEY] = ("warning", f"Could not re-index {record.name} now: another upload or "
                                        "re-index is running. Try again when it is done.")


def group_names(groups: Sequence[str]) -> str:
    return ", ".join(groups) if groups else ADMINS_ONLY


def open_sharing(document_id: str) -> None:
    st.session_state[SHARING_KEY] = None if st.session_state.get(SHARING_KEY) == document_id else document_id


def close_sharing() -> None:
    st.session_state.pop(SHARING_KEY, None)


def change_groups(record: DocumentRecord, key: str, verb: str,
                  change: Callable[[str], tuple[str, ...]]) -> None:
    """Grant or revoke the groups chosen under `key`, one at a time (each is written to the store and the registry,
    and recorded in the audit trail, by the service); the outcome is shown once above the list."""
    groups = chosen_groups(st.session_state.get(key, []))
    if not groups:
        st.session_state[NOTICE_KEY] = ("warning", f"Choose a group to {verb} first.")
        return
    lock = write_lock()
    if not lock.acquire(blocking=False):  # a batch may hold it for minutes: say so rather than wait
        st.session_state[NOTICE_KEY] = ("warning", f"Could not change who sees {record.name} now: an upload or "
                                        "re-index is running. Try again when it is done.")
        return
    after = record.groups
    try:
        for group in groups:
            after = change(group)
    except (IngestError, AssistantError) as exc:
        done = f" It is shared with {group_names(after)} now." if after != record.groups else ""
        st.session_state[NOTICE_KEY] = ("error", f"Could not {verb} {group!r}: {str(exc).rstrip('.')}.{done}")
        return
    finally:
        lock.release()
    if after:
        st.session_state[NOTICE_KEY] = ("success", f"{record.name} is shared with: {', '.join(after)}.")
    else:
        st.session_state[NOTICE_KEY] = ("warning", f"{record.name} is shared with no group now: only admins see it. "
                                        "It is not deleted; share it again to give members access.")


def grant_groups(record: DocumentRecord, key: str) -> None:
    enclave, user = get_enclave(), current_user()
    change_groups(record, key, f"share {record.name} with",
                  lambda group: enclave.grant(record.document_id, group, user))


def revoke_groups(record: DocumentRecord, key: str) -> None:
    enclave, user = get_enclave(), current_user()
    change_groups(record, key, f"stop sharing {record.name} with",
                  lambda group: enclave.revoke(record.document_id, group, user))


def show_sharing(record: DocumentRecord, offered: Sequence[str]) -> None:
    """Who sees the document: share it with more groups, or stop sharing it with some."""
    with st.container(border=True):
        st.text(f"“{record.name}” is shared with {group_names(record.groups)}.")
        grant, revoke = st.columns(2)
        with grant.form(f"grant-{record.document_id}", clear_on_submit=True, border=False):
            st.multiselect("Share with", [g for g in offered if g not in record.groups], accept_new_options=True,
                           key=f"documents.grant.{record.document_id}", placeholder="Pick or type a group",
                           help=GROUPS_HELP)
            st.form_submit_button("Share", key="grant-submit", icon=":material/group_add:", on_click=grant_groups,
                                  args=(record, f"documents.grant.{record.document_id}"))
        with revoke.form(f"revoke-{record.document_id}", clear_on_submit=True, border=False):
            st.multiselect("Stop sharing with", list(record.groups), key=f"documents.revoke.{record.document_id}",
                           placeholder="Pick a group", disabled=not record.groups)
            st.form_submit_button("Stop sharing", key="revoke-submit", icon=":material/group_remove:",
                                  on_click=revoke_groups, args=(record, f"documents.revoke.{record.document_id}"),
                                  disabled=not record.groups)
        if record.groups:
            st.caption("Stopping its last group leaves the document to admins alone: hidden from every member, not "
                       "deleted. Members see a change from their next question on.")
        st.button("Done", key="close-sharing", on_click=close_sharing)


def ask_to_delete(document_id: str) -> None:
    st.session_state[CONFIRM_KEY] = document_id


def cancel_delete() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def delete(record: DocumentRecord) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        with write_lock():
            results = get_enclave().remove([record.document_id], current_user())
    except (IngestError, AssistantError) as exc:
        st.session_state[NOTICE_KEY] = ("error", f"Could not delete {record.name}: {exc}")
        return
    failed = [r for r in results if r.status == "failed"]
    if failed:
        st.session_state[NOTICE_KEY] = ("error", f"Could not delete {record.name}: {failed[0].reason}")
    else:
        st.session_state[NOTICE_KEY] = ("success", f"Deleted {record.name}.")


def show_record(record: DocumentRecord, offered: Sequence[str]) -> None:
    name, pages, chunks, size, groups, version, ingested, share, refresh, remove = st.columns(WIDTHS)
    # Names, titles, groups and users come from uploads and settings: shown as plain text, never as markdown.
    name.text(record.name, help=record.title if record.title and record.title != record.name else None)
    pages.text(str(record.pages) if record.pages is not None else "—")
    chunks.text(str(record.chunks))
    size.text(human_size(record.size))
    groups.text(group_names(record.groups))
    version.text(str(record.version))
    ingested.text(f"{record.ingested_at[:16].replace('T', ' ')} UTC\nby {record.ingested_by}")
    share.button("", key=f"share-{record.document_id}", icon=":material/group:",
                 help=f"Change who sees {record.name}: share it with a group, or stop sharing it",
                 on_click=open_sharing, args=(record.document_id,))
    refresh.button("", key=f"reindex-{record.document_id}", icon=":material/refresh:",
                   help=f"Re-index {record.name}: read its file again with the current settings",
                   on_click=reindex_document, args=(record,))
    remove.button("", key=f"delete-{record.document_id}", icon=":material/delete:", help=f"Delete {record.name}",
                  on_click=ask_to_delete, args=(record.document_id,))
    if st.session_state.get(SHARING_KEY) == record.document_id:
        show_sharing(record, offered)
    if st.session_state.get(CONFIRM_KEY) == record.document_id:
        with st.container(border=True):
            st.warning(f"Delete “{record.name}”? It will no longer be used to answer questions.")
            yes, no = st.columns(2)
            yes.button("Delete for good", key="confirm-delete", type="primary", on_click=delete, args=(record,))
            no.button("Keep it", key="cancel-delete", on_click=cancel_delete)


def offered_groups(records: Sequence[DocumentRecord]) -> list[str]:
    """The groups to pick from: ENCLAVE_DEFAULT_GROUP, the accounts' and the stored documents'."""
    enclave = get_enclave()
    try:
        accounts = enclave.accounts.list_users()
    except AssistantError as exc:
        st.warning(f"The accounts cannot be read right now ({exc}): only the documents' groups are offered; type "
                   "any other.", icon=":material/warning:")
        accounts = []
    return known_groups(enclave.default_group, *(a.groups for a in accounts), *(r.groups for r in records))


def show_upload_form(offered: Sequence[str]) -> None:
    default = get_enclave().default_group
    with st.form("upload", clear_on_submit=True):
        uploads = st.file_uploader(
            "Add files", accept_multiple_files=True,
            help="PDF, Word, PowerPoint, Excel, e-mail, HTML, Markdown, text… Uploading a file with the same name "
            "again replaces the stored version.",
        )
        st.multiselect("Visible to groups", offered, default=[default], accept_new_options=True,
                       key=UPLOAD_GROUPS_KEY, placeholder="Pick or type a group",
                       help=f"{GROUPS_HELP} New documents are shared with `{default}` unless you choose otherwise "
                       "(ENCLAVE_DEFAULT_GROUP); a file stored already is shared with exactly these groups.")
        submitted = st.form_submit_button("Add to the library", key="upload-submit", type="primary",
                                          icon=":material/upload:")
    groups = chosen_groups(st.session_state.get(UPLOAD_GROUPS_KEY, []))
    if submitted and not uploads:
        st.warning("Choose one or more files first.")
    elif submitted and not groups:
        st.warning("Choose at least one group to share the files with: a document shared with none is seen by "
                   "admins alone (stop sharing a stored one for that).")
    elif submitted:
        ingest_uploads(uploads, groups)


def show_library(records: Sequence[DocumentRecord], offered: Sequence[str]) -> None:
    st.subheader(f"In the library ({len(records)})")
    if notice := st.session_state.pop(NOTICE_KEY, None):
        kind, message = notice
        {"error": st.error, "warning": st.warning}.get(kind, st.success)(message)
    if not records:
        st.info("No documents yet: add some above.")
        return
    for column, (label, _) in zip(st.columns(WIDTHS), COLUMNS):
        if label:
            column.caption(label)
    for record in records:
        show_record(record, offered)


require_admin("add or delete documents")

st.title("Documents")
library = get_enclave().documents()  # after this run's click was handled: a deletion or a change of groups shows
groups_offered = offered_groups(library)
show_upload_form(groups_offered)
show_latest_batch()
show_library(library, groups_offered)
