"""The assistant's spans (assistant/tracing.py): a question is one span, with its retrieval and its LLM call as
children, and none of them carries the question, the answer, a document's name or the user's. Real store, real
embedding model, the session's real LLM server, tracing started as the app starts it (tests/traces.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from traces import attribute_values

from assistant import User, load_assistant_settings
from ingest import load_settings

ALICE = User("alice", groups=("everyone",))
QUESTION = "How many bottles of water were delivered?"


@pytest.fixture
def enclave(ingested_data_dir, tmp_path, shared_models, llm_server):
    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    opened = shared_models.enclave(load_settings(data_dir=copy, _env_file=None),
                                   load_assistant_settings(_env_file=None, llm_base_url=llm_server.base_url),
                                   read_only=True)
    yield opened
    opened.close()


def test_a_question_is_one_span_with_its_retrieval_and_its_llm_call_as_children(enclave, recorded_spans):
    answer = enclave.assistant.ask(QUESTION, ALICE).read()

    spans = recorded_spans.finished()
    [question] = [s for s in spans if s.name == "enclave.question"]
    [retrieval] = [s for s in spans if s.name == "enclave.retrieval"]
    [llm] = [s for s in spans if s.name == "enclave.llm"]
    assert retrieval.parent.span_id == question.context.span_id and llm.parent.span_id == question.context.span_id
    assert retrieval.context.trace_id == llm.context.trace_id == question.context.trace_id
    assert question.attributes["enclave.answer.outcome"] == ("not_found" if answer.not_found else "answered")
    assert question.attributes["enclave.answer.citations"] == len(answer.citations)
    assert retrieval.attributes["enclave.retrieval.method"] == "hybrid"
    assert retrieval.attributes["enclave.retrieval.passages"] > 0
    assert llm.attributes["enclave.llm.call"] == "stream" and llm.attributes["enclave.llm.outcome"] == "complete"
    assert llm.attributes["gen_ai.usage.output_tokens"] > 0
    assert llm.start_time >= retrieval.end_time and question.end_time >= llm.end_time  # the order, not durations


def test_no_span_carries_the_question_the_answer_a_document_or_the_user(enclave, recorded_spans):
    answer = enclave.assistant.ask(QUESTION, ALICE).read()
    enclave.assistant.search(QUESTION, ALICE, k=3)

    values = " ".join(attribute_values(recorded_spans.finished())).lower()
    secrets = [QUESTION, answer.text, *answer.text.split(". "), ALICE.name]
    secrets += [word for word in QUESTION.strip("?").split() if len(word) > 4]  # bottles, water, delivered
    for record in enclave.documents():
        secrets += [record.name, Path(record.name).stem, record.source, record.title, record.document_id]
    for citation in answer.citations + answer.retrieved:
        secrets += [citation.chunk_id, citation.text[:40]]
    assert answer.citations or answer.retrieved  # there is something to leak
    secrets = [secret.strip().lower() for secret in secrets if len(secret.strip()) >= 5]  # not "5", a count's digit
    leaked = [secret for secret in secrets if secret in values]
    assert not leaked, leaked


def test_a_search_is_a_span_of_its_own(enclave, recorded_spans):
    passages = enclave.assistant.search(QUESTION, ALICE, k=3, method="dense")

    [search] = recorded_spans.finished()
    assert search.name == "enclave.retrieval" and search.parent is None
    assert search.attributes["enclave.retrieval.operation"] == "search"
    assert search.attributes["enclave.retrieval.method"] == "dense"
    assert search.attributes["enclave.retrieval.passages"] == len(passages)


def test_a_stopped_answer_ends_its_spans_as_stopped(enclave, recorded_spans):
    stream = enclave.assistant.ask(QUESTION, ALICE)
    next(iter(stream))  # the first piece written
    stream.stop()

    spans = {s.name: s for s in recorded_spans.finished()}
    assert spans["enclave.question"].attributes["enclave.answer.outcome"] == "stopped"
    assert spans["enclave.llm"].attributes["enclave.llm.outcome"] == "stopped"


def test_an_llm_that_cannot_be_reached_fails_the_question_span_by_error_type_alone(ingested_data_dir, tmp_path,
                                                                                 shared_models, recorded_spans):
    from assistant import LLMUnavailable
    from assistant.llm import find_free_port

    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    nobody = f"http://127.0.0.1:{find_free_port()}/v1"  # nothing listens there
    enclave = shared_models.enclave(load_settings(data_dir=copy, _env_file=None),
                                    load_assistant_settings(_env_file=None, llm_base_url=nobody), read_only=True)
    try:
        with pytest.raises(LLMUnavailable):
            enclave.assistant.ask(QUESTION, ALICE).read()
    finally:
        enclave.close()

    spans = {s.name: s for s in recorded_spans.finished()}
    question, llm = spans["enclave.question"], spans["enclave.llm"]
    assert question.status.status_code.name == "ERROR" and question.status.description == "LLMUnavailable"
    assert question.attributes["error.type"] == "LLMUnavailable"
    assert llm.attributes["enclave.llm.outcome"] == "failed" and llm.parent.span_id == question.context.span_id
    assert all(nobody not in value for value in attribute_values(spans.values()))  # the message names the URL
