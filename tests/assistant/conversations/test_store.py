"""The Conversations store on SQLite and PostgreSQL: a conversation kept turn by turn and reopened whole (the history a
follow-up reads), its owner's alone, renamed and deleted; feedback on answers for admins; the retention."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant import (
    Accounts,
    Answer,
    Citation,
    ConversationError,
    ConversationNotFound,
    NotAllowed,
    Sentence,
    User,
    feedback_csv,
    load_assistant_settings,
    open_conversations,
)

ALICE = User("alice", groups=("everyone", "finance"))
BOB = User("bob")
ADMIN = User("root", is_admin=True)

MEMO = Citation(1, "memo-supply-delivery.pdf", 1, "chunk-1", "20,000 bottles of water were delivered.",
                document_id="doc-memo", section=("Delivery", "Water"))
LEAFLET = Citation(2, "leaflet.pdf", None, "chunk-9", "Water is good for you.", document_id="doc-leaflet")
ANSWER = Answer("20,000 bottles were delivered [1].", [MEMO], sentences=(Sentence("20,000 bottles were delivered.",
                (1,)),), retrieved=[LEAFLET], query="How many bottles of water were delivered?",
                warnings=("a source held instructions",))
FOLLOW_UP = Answer("In May, 5,000 [1].", [MEMO], query="How many bottles of water were delivered in May?")


def kept(conversations, user=ALICE, question="How many bottles of water were delivered?", answer=ANSWER):
    """A conversation of `user` with one answered question."""
    started = conversations.start(user, question)
    conversations.add_turn(user, started.id, question, answer, model="smollm2")
    return started.id


def test_a_conversation_is_reopened_with_every_turn_and_the_history_a_follow_up_reads(conversations):
    conversation_id = kept(conversations)
    conversations.add_turn(ALICE, conversation_id, "and in May?", FOLLOW_UP, model="smollm2")

    opened = conversations.open(ALICE, conversation_id)

    assert [(t.n, t.question, t.model) for t in opened.turns] == [
        (1, "How many bottles of water were delivered?", "smollm2"), (2, "and in May?", "smollm2")]
    assert opened.turns[0].answer == ANSWER  # citations with their documents and sections, sentences, warnings
    assert opened.history == [("How many bottles of water were delivered?", ANSWER.text), ("and in May?",
                                                                                           FOLLOW_UP.text)]
    assert opened.summary.title == "How many bottles of water were delivered?"


def test_an_answer_without_text_is_kept_but_not_read_by_a_follow_up(conversations):
    conversation_id = kept(conversations, answer=Answer("", stopped=True))
    assert conversations.open(ALICE, conversation_id).history == []


def test_conversations_are_listed_for_their_owner_the_one_continued_last_first(conversations, clock):
    first = kept(conversations, question="What   is the travel\npolicy " + "really " * 20 + "about?")
    clock.advance(minutes=1)
    second = kept(conversations, question="Who signed the memo?")
    kept(conversations, user=BOB)
    clock.advance(minutes=1)
    conversations.add_turn(ALICE, first, "and abroad?", FOLLOW_UP)

    listed = conversations.list_for(ALICE)

    assert [(c.id, c.turns) for c in listed] == [(first, 2), (second, 1)]
    assert listed[0].title.startswith("What is the travel policy really") and listed[0].title.endswith("…")
    assert len(listed[0].title) == 80
    assert listed[0].updated_at == clock.now and listed[0].created_at < clock.now


def test_another_users_conversation_is_refused_as_if_it_did_not_exist(conversations):
    conversation_id = kept(conversations)

    with pytest.raises(ConversationNotFound) as unknown:
        conversations.open(BOB, "0123456789abcdef")
    attempts = [lambda: conversations.open(BOB, conversation_id),
                lambda: conversations.add_turn(BOB, conversation_id, "and in May?", FOLLOW_UP),
                lambda: conversations.rename(BOB, conversation_id, "mine now"),
                lambda: conversations.delete(BOB, conversation_id),
                lambda: conversations.record_feedback(BOB, conversation_id, 1, "down"),
                lambda: conversations.open(ADMIN, conversation_id)]  # admins included: a conversation is its owner's
    for attempt in attempts:
        with pytest.raises(ConversationNotFound) as refused:
            attempt()
        assert str(refused.value) == str(unknown.value).replace("0123456789abcdef", conversation_id)

    assert conversations.list_for(BOB) == []
    assert [t.question for t in conversations.open(ALICE, conversation_id).turns] == [
        "How many bottles of water were delivered?"]  # nothing of bob's attempts reached it


def test_an_admin_acting_as_an_account_sees_its_conversations_and_is_recorded_as_themselves(conversations):
    conversation_id = kept(conversations)
    acting = replace(ALICE, impersonated_by="root")

    assert [c.id for c in conversations.list_for(acting)] == [conversation_id]
    conversations.delete(acting, conversation_id)

    [record] = conversations.audit.records(action="conversation.delete")
    assert (record.actor, record.target, record.details) == ("root", conversation_id, {"turns": 1, "as": "alice"})


def test_a_renamed_conversation_keeps_its_new_title_and_an_empty_one_is_refused(conversations):
    conversation_id = kept(conversations)

    renamed = conversations.rename(ALICE, conversation_id, "  Water\tdeliveries ")
    with pytest.raises(ConversationError, match="cannot be empty"):
        conversations.rename(ALICE, conversation_id, "   ")

    assert renamed.title == "Water deliveries"
    assert [c.title for c in conversations.list_for(ALICE)] == ["Water deliveries"]


def test_a_deleted_conversation_is_gone_recorded_and_its_feedback_stays_with_the_admins(conversations):
    conversation_id = kept(conversations)
    conversations.record_feedback(ALICE, conversation_id, 1, "up")

    conversations.delete(ALICE, conversation_id)

    assert conversations.list_for(ALICE) == []
    with pytest.raises(ConversationNotFound):
        conversations.open(ALICE, conversation_id)
    [rating] = conversations.list_feedback(ADMIN)
    assert (rating.conversation_id, rating.question) == (None, "How many bottles of water were delivered?")
    assert [(r.actor, r.target) for r in conversations.audit.records(action="conversation.delete")] == [
        ("alice", conversation_id)]
    assert conversations.audit.verify().intact


def test_feedback_keeps_a_copy_of_what_was_rated_and_a_second_rating_replaces_the_first(conversations, clock):
    conversation_id = kept(conversations)

    conversations.record_feedback(ALICE, conversation_id, 1, "up")
    clock.advance(minutes=1)
    kept_rating = conversations.record_feedback(ALICE, conversation_id, 1, "down", " The May figure is missing. ")

    assert conversations.list_feedback(ADMIN) == [kept_rating]
    assert kept_rating.to_json() == {
        "id": kept_rating.id, "given": clock.now.isoformat(), "user": "alice", "conversation": conversation_id,
        "turn": 1, "rating": "down", "comment": "The May figure is missing.",
        "question": "How many bottles of water were delivered?", "answer": ANSWER.text, "chunk_ids": ["chunk-1"],
        "model": "smollm2",
    }  # fmt: skip
    records = conversations.audit.records(action="feedback")
    assert [(r.actor, r.target, r.details["rating"], r.details["cited"]) for r in records] == [
        ("alice", conversation_id, "up", ["chunk-1"]), ("alice", conversation_id, "down", ["chunk-1"])]


def test_an_opened_conversation_carries_the_rating_of_each_answer(conversations):
    conversation_id = kept(conversations)
    conversations.add_turn(ALICE, conversation_id, "and in May?", FOLLOW_UP, model="smollm2")
    conversations.record_feedback(ALICE, conversation_id, 2, "up")

    turns = conversations.open(ALICE, conversation_id).turns
    assert [(t.n, t.rating) for t in turns] == [(1, ""), (2, "up")]
    assert [t.to_json()["rating"] for t in turns] == [None, "up"]


def test_feedback_names_a_rating_and_an_answer_that_exist(conversations):
    conversation_id = kept(conversations)
    with pytest.raises(ConversationError, match="not a rating: use up or down"):
        conversations.record_feedback(ALICE, conversation_id, 1, "meh")
    with pytest.raises(ConversationError, match="has no answer 2"):
        conversations.record_feedback(ALICE, conversation_id, 2, "up")
    assert conversations.list_feedback(ADMIN) == []


def test_only_admins_list_the_feedback_and_export_it_as_csv(conversations):
    conversation_id = kept(conversations)
    conversations.record_feedback(ALICE, conversation_id, 1, "down", 'Wrong, "see" page 2')

    with pytest.raises(NotAllowed, match="only admins"):
        conversations.list_feedback(ALICE)
    with pytest.raises(NotAllowed):
        conversations.list_feedback(replace(ALICE, impersonated_by="root"))  # an admin acting as a member
    lines = feedback_csv(conversations.list_feedback(ADMIN)).splitlines()

    assert lines[0] == "id,given,user,conversation,turn,rating,comment,question,answer,chunk_ids,model"
    assert f',alice,{conversation_id},1,down,"Wrong, ""see"" page 2",How many bottles' in lines[1]
    assert lines[1].endswith(",chunk-1,smollm2")


def test_conversations_and_feedback_past_the_retention_are_hidden_then_purged(conversations, clock):
    days = conversations.retention.days
    old = kept(conversations)
    conversations.record_feedback(ALICE, old, 1, "up")
    clock.advance(days=days - 1)
    recent = kept(conversations)
    clock.advance(minutes=1)  # continued after `recent` was started, so listed before it (the same time would tie)
    conversations.add_turn(ALICE, old, "and in May?", FOLLOW_UP)  # continued: counted from its last question
    clock.advance(days=days - 1, minutes=-1)

    assert [c.id for c in conversations.list_for(ALICE)] == [old, recent]
    assert conversations.list_feedback(ADMIN) == []  # given 2 * days - 2 days ago
    clock.advance(days=2)
    assert conversations.list_for(ALICE) == []
    with pytest.raises(ConversationNotFound):
        conversations.open(ALICE, old)
    assert conversations.purge() == (2, 1)
    assert conversations.purge() == (0, 0)


def test_starting_a_conversation_purges_what_is_past_the_retention(conversations, clock):
    old = kept(conversations)
    clock.advance(conversations.retention, days=1)
    kept(conversations, user=BOB)
    with conversations.database.reading("count") as connection:
        from sqlalchemy import text

        ids = connection.execute(text("SELECT id FROM conversations")).scalars().all()
    assert old not in ids and len(ids) == 1


def test_a_retention_of_zero_keeps_conversations_for_good(database_settings, clock):
    store = open_conversations(database_settings,
                               load_assistant_settings(conversation_retention_days=0, _env_file=None), clock=clock)
    try:
        conversation_id = kept(store)
        clock.advance(days=3650)
        assert [c.id for c in store.list_for(ALICE)] == [conversation_id]
        assert store.purge() == (0, 0)
    finally:
        store.close()


def test_removing_an_account_deletes_its_conversations(conversations):
    accounts = Accounts(conversations.database, load_assistant_settings(_env_file=None))
    accounts.add_user("alice", by="root")
    conversation_id = kept(conversations)
    kept(conversations, user=BOB)

    accounts.remove_user("alice", by="root")
    accounts.add_user("alice", by="root")  # someone else, given the name later

    assert conversations.list_for(ALICE) == []
    with pytest.raises(ConversationNotFound):
        conversations.open(ALICE, conversation_id)
    assert len(conversations.list_for(BOB)) == 1
