"""Documents: add files to the library (one or many), watch them being ingested, list, re-index and delete stored
ones."""

from __future__ import annotations

from typing import Sequence

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from assistant import AssistantError
from ingest import BatchStatus, DiskFull, DocumentRecord, IngestError
from ui.identity import current_user, require_admin
from ui.session import background_ingest, get_enclave, write_lock
from ui.uploads import parse_groups, save_uploads, summarize_batch

# This page's st.session_state keys:
CONFIRM_KEY = "documents.confirm_delete"  # document_id waiting for "Delete for good", or absent
NOTICE_KEY = "documents.notice"  # (kind, message) to show once after a deletion or a refused re-index

# The document table's columns and their relative widths; the last two hold the re-index and delete buttons.
COLUMNS = (("Name", 3.2), ("Pages", 0.8), ("Chunks", 0.9), ("Size", 1), ("Groups", 1.6), ("Version", 0.9),
           ("Ingested", 2.4), ("", 0.7), ("", 0.7))
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


def show_record(record: DocumentRecord) -> None:
    name, pages, chunks, size, groups, version, ingested, refresh, remove = st.columns(WIDTHS)
    # Names, titles, groups and users come from uploads and settings: shown as plain text, never as markdown.
    name.text(record.name, help=record.title if record.title and record.title != record.name else None)
    pages.text(str(record.pages) if record.pages is not None else "—")
    chunks.text(str(record.chunks))
    size.text(human_size(record.size))
    groups.text(", ".join(record.groups))
    version.text(str(record.version))
    ingested.text(f"{record.ingested_at[:16].replace('T', ' ')} UTC\nby {record.ingested_by}")
    refresh.button("", key=f"reindex-{record.document_id}", icon=":material/refresh:",
                   help=f"Re-index {record.name}: read its file again with the current settings",
                   on_click=reindex_document, args=(record,))
    remove.button("", key=f"delete-{record.document_id}", icon=":material/delete:", help=f"Delete {record.name}",
                  on_click=ask_to_delete, args=(record.document_id,))
    if st.session_state.get(CONFIRM_KEY) == record.document_id:
        with st.container(border=True):
            st.warning(f"Delete “{record.name}”? It will no longer be used to answer questions.")
            yes, no = st.columns(2)
            yes.button("Delete for good", key="confirm-delete", type="primary", on_click=delete, args=(record,))
            no.button("Keep it", key="cancel-delete", on_click=cancel_delete)


def show_library() -> None:
    records = get_enclave().documents()
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
        show_record(record)


require_admin("add or delete documents")

st.title("Documents")
with st.form("upload", clear_on_submit=True):
    uploads = st.file_uploader(
        "Add files", accept_multiple_files=True,
        help="PDF, Word, PowerPoint, Excel, e-mail, HTML, Markdown, text… Uploading a file with the same name "
        "again replaces the stored version.",
    )
    groups_text = st.text_input("Visible to groups (comma-separated)", value="everyone")
    submitted = st.form_submit_button("Add to the library", key="upload-submit", type="primary", icon=":material/upload:")
if submitted and uploads:
    ingest_uploads(uploads, parse_groups(groups_text))
elif submitted:
    st.warning("Choose one or more files first.")

show_latest_batch()
show_library()
