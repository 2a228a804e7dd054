"""Answering end to end with real parts: stored documents, the packaged embedder, a real LLM server."""

import pytest

from assistant import NOTHING_FOUND, User, load_assistant_settings, open_enclave
from ingest import load_settings


@pytest.fixture
def enclave(ingested_data_dir, llm_server):
    enclave = open_enclave(
        load_settings(data_dir=ingested_data_dir, _env_file=None),
        load_assistant_settings(llm_base_url=llm_server.base_url, llm_max_tokens=48, _env_file=None),
    )
    yield enclave
    enclave.close()


def test_answer_streams_and_cites_the_document_with_the_answer(enclave):
    stream = enclave.assistant.ask("How many bottles of water were delivered?", User("alice"))
    assert stream.passages[0].chunk.document_name == "memo-supply-delivery.pdf"
    pieces = list(stream)
    assert len(pieces) > 1
    assert stream.answer.text.strip()
    assert stream.answer.citations[0].document == "memo-supply-delivery.pdf"


def test_question_with_nothing_relevant_gets_no_invented_answer(enclave):
    answer = enclave.assistant.ask("What is the orbital period of the exoplanet Kepler-452b?", User("alice")).read()
    assert answer.text == NOTHING_FOUND
    assert answer.citations == []
    assert answer.grounded is False


def test_a_user_outside_the_documents_groups_gets_nothing(enclave):
    outsider = User("mallory", groups=("contractors",))
    assert enclave.assistant.search("bottles of water delivered", outsider) == []
    answer = enclave.assistant.ask("How many bottles of water were delivered?", outsider).read()
    assert answer.citations == [] and answer.text == NOTHING_FOUND
