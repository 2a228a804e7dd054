"""Saved conversations and feedback: each user's conversations, reopened and continued with their history, and the
thumbs up or down given on answers, which admins list and export; both purged past the retention.

store    the Conversations store (start, add a turn, list, open, rename, delete; record, list feedback; purge) and
         open_conversations for the command line (the database only)
records  a conversation, a turn and feedback as the app and the command line see them; an answer as it is kept
tables   the tables (the assistant's migration tree creates them)
"""

from assistant.conversations.records import (
    Conversation,
    ConversationSummary,
    ConversationTurn,
    Feedback,
    feedback_csv,
    title_from,
)
from assistant.conversations.store import Conversations, delete_conversations_of, open_conversations

__all__ = [
    "Conversation",
    "ConversationSummary",
    "ConversationTurn",
    "Conversations",
    "Feedback",
    "delete_conversations_of",
    "feedback_csv",
    "open_conversations",
    "title_from",
]
