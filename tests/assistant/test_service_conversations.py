"""The Enclave's conversations (assistant/service.py): an answer kept as its conversation's next turn, with the model
that wrote it; a conversation reopened in a new Enclave (a restart, a reload) gives the history a follow-up reads, and
the follow-up is rewritten to stand alone as in a live session; passages the user may no longer see are withheld; what
is past the retention goes at start-up. Real store, real embedding model, the real test LLM server, a copy of the
session's ingested data folder (SQLite)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from assistant import (
    Answer,
    Citation,
    ConversationNotFound,
    User,
    load_assistant_settings,
    open_conversations,
)
from ingest import load_settings

ALICE = User("alice", groups=("everyone",))
BOB = User("bob", groups=("everyone",))
QUESTION = "How many bottles of water were delivered?"
FOLLOW_UP = "and how many in May?"  # points back: read with the conversation, rewritten before the search


@pytest.fixture
def data_dir(ingested_data_dir, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    return copy


@pytest.fixture
def open_enclave_at(shared_models, llm_server):
    opened = []

    def open_at(data_dir, **settings):
        enclave = shared_models.enclave(
            load_settings(data_dir=data_dir, _env_file=None),
            load_assistant_settings(_env_file=None, llm_base_url=llm_server.base_url, llm_max_tokens=64, **settings),
            read_only=True,
        )  # fmt: skip
        opened.append(enclave)
        return enclave

    yield open_at
    for enclave in opened:
        enclave.close()


def test_a_conversation_reopened_in_a_new_enclave_continues_with_its_history(data_dir, open_enclave_at):
    first = open_enclave_at(data_dir)
    answer = first.assistant.ask(QUESTION, ALICE).read()
    kept = first.keep_turn(ALICE, None, QUESTION, answer)
    first.close()

    enclave = open_enclave_at(data_dir)  # as after a restart: nothing of the first is left in memory
    reopened = enclave.open_conversation(ALICE, kept.conversation_id)
    assert reopened.history == [(QUESTION, answer.text)]  # what the live session passed (ui.web.session.conversation_turns)
    follow_up = enclave.assistant.ask(FOLLOW_UP, ALICE, history=reopened.history).read()
    second = enclave.keep_turn(ALICE, reopened.id, FOLLOW_UP, follow_up)

    assert follow_up.query and follow_up.query != FOLLOW_UP  # read with the conversation: rewritten to stand alone
    assert (kept.n, second.n, second.conversation_id) == (1, 2, kept.conversation_id)
    assert kept.model == enclave.assistant.llm.model and kept.model
    turns = enclave.open_conversation(ALICE, kept.conversation_id).turns
    assert [(t.question, t.answer.text, t.answer.query) for t in turns] == [
        (QUESTION, answer.text, answer.query), (FOLLOW_UP, follow_up.text, follow_up.query)]
    assert [c.chunk_id for c in turns[0].answer.citations] == [c.chunk_id for c in answer.citations]


def test_another_user_can_neither_open_nor_continue_a_conversation(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir)
    kept = enclave.keep_turn(ALICE, None, QUESTION, Answer("20,000 [1]."))

    with pytest.raises(ConversationNotFound):
        enclave.open_conversation(BOB, kept.conversation_id)
    with pytest.raises(ConversationNotFound):
        enclave.keep_turn(BOB, kept.conversation_id, FOLLOW_UP, Answer("5,000."))
    assert enclave.conversations.list_for(BOB) == []
    assert len(enclave.open_conversation(ALICE, kept.conversation_id).turns) == 1


def test_a_nothing_found_answer_is_kept_without_a_model(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir)
    nothing = enclave.assistant.ask("qwxz vbnm plokij?", ALICE).read()  # nothing near it: the LLM is not asked
    assert nothing.not_found
    assert enclave.keep_turn(ALICE, None, "qwxz vbnm plokij?", nothing).model == ""


def test_a_reopened_conversation_withholds_passages_the_user_may_no_longer_see(data_dir, open_enclave_at):
    enclave = open_enclave_at(data_dir)
    [memo] = [r for r in enclave.documents(ALICE) if r.name == "memo-supply-delivery.pdf"]
    shown = Citation(1, memo.name, 1, "memo-chunk", "20,000 bottles of water", document_id=memo.document_id)
    gone = Citation(2, "removed.pdf", 3, "gone-chunk", "the secret figure", document_id="removed-document")
    kept = enclave.keep_turn(ALICE, None, QUESTION, Answer("20,000 [1], or more [2].", [shown, gone],
                                                           retrieved=[gone]))

    [turn] = enclave.open_conversation(ALICE, kept.conversation_id).turns

    assert turn.answer.citations[0] == shown
    withheld = turn.answer.citations[1]
    assert (withheld.n, withheld.document, withheld.document_id) == (2, "removed.pdf", "")
    assert "secret" not in withheld.text and "no longer available" in withheld.text
    assert turn.answer.retrieved == []
    assert turn.answer.text == "20,000 [1], or more [2]."


def test_conversations_past_the_retention_go_when_the_enclave_starts(data_dir, open_enclave_at):
    long_ago = open_conversations(load_settings(data_dir=data_dir, _env_file=None),
                                  load_assistant_settings(_env_file=None),
                                  clock=lambda: datetime(2001, 1, 1, tzinfo=timezone.utc))
    try:
        old = long_ago.start(ALICE, QUESTION).id
    finally:
        long_ago.close()

    enclave = open_enclave_at(data_dir, conversation_retention_days=30)

    with enclave.components.database.reading("count") as connection:
        from sqlalchemy import text

        assert connection.execute(text("SELECT count(*) FROM conversations WHERE id = :id"), {"id": old}).scalar() == 0
