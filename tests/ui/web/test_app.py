"""The Streamlit app end to end with AppTest: a real Enclave (embedded store, packaged embedder) and a real LLM.

Most tests run in ENCLAVE_AUTH=none (everyone is the local admin): signing in is not what they are about, and
tests/ui/web/test_identity.py and app_pages/test_sign_in.py are. The question-answer flow runs signed in as a member too."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit_apps import APP, TIMEOUT, data_dir_accounts, open_app, signed_in_app

from assistant import find_free_port
from databases import opened_registry
from ingest import DocumentRecord
from shared_data import BAD
from ui.web.session import ChatTurn, turn_from_answer

DOCUMENTS_PAGE = "app_pages/documents.py"

pytestmark = pytest.mark.usefixtures("keep_main_module", "on_loopback")


# st.cache_resource lives as long as the process, and the app opens its one Enclave there with the settings of that
# moment. Tests that only read the sample documents with the same settings share one (shared_data_dir), as the
# sessions of one server do: it loads the embedding model and opens the store once. A test that changes documents or
# needs settings of its own gets its own (data_dir, or own_enclave) and clears the cache after itself, so whatever a
# shared test finds cached is the shared Enclave, whichever tests ran before it.


def use_data_dir(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.setenv("ENCLAVE_DATA_DIR", str(data))
    monkeypatch.setenv("ENCLAVE_LLM_MAX_TOKENS", "96")  # enough for an answer, quick on a CPU
    monkeypatch.setenv("ENCLAVE_AUTH", "none")
    monkeypatch.delenv("ENCLAVE_DEFAULT_USER", raising=False)


@pytest.fixture
def data_dir(ingested_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_enclave: None) -> Path:
    """A private copy of the ingested data dir, named by ENCLAVE_DATA_DIR for the app, with an Enclave of the test's
    own: for a test that changes documents or settings."""
    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    use_data_dir(monkeypatch, data)
    return data


@pytest.fixture
def live_llm(llm_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCLAVE_LLM_BASE_URL", llm_server.base_url)


@pytest.fixture(scope="module")
def shared_copy(ingested_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("shared") / "data"
    shutil.copytree(ingested_data_dir, data)
    st.cache_resource.clear()  # nothing from an earlier module: the first reader opens the Enclave on this copy
    yield data
    st.cache_resource.clear()  # closes the shared Enclave


@pytest.fixture
def shared_data_dir(shared_copy: Path, live_llm: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One copy of the ingested data dir, and one Enclave on it, for the tests that only read: it stays cached between
    them. Every setting the Enclave reads when it opens is the same for all of them, the live LLM's address included."""
    use_data_dir(monkeypatch, shared_copy)
    return shared_copy


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def listed_documents(at: AppTest) -> list[str]:
    return [b.key.removeprefix("delete-") for b in at.button if (b.key or "").startswith("delete-")]


def document_names(at: AppTest) -> set[str]:
    return {t.value for t in at.text}


def test_a_spawned_worker_reimporting_the_app_file_does_not_start_the_app(own_enclave, monkeypatch):
    """multiprocessing's spawn re-runs the parent's __main__ file (Streamlit makes that ui/web/app.py) as __mp_main__.
    (own_enclave: a cached Enclave would be used without calling open_enclave, and the test could not fail.)"""
    import runpy

    def must_not_open(*args, **kwargs):
        raise AssertionError("a parse worker opened the Enclave")

    monkeypatch.setattr("ui.web.session.open_enclave", must_not_open)
    runpy.run_path(str(APP), run_name="__mp_main__")


def test_a_page_opened_first_by_its_address_runs_inside_the_app_frame(shared_data_dir):
    """A folder named `pages` beside app.py (hence app_pages/) would switch Streamlit to its old pages-folder mode, where a
    page's own URL runs that page alone: without the sign-in and the navigation the entry point sets."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page(DOCUMENTS_PAGE).run()  # before any run: as a first visit to /documents

    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Documents"
    assert "Signed in as" in at.sidebar.caption[0].value


def test_the_local_user_is_named_by_enclave_default_user(shared_data_dir, monkeypatch):
    monkeypatch.setenv("ENCLAVE_DEFAULT_USER", "ana")
    at = open_app()

    assert at.session_state["user"].name == "ana"
    assert at.sidebar.caption[0].value == "Signed in as **ana** (admin)"


# --- Ask --------------------------------------------------------------------------------------------------------


@pytest.fixture
def member_of(shared_data_dir, monkeypatch):
    """Sign-in required, and a member of the given groups with an account in the shared copy (made once: the copy is
    shared by the module's tests). Returns an app signed in as them."""
    monkeypatch.setenv("ENCLAVE_AUTH", "password")

    def signed_in(name: str, groups: tuple[str, ...]) -> AppTest:
        with data_dir_accounts() as accounts:
            if name not in {a.name for a in accounts.list_users()}:
                accounts.add_user(name, "member", groups, by="root")
            return signed_in_app(accounts, name)

    return signed_in


def test_question_answered_from_the_memo_shows_the_answer_and_its_source(member_of):
    at = ask(member_of("reader", ()), "How many bottles of water were delivered?")

    assert at.sidebar.caption[0].value == "Signed in as **reader**"  # asked as a member, not the local admin

    user, assistant = at.chat_message
    assert user.markdown[0].value == "How many bottles of water were delivered?"
    assert assistant.markdown[0].value.strip()
    sources = [e.label for e in assistant.expander]
    assert any("memo-supply-delivery.pdf" in label for label in sources), sources  # cited, or retrieved and shown
    memo = next(e for e in assistant.expander if "memo-supply-delivery.pdf" in e.label)
    assert any("20,000 bottles of water" in t.value for t in memo.text)
    turn = at.session_state["chat"][-1]
    assert turn.citations or turn.retrieved  # kept for the redraw on the next rerun


def test_history_is_redrawn_with_its_sources_on_the_next_rerun(shared_data_dir):
    at = ask(open_app(), "How many bottles of water were delivered?")
    at.run()
    assert len(at.chat_message) == 2
    assert any("memo-supply-delivery.pdf" in e.label for e in at.chat_message[1].expander)


def test_an_answer_left_streaming_is_kept_as_stopped_on_the_next_run(shared_data_dir):
    from assistant import Answer, AnswerStream

    stream = AnswerStream([], iter(["Twenty thousand ", "bottles", " were"]),
                          lambda raw, reasoning, stopped: Answer(raw, stopped=stopped))
    at = open_app()
    at.session_state["chat"] = [ChatTurn("user", "How many bottles?")]
    pieces = iter(stream)
    next(pieces), next(pieces)  # two pieces had arrived when the user pressed Stop (or asked something else)
    at.session_state["pending_answer"] = stream
    at.run()

    assert at.chat_message[1].markdown[0].value == "Twenty thousand bottles"
    assert any("Stopped before the answer was complete" in c.value for c in at.chat_message[1].caption)
    assert "pending_answer" not in at.session_state


def test_unsupported_sentences_are_highlighted_and_explained(shared_data_dir):
    from assistant import Answer, Sentence

    answer = Answer("20,000 bottles [1]. Delivered by drones.",
                    sentences=(Sentence("20,000 bottles.", (1,)), Sentence("Delivered by drones.", unsupported=True)))
    at = open_app()
    at.session_state["chat"] = [ChatTurn("user", "How many bottles?"), turn_from_answer(answer)]
    at.run()

    assert at.chat_message[1].markdown[0].value == "20,000 bottles [1]. :orange-background[Delivered by drones.]"
    assert any("not supported by the sources" in c.value for c in at.chat_message[1].caption)


def memo_citation(data_dir: Path, name: str = "memo-supply-delivery.pdf") -> "Citation":
    from assistant import Citation

    with opened_registry(data_dir) as registry:
        [record] = registry.find(name)
    return Citation(n=1, document=record.name, page=1, chunk_id="c", text="20,000 bottles of water",
                    document_id=record.document_id)


def test_a_cited_pdf_page_is_shown_to_a_user_allowed_to_see_it(shared_data_dir):
    at = open_app()
    at.session_state["chat"] = [ChatTurn("user", "How many bottles?"),
                                ChatTurn("assistant", "20,000 [1].", (memo_citation(shared_data_dir),))]
    at.run()
    at.toggle(key="page-turn1-1").set_value(True).run()

    assert not at.exception, [e.value for e in at.exception]
    [image] = at.get("image")
    assert image.proto.imgs[0].caption == "memo-supply-delivery.pdf, page 1"
    assert not at.warning


def test_a_cited_page_is_refused_to_a_user_who_may_not_see_the_document(data_dir, shared_models, tmp_path,
                                                                        monkeypatch):
    from shared_data import DOCS

    from ingest import load_settings

    hr_memo = tmp_path / "hr-memo.pdf"  # every account is in `everyone`: this one is for hr only
    shutil.copy(DOCS / "memo-supply-delivery.pdf", hr_memo)
    ingestor = shared_models.ingestor(load_settings(data_dir=data_dir, _env_file=None))
    try:
        assert [r.status for r in ingestor.ingest([hr_memo], groups=["hr"])] == ["added"]
    finally:
        ingestor.close()  # before the app opens the store
    monkeypatch.setenv("ENCLAVE_AUTH", "password")
    with data_dir_accounts() as accounts:
        accounts.add_user("mallory", "member", ["contractors"], by="root")
        at = signed_in_app(accounts, "mallory")
    at.session_state["chat"] = [ChatTurn("user", "How many bottles?"),
                                ChatTurn("assistant", "20,000 [1].", (memo_citation(data_dir, "hr-memo.pdf"),))]
    at.run()
    at.toggle(key="page-turn1-1").set_value(True).run()

    assert not at.get("image")
    assert any("cannot be shown" in w.value for w in at.warning)


def test_unreachable_llm_shows_what_to_do_instead_of_a_traceback(data_dir, monkeypatch):
    monkeypatch.setenv("ENCLAVE_LLM_BASE_URL", f"http://127.0.0.1:{find_free_port()}/v1")
    at = ask(open_app(), "How many bottles of water were delivered?")

    errors = [e.value for e in at.chat_message[1].error]
    assert len(errors) == 1
    assert "unreachable" in errors[0] and "enclave llm serve" in errors[0]
    assert not at.chat_message[1].expander


def test_question_with_nothing_relevant_says_so_without_sources(data_dir, monkeypatch):
    from assistant import NOTHING_FOUND

    monkeypatch.setenv("ENCLAVE_MIN_RELEVANCE", "0.99")  # nothing is that close: the LLM is never asked
    monkeypatch.setenv("ENCLAVE_MIN_SEMANTIC_RELEVANCE", "0.99")
    at = ask(open_app(), "How many bottles of water were delivered?")

    assert at.chat_message[1].markdown[0].value == NOTHING_FOUND
    assert not at.chat_message[1].expander
    assert not at.error


def test_a_bad_setting_is_shown_on_the_page_not_raised(data_dir, monkeypatch):
    monkeypatch.setenv("ENCLAVE_SEARCH_METHOD", "fuzzy")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()

    assert not at.exception
    assert "ENCLAVE_SEARCH_METHOD" in at.error[0].value
    assert not at.chat_input  # the page stopped before drawing anything else


# --- Documents --------------------------------------------------------------------------------------------------


def test_documents_page_lists_the_ingested_documents(shared_data_dir):
    at = open_app(DOCUMENTS_PAGE)

    names = document_names(at)
    assert {"memo-supply-delivery.pdf", "family-day.eml"} <= names
    assert len(listed_documents(at)) >= 2


def test_uploaded_files_are_saved_under_their_own_names_and_ingested(data_dir):
    name = "Política de privacidad – versión final (2).txt"
    text = "La política de privacidad explica qué datos personales guardamos y durante cuánto tiempo.\n"
    at = open_app(DOCUMENTS_PAGE)
    before = len(listed_documents(at))

    at.file_uploader[0].set_value([(name, text.encode(), "text/plain"), ("../../escape.md", b"# Hi\n\nthere.\n", "text/markdown")])
    at.button(key="upload-submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    wait_for_uploads()
    at.run()  # what a reload shows: the batch's outcome comes from the ingestion log, not from the session

    assert not at.exception, [e.value for e in at.exception]
    assert (data_dir / "originals" / name).read_text() == text
    assert (data_dir / "originals" / "escape.md").is_file()
    assert not (data_dir.parent / "escape.md").exists()
    assert at.success and "2 added" in at.success[0].value
    assert at.get("progress")[0].value == 100
    assert {name, "escape.md"} <= document_names(at)
    assert len(listed_documents(at)) == before + 2


def test_an_upload_batch_is_still_shown_after_a_reload(data_dir):
    at = open_app(DOCUMENTS_PAGE)
    at.file_uploader[0].set_value([("notes.txt", b"Quarterly notes about the warehouse.\n", "text/plain")])
    at.button(key="upload-submit").click().run()
    wait_for_uploads()

    reloaded = open_app(DOCUMENTS_PAGE)  # a new session, as after pressing F5
    assert "notes.txt" in [row for row in reloaded.dataframe[0].value["File"]]
    assert "1 added" in reloaded.success[0].value


def test_a_failed_files_whole_reason_is_printed_below_the_batch_table(data_dir):
    """The table is drawn on a canvas in the browser and cuts a long reason off: the page prints each one whole."""
    at = open_app(DOCUMENTS_PAGE)
    at.file_uploader[0].set_value([("quarterly-report.pdf", (BAD / "quarterly-report.pdf").read_bytes(),
                                    "application/pdf")])  # a PNG named .pdf
    at.button(key="upload-submit").click().run()
    wait_for_uploads()
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert [r for r in at.dataframe[0].value["Status"]] == ["failed"]
    reason = at.dataframe[0].value["Reason"][0]
    assert reason.startswith("not a PDF: the content is a PNG image") and len(reason) > 60
    assert f"quarterly-report.pdf: {reason}" in [t.value for t in at.text]
    assert "quarterly-report.pdf" not in document_names(at)


def test_a_full_disk_is_shown_on_the_documents_page_and_questions_are_still_answered(
        small_disk, ingested_data_dir, live_llm, own_enclave, monkeypatch):
    from small_disks import fill

    from ingest.disk_space import MB, RESERVE_BYTES

    data = small_disk / "data"
    subprocess.run(["cp", "-a", "--sparse=always", str(ingested_data_dir), str(data)], check=True)  # store files are sparse
    use_data_dir(monkeypatch, data)
    at = open_app(DOCUMENTS_PAGE)
    fill(small_disk, leave=RESERVE_BYTES + 1 * MB)  # the upload (250 KB) fits, its ~250 chunks do not
    notes = "The warehouse shipped pallets of goods to the northern depot. " * 4000

    at.file_uploader[0].set_value([("warehouse-notes.txt", notes.encode(), "text/plain")])
    at.button(key="upload-submit").click().run()
    wait_for_uploads()
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert [r for r in at.dataframe[0].value["Status"]] == ["failed"]
    assert any(e.value.startswith("Disk full: ") and "MB needed" in e.value for e in at.error), at.error
    assert "warehouse-notes.txt" not in document_names(at)
    at.switch_page("app_pages/chat.py").run()
    answered = ask(at, "How many bottles of water were delivered?")
    assert any("memo-supply-delivery.pdf" in e.label for e in answered.chat_message[1].expander)


def wait_for_uploads(timeout: float = 300) -> None:
    """Uploads are ingested in a background thread (a reload must not stop them): wait for it."""
    from ui.web.session import background_ingest

    background_ingest().wait(timeout)


def test_deleting_a_document_removes_it_from_the_list(data_dir):
    at = open_app(DOCUMENTS_PAGE)
    memo = next(r for r in _records(data_dir) if r.name == "memo-supply-delivery.pdf")

    at.button(key=f"delete-{memo.document_id}").click().run()
    assert "memo-supply-delivery.pdf" in at.warning[0].value  # asks first
    at.button(key="confirm-delete").click().run()

    assert memo.document_id not in listed_documents(at)
    assert "memo-supply-delivery.pdf" not in document_names(at)
    assert "Deleted memo-supply-delivery.pdf." in [s.value for s in at.success]
    assert memo.document_id not in {r.document_id for r in _records(data_dir)}


def test_keeping_a_document_cancels_the_deletion(data_dir):
    at = open_app(DOCUMENTS_PAGE)
    first = listed_documents(at)[0]

    at.button(key=f"delete-{first}").click().run()
    at.button(key="cancel-delete").click().run()

    assert first in listed_documents(at)
    assert not at.warning


def test_the_reindex_button_reindexes_the_document_in_the_background(data_dir):
    at = open_app(DOCUMENTS_PAGE)
    email = next(r for r in _records(data_dir) if r.name == "family-day.eml")

    at.button(key=f"reindex-{email.document_id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    wait_for_uploads()
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    after = next(r for r in _records(data_dir) if r.document_id == email.document_id)
    assert after.version == email.version + 1
    assert [(row, status) for row, status in zip(at.dataframe[0].value["File"], at.dataframe[0].value["Status"])] == [
        ("family-day.eml", "updated")
    ]
    assert "1 updated" in at.success[0].value


def _records(data_dir: Path) -> list[DocumentRecord]:
    """What the registry holds, read beside the app's own connection (SQLite WAL allows both)."""
    with opened_registry(data_dir) as registry:
        return registry.all()
