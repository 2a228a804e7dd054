"""The Documents page's groups, with AppTest, signed in as an admin on a real Enclave (embedded store, packaged
embedder): the group picker of an upload (the groups it offers, its default, a new group typed in) and the groups a
document lands with; sharing a stored document with a group and stopping, and what a member then finds on the Ask
page, answered by the real test LLM. (Listing, uploading, re-indexing and deleting: tests/ui/web/test_app.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit_apps import admin, member, signed_in_app

from databases import opened_registry
from ingest import DocumentRecord

DOCUMENTS, ASK = "app_pages/documents.py", "app_pages/chat.py"
UPLOAD_GROUPS = "documents.upload.groups"
NOTES = ("Warehouse notes, March. The warehouse received 20,000 bottles of water on 3 March, delivered by the "
         "northern depot, and stored them in aisle 7.\n")
NOTES_NAME = "warehouse-notes.txt"
QUESTION = "How many bottles of water did the warehouse receive?"
NOTHING_YET = "No documents have been added yet: add some on the Documents page, then ask here."

pytestmark = pytest.mark.usefixtures("keep_main_module")


@pytest.fixture
def page(accounts):
    """The Documents page, signed in as the admin root; mia is a member of hr."""
    admin(accounts, "root")
    member(accounts, "mia", ("hr",))
    at = signed_in_app(accounts, "root", page=DOCUMENTS)
    assert at.title[0].value == "Documents"
    return at


def run(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def records(data_dir: Path) -> list[DocumentRecord]:
    """What the registry holds, read beside the app's own connection (SQLite WAL allows both)."""
    with opened_registry(data_dir) as registry:
        return registry.all()


def wait_for_uploads(timeout: float = 300) -> None:
    """Uploads are ingested in a background thread (a reload must not stop them): wait for it."""
    from ui.web.session import background_ingest

    background_ingest().wait(timeout)


def upload(at, groups: list[str], name: str = "warehouse-notes.txt"):
    at.file_uploader[0].set_value([(name, NOTES.encode(), "text/plain")])
    at.multiselect(key=UPLOAD_GROUPS).set_value(groups)
    run(at.button(key="upload-submit").click().run())
    wait_for_uploads()
    return run(at.run())  # what a reload shows once the batch is done


def test_the_picker_offers_the_default_group_chosen_and_the_accounts_groups(accounts, monkeypatch):
    monkeypatch.setenv("ENCLAVE_DEFAULT_GROUP", "staff")  # read when the test's own Enclave opens, below
    admin(accounts, "root")
    member(accounts, "mia", ("hr", "legal"))
    at = signed_in_app(accounts, "root", page=DOCUMENTS)

    picker = at.multiselect(key=UPLOAD_GROUPS)
    assert picker.value == ["staff"]
    assert picker.options == ["staff", "everyone", "hr", "legal"]


def test_an_upload_lands_with_the_groups_chosen_a_new_one_among_them(page, empty_data_dir):
    at = upload(page, ["hr", "  warehouse  "])  # hr is mia's; warehouse is typed in, with stray spaces

    [record] = records(empty_data_dir)
    assert (record.name, record.groups) == ("warehouse-notes.txt", ("hr", "warehouse"))
    assert "hr, warehouse" in {t.value for t in at.text}  # the table's Groups column
    assert "warehouse" in at.multiselect(key=UPLOAD_GROUPS).options  # offered from now on


def test_an_upload_with_no_group_is_refused_and_nothing_is_saved(page, empty_data_dir):
    page.file_uploader[0].set_value([("warehouse-notes.txt", NOTES.encode(), "text/plain")])
    page.multiselect(key=UPLOAD_GROUPS).set_value([])
    at = run(page.button(key="upload-submit").click().run())

    assert at.warning[0].value.startswith("Choose at least one group")
    assert not (empty_data_dir / "originals").exists() and records(empty_data_dir) == []


def ask_as_mia(accounts):
    """A new tab of mia's: what the Ask page says before a question, then whether her answer draws on the notes."""
    at = signed_in_app(accounts, "mia")
    before = [i.value for i in at.info]
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, [e.value for e in at.exception]
    found = any(NOTES_NAME in e.label for e in at.chat_message[1].expander)  # cited, or retrieved and shown
    return before, found


@pytest.fixture
def live_llm(llm_server, monkeypatch):
    monkeypatch.setenv("ENCLAVE_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ENCLAVE_LLM_MAX_TOKENS", "96")  # enough for an answer, quick on a CPU


def share(at, document_id: str, form: str, groups: list[str]):
    """Open the document's sharing panel (if closed), choose the groups in the grant or revoke form, submit it."""
    if not any(b.key == f"{form}-submit" for b in at.button):
        run(at.button(key=f"share-{document_id}").click().run())
    at.multiselect(key=f"documents.{form}.{document_id}").set_value(groups)
    return run(at.button(key=f"{form}-submit").click().run())


def test_sharing_with_mias_group_and_stopping_changes_what_she_finds_on_the_ask_page(live_llm, page, accounts,
                                                                                      empty_data_dir):
    """(live_llm first: the app's Enclave reads the LLM's address when `page` opens it.)"""
    at = upload(page, ["finance"])
    [notes] = records(empty_data_dir)
    assert ask_as_mia(accounts) == ([NOTHING_YET], False)  # not hers: neither listed nor found

    at = share(at, notes.document_id, "grant", ["hr"])

    assert "warehouse-notes.txt is shared with: finance, hr." in [s.value for s in at.success]
    assert records(empty_data_dir)[0].groups == ("finance", "hr")
    assert ask_as_mia(accounts) == ([], True)  # from her next question on, no restart

    at = share(at, notes.document_id, "revoke", ["hr", "finance"])  # every group: admins alone see it

    assert any(w.value.startswith("warehouse-notes.txt is shared with no group now: only admins see it.")
               for w in at.warning)
    assert records(empty_data_dir)[0].groups == ()
    assert "no group: only admins see it" in {t.value for t in at.text}
    assert ask_as_mia(accounts) == ([NOTHING_YET], False)
    changes = [(r.actor, r.action, r.details["group"]) for r in accounts.audit.records(action="document")
               if r.action != "document.ingest"]
    assert changes == [("root", "document.grant", "hr"), ("root", "document.revoke", "hr"),
                       ("root", "document.revoke", "finance")]


def test_a_group_the_document_has_is_not_offered_and_nothing_chosen_or_no_group_changes_nothing(page,
                                                                                                  empty_data_dir):
    at = upload(page, ["hr"])
    [notes] = records(empty_data_dir)
    run(at.button(key=f"share-{notes.document_id}").click().run())

    assert "hr" not in at.multiselect(key=f"documents.grant.{notes.document_id}").options
    assert at.multiselect(key=f"documents.revoke.{notes.document_id}").options == ["hr"]
    at = share(at, notes.document_id, "grant", [])
    assert "Choose a group to share warehouse-notes.txt with first." in [w.value for w in at.warning]
    at = share(at, notes.document_id, "grant", ["legal", "x" * 200])  # the second cannot be a group

    [error] = at.error
    assert error.value.startswith(f"Could not share warehouse-notes.txt with '{'x' * 200}': ")
    assert "cannot be a group" in error.value and error.value.endswith("It is shared with hr, legal now.")
    assert records(empty_data_dir)[0].groups == ("hr", "legal")
