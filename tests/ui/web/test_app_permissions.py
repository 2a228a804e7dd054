"""Who sees what, in the app with AppTest: two browser sessions signed in as different accounts on one server (one
Enclave, one data folder), answered by the test LLM server. Member `alice` in `hr` asks about a `finance` document
and gets the not-found answer with no source; `bob` in `finance` gets it answered and cited; an admin gets both.
The same scenario through the command line: tests/ui/commands/test_cli_permissions.py; as a property, through the service
and the command line: tests/test_permissions.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit_apps import admin, data_dir_accounts, member, signed_in_app

from assistant import NOTHING_FOUND, User, load_assistant_settings
from ingest import load_settings

pytestmark = pytest.mark.usefixtures("keep_main_module", "on_loopback", "own_enclave")

FINANCE_DOC = "memo-supply-delivery.pdf"  # the delivery memo: 20,000 bottles of water
HR_DOC = "family-day.eml"  # the staff family day invitation
QUESTION = "How many bottles of water were delivered?"
SHARED_WITH = {FINANCE_DOC: ("finance",), HR_DOC: ("hr",)}  # the other sample documents: admins alone
DOCUMENTS_PAGE = "app_pages/documents.py"


@pytest.fixture
def data_dir(ingested_data_dir: Path, tmp_path: Path, shared_models, llm_server,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's sample documents, each shared as SHARED_WITH says (by grant and revoke), with accounts
    for alice (hr), bob (finance) and root (admin); the app signs in with passwords and answers with the test LLM."""
    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    root = User("root", is_admin=True)
    enclave = shared_models.enclave(load_settings(data_dir=data, _env_file=None),
                                    load_assistant_settings(_env_file=None))
    try:
        for record in enclave.documents():
            for group in SHARED_WITH.get(record.name, ()):
                enclave.grant(record.document_id, group, root)
            enclave.revoke(record.document_id, "everyone", root)
        assert {r.name: r.groups for r in enclave.documents() if r.groups} == SHARED_WITH
    finally:
        enclave.close()  # before the app opens the store
    monkeypatch.setenv("ENCLAVE_DATA_DIR", str(data))
    monkeypatch.setenv("ENCLAVE_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ENCLAVE_LLM_MAX_TOKENS", "96")  # enough for an answer, quick on a CPU
    monkeypatch.setenv("ENCLAVE_AUTH", "password")
    with data_dir_accounts(data) as accounts:
        admin(accounts, "root")
        member(accounts, "alice", ("hr",))
        member(accounts, "bob", ("finance",))
    return data


def signed_in(name: str) -> AppTest:
    """A new browser session on the app, signed in as `name`."""
    with data_dir_accounts() as accounts:
        return signed_in_app(accounts, name)


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sources(at: AppTest) -> list[str]:
    """The labels of the sources under the last answer (cited, then "Also retrieved")."""
    return [e.label for e in at.chat_message[-1].expander]


def test_alice_in_hr_gets_not_found_bob_in_finance_an_answer_and_an_admin_both(data_dir):
    alice, bob = signed_in("alice"), signed_in("bob")  # two tabs, one server: the same cached Enclave

    ask(alice, QUESTION)
    assert alice.chat_message[1].markdown[0].value == NOTHING_FOUND
    assert sources(alice) == [] and not alice.error
    assert alice.session_state["chat"][-1].citations == () and alice.session_state["chat"][-1].retrieved == ()

    ask(bob, QUESTION)
    answer = bob.session_state["chat"][-1]
    assert bob.chat_message[1].markdown[0].value != NOTHING_FOUND
    assert [c.document for c in answer.citations][:1] == [FINANCE_DOC]
    assert {c.document for c in answer.citations + answer.retrieved} == {FINANCE_DOC}
    assert FINANCE_DOC in sources(bob)[0]
    memo = bob.chat_message[1].expander[0]
    assert any("20,000 bottles of water" in t.value for t in memo.text)

    alice.run()  # bob's answer is his tab's alone
    assert len(alice.chat_message) == 2 and alice.chat_message[1].markdown[0].value == NOTHING_FOUND
    assert not any("20,000" in t.value for t in alice.text)

    root = signed_in("root")
    ask(root, QUESTION)
    assert [c.document for c in root.session_state["chat"][-1].citations][:1] == [FINANCE_DOC]
    root.switch_page(DOCUMENTS_PAGE).run()
    assert {FINANCE_DOC, HR_DOC} <= {t.value for t in root.text}  # admins see every document, shared or not
