"""A citation's original file goes only to users who may see its document, from a real store with a real PDF."""

from __future__ import annotations

import re
import shutil

import pytest

from assistant import AssistantError, NotAllowed, OriginalFile, User, original_file
from ingest import TextRecord
from ingest.pipeline.ingestor import open_ingestor
from ingest.settings import load_settings
from shared_data import DOCS

MEMO = "memo-supply-delivery.pdf"


def open_original(ingestor, user, document_id):
    return original_file(ingestor.registry.get(document_id), user, document_id)


ADMIN = User("root", groups=("it",), is_admin=True)
FINANCE = User("fiona", groups=("everyone", "finance"))
SALES = User("sam", groups=("everyone", "sales"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two copies of the memo (one to keep, one whose file a test deletes) and a text record, all for finance."""
    root = tmp_path_factory.mktemp("originals")
    copies = [root / folder / MEMO for folder in ("kept", "doomed")]
    for copy in copies:
        copy.parent.mkdir()
        shutil.copy(DOCS / MEMO, copy)  # a copy: one test deletes it
    ingestor = open_ingestor(load_settings(data_dir=root / "data", _env_file=None))
    try:
        results = ingestor.ingest(copies, groups=("finance",), user="test")
        assert [r.status for r in results] == ["added", "added"], results
        [record] = ingestor.ingest_records(
            [TextRecord(key="note", name="budget-note", title="Budget", text="The budget closes on Friday.")],
            groups=("finance",), user="test",
        )
        ids = {"kept": results[0].document_id, "doomed": results[1].document_id, "text": record.document_id}
        yield ingestor, ids, copies[0]
    finally:
        ingestor.close()


@pytest.mark.parametrize("user", [ADMIN, FINANCE], ids=["admin", "group member"])
def test_an_admin_and_a_member_of_the_documents_group_get_its_file(store, user):
    ingestor, ids, kept = store
    assert open_original(ingestor, user, ids["kept"]) == OriginalFile(
        path=kept.resolve(), name=MEMO, media_type="application/pdf", pages=1
    )


def test_a_user_outside_the_documents_groups_and_an_unknown_id_get_the_same_refusal(store):
    ingestor, ids, _ = store
    with pytest.raises(NotAllowed) as hidden:
        open_original(ingestor, SALES, ids["kept"])
    with pytest.raises(NotAllowed) as unknown:
        open_original(ingestor, SALES, "00000000-0000-0000-0000-000000000000")
    assert str(hidden.value).replace(ids["kept"], "ID") == str(unknown.value).replace(
        "00000000-0000-0000-0000-000000000000", "ID"
    )
    assert "ask an admin" in str(hidden.value)


def test_the_refusal_comes_before_any_word_about_the_file(store):
    # A document with no file to open must not tell an outsider, by a different error, that it exists.
    ingestor, ids, _ = store
    with pytest.raises(NotAllowed):
        open_original(ingestor, SALES, ids["text"])


def test_a_document_whose_kept_file_is_gone_says_to_upload_it_again(store):
    ingestor, ids, kept = store
    doomed = kept.parent.parent / "doomed" / MEMO
    doomed.unlink()
    with pytest.raises(AssistantError, match=f"the original file of '{MEMO}' is gone: upload it again") as caught:
        open_original(ingestor, FINANCE, ids["doomed"])
    assert not isinstance(caught.value, NotAllowed)
    assert str(doomed.parent) not in str(caught.value)  # only an admin, who can put it back, is told where it was
    with pytest.raises(AssistantError, match=re.escape(f"is gone (it was at {doomed.resolve()}): upload it again")):
        open_original(ingestor, ADMIN, ids["doomed"])


def test_a_document_stored_from_text_has_no_original_to_open(store):
    ingestor, ids, _ = store
    with pytest.raises(AssistantError, match="'budget-note' was stored from text, not from a file"):
        open_original(ingestor, FINANCE, ids["text"])
