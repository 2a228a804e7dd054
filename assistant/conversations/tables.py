"""The conversations' tables as the code reads and writes them; the assistant's migration tree creates them
(versions/0003_conversations.py), and tests/assistant/test_migrations.py checks that the two agree.

Times are text in the audit trail's one format (assistant/audit/records.format_time): UTC to the microsecond, the
same width, so they sort and compare as the times do on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

RATINGS = ("up", "down")

metadata = MetaData()

# One row per conversation, owned by one account name: nobody else opens it.
conversations = Table(
    "conversations", metadata,
    Column("id", String(32), primary_key=True),  # random: an id seen over a shoulder opens nothing anyway
    Column("owner", String(128), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),  # the last question: the retention counts from it
    Index("ix_conversations_owner", "owner", "updated_at"),
    Index("ix_conversations_updated_at", "updated_at"),
)  # fmt: skip

# Each question and its checked answer, numbered from 1 in the conversation.
conversation_turns = Table(
    "conversation_turns", metadata,
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("asked_at", String(32), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),  # JSON: text, citations, sentences, also retrieved (records.py)
    Column("model", String(256), nullable=False),  # "" when Enclave answered without the LLM
)  # fmt: skip

# Thumbs up or down on one answer, for the admins. A copy of what was rated (question, answer, cited chunks, model):
# it outlives the conversation, whose owner may delete it, until the retention.
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("given_at", String(32), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True),
    Column("turn", Integer, nullable=True),
    Column("rating", String(8), nullable=False),
    Column("comment", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("chunk_ids", Text, nullable=False),  # JSON list of the cited chunks' ids
    Column("model", String(256), nullable=False),
    CheckConstraint("rating IN ('up', 'down')", name="ck_feedback_rating"),
    UniqueConstraint("conversation_id", "turn", name="uq_feedback_turn"),  # rated again: the rating is replaced
    Index("ix_feedback_given_at", "given_at"),
)  # fmt: skip
