"""What the Enclave records in the audit trail (assistant/service.py, assistant/audit/recording.py): each document a
batch changed, each answer and search with the ids of what it revealed, the question's text only when allowed; a
document change it cannot record is an error, a question it cannot record is answered and logged. Real store, real
embedding model, a copy of the session's ingested data folder (SQLite)."""

from __future__ import annotations

import logging
import shutil

import pytest

from assistant import AuditUnavailable, User, load_assistant_settings
from audit_trails import tamper
from ingest import load_settings

ADMIN = User("root", groups=("it",), is_admin=True)
ALICE = User("alice", groups=("everyone",))
NOTHING_LIKE_IT = "qwxz vbnm plokij?"  # nothing stored is near it: answered "not found" without asking the LLM


@pytest.fixture
def data_dir(ingested_data_dir, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    return copy


def last_seq(enclave):
    """The place of the newest record: the session's data folder may already hold searches other tests made."""
    newest = enclave.audit.records(limit=1)
    return newest[-1].seq if newest else 0


def records_after(enclave, seq, **filters):
    return [record for record in enclave.audit.records(**filters) if record.seq > seq]


@pytest.fixture
def open_enclave_at(shared_models):
    opened = []

    def open_at(data_dir, **settings):
        enclave = shared_models.enclave(load_settings(data_dir=data_dir, _env_file=None),
                                        load_assistant_settings(_env_file=None, **settings))
        opened.append(enclave)
        return enclave

    yield open_at
    for enclave in opened:
        enclave.close()


def test_each_document_a_batch_changes_is_recorded_and_an_unchanged_one_is_not(data_dir, tmp_path, open_enclave_at):
    enclave = open_enclave_at(data_dir)
    policy = tmp_path / "policy.txt"
    policy.write_text("Employees may carry over five days of leave into the next year.\n")

    before = last_seq(enclave)
    [added] = enclave.ingest([policy], ADMIN, groups=("hr",))
    enclave.ingest([policy], ADMIN, groups=("hr",))  # unchanged: nothing done, nothing recorded
    [reindexed] = enclave.reindex([added.document_id], ADMIN)
    [removed] = enclave.remove([added.document_id], ADMIN)
    [missing] = enclave.remove(["no-such-document"], ADMIN)

    records = [(r.actor, r.action, r.target, r.details) for r in records_after(enclave, before, action="document")]
    assert records == [
        ("root", "document.ingest", added.document_id,
         {"path": str(policy), "status": "added", "chunks": added.chunks, "groups": ["hr"]}),
        ("root", "document.reindex", added.document_id,
         {"path": reindexed.path, "status": "updated", "chunks": reindexed.chunks}),
        ("root", "document.remove", added.document_id, {"path": removed.path, "status": "removed"}),
        ("root", "document.remove", "", {"path": "no-such-document", "status": "failed", "reason": missing.reason}),
    ]
    assert enclave.audit.verify().intact


def test_a_document_change_that_cannot_be_recorded_is_reported_and_stays_made(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir)
    [record, *_] = enclave.documents()
    tamper(enclave.components.database, "DELETE FROM audit_chain")

    with pytest.raises(AuditUnavailable, match="1 document changes were made but could not be recorded"):
        enclave.remove([record.document_id], ADMIN)

    assert record.document_id not in {r.document_id for r in enclave.documents()}


def test_a_search_is_recorded_with_the_ids_it_returned_and_not_its_text(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir, read_only=True)

    before = last_seq(enclave)
    passages = enclave.assistant.search("bottles of water delivered", ALICE, k=3)

    [record] = records_after(enclave, before, action="search")
    assert (record.actor, record.details) == ("alice", {
        "results": [{"chunk_id": p.chunk.chunk_id, "document_id": p.chunk.document_id} for p in passages],
    })
    assert passages and "bottles" not in record.details_json


def test_with_question_text_allowed_the_record_keeps_it(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir, read_only=True, audit_question_text=True)

    before = last_seq(enclave)
    enclave.assistant.ask(NOTHING_LIKE_IT, ALICE).read()
    enclave.assistant.search("bottles of water delivered", ALICE, k=1, method="dense")

    [question, search] = records_after(enclave, before)
    assert question.details["question"] == NOTHING_LIKE_IT
    assert search.details["query"] == "bottles of water delivered" and search.details["method"] == "dense"


def test_a_not_found_answer_is_recorded_once_read_with_nothing_revealed(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir, read_only=True)

    before = last_seq(enclave)
    stream = enclave.assistant.ask(NOTHING_LIKE_IT, ALICE)
    assert records_after(enclave, before) == []  # not yet: the answer is recorded once it is complete
    answer = stream.read()

    assert answer.not_found
    [record] = records_after(enclave, before)
    assert (record.actor, record.action, record.details) == (
        "alice", "question", {"cited": [], "retrieved": [], "not_found": True, "stopped": False},
    )


def test_a_question_whose_record_cannot_be_written_is_answered_and_the_failure_logged(data_dir, open_enclave_at,
                                                                                         caplog):
    enclave = open_enclave_at(data_dir, read_only=True)
    tamper(enclave.components.database, "DELETE FROM audit_chain")

    with caplog.at_level(logging.ERROR, logger="assistant.audit.recording"):
        answer = enclave.assistant.ask(NOTHING_LIKE_IT, ALICE).read()
        passages = enclave.assistant.search("bottles of water delivered", ALICE, k=1)

    assert answer.not_found and passages
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "the audit trail could not record a question by alice", "the audit trail could not record a search by alice",
    ]


def test_an_answer_is_recorded_with_the_chunk_and_document_ids_it_cited_and_showed(data_dir, open_enclave_at,
                                                                                    llm_server):
    enclave = open_enclave_at(data_dir, read_only=True, llm_base_url=llm_server.base_url)
    question = "How many bottles of water were delivered?"

    before = last_seq(enclave)
    answer = enclave.assistant.ask(question, ALICE).read()

    [record] = records_after(enclave, before, action="question")
    assert answer.citations  # the memo says it: the record is not trivially empty
    assert record.details == {
        "cited": [{"chunk_id": c.chunk_id, "document_id": c.document_id} for c in answer.citations],
        "retrieved": [{"chunk_id": c.chunk_id, "document_id": c.document_id} for c in answer.retrieved],
        "not_found": False,
        "stopped": False,
    }
    assert "bottles" not in record.details_json
