"""The Conversations store: each user's saved conversations (started, continued, listed, opened, renamed, deleted)
and the feedback given on their answers (recorded by the user, listed and exported by admins), both purged past the
retention (ENCLAVE_CONVERSATION_RETENTION_DAYS), in the database `ingest` opens.

A conversation is its owner's alone: every read and change names the asking user, and another user's id is refused
with the same ConversationNotFound as an id that never existed, so that asking reveals nothing. An admin acting as an
account (`--as`) sees that account's conversations, as that account would. Deleting a conversation and rating an
answer are recorded in the audit trail in the same transaction (both commit, or neither). A database that fails is
ConversationsUnavailable."""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from assistant.audit import AuditEntry, AuditTrail, acting_entries, format_time, parse_time
from assistant.conversations.records import (
    MAX_TITLE,
    Conversation,
    ConversationSummary,
    ConversationTurn,
    Feedback,
    title_from,
)
from assistant.conversations.tables import RATINGS, conversation_turns, conversations, feedback
from assistant.errors import ConversationError, ConversationNotFound, ConversationsUnavailable, NotAllowed
from assistant.migrations import open_assistant_database
from assistant.models import Answer, User, answer_from_json, answer_to_json
from assistant.settings import AssistantSettings
from ingest import Database, IngestError, IngestSettings

Clock = Callable[[], datetime]
MAX_COMMENT = 2000  # characters: a few sentences on what was wrong, not a document


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def not_found(conversation_id: str) -> ConversationNotFound:
    return ConversationNotFound(f"you have no conversation {conversation_id!r} (it may have been deleted, or kept "
                                "past the retention): `enclave conversations` lists yours")


class Conversations:
    """Conversations and feedback in one database. `audit` records deletions and ratings (a trail on the same
    database and clock unless given); `clock` gives the time (tests pass their own)."""

    def __init__(self, database: Database, settings: AssistantSettings, *, audit: AuditTrail | None = None,
                 clock: Clock = _utc_now, owns_database: bool = False) -> None:
        self.database = database
        self.audit = audit or AuditTrail(database, settings, clock=clock)
        days = settings.conversation_retention_days
        self.retention = timedelta(days=days) if days else None  # None: kept for good
        self._clock = clock
        self._owns_database = owns_database  # opened by open_conversations: closed with the store

    # -- the owner's ---------------------------------------------------------------------------------------------

    def start(self, user: User, question: str) -> ConversationSummary:
        """A new, empty conversation of the user's, titled with its first question. What is past the retention is
        purged now too: a server that runs for months purges as people start conversations."""
        now = self._clock()
        summary = ConversationSummary(secrets.token_hex(8), title_from(question) or "New conversation", now, now)
        with self._writing("start a conversation") as connection:
            self._purge(connection, now)
            connection.execute(insert(conversations).values(
                id=summary.id, owner=user.name, title=summary.title, created_at=format_time(now),
                updated_at=format_time(now),
            ))  # fmt: skip
        return summary

    def add_turn(self, user: User, conversation_id: str, question: str, answer: Answer,
                 model: str = "") -> ConversationTurn:
        """Keep a question and its checked answer as the conversation's next turn. `model`: the LLM that wrote it."""
        now = self._clock()
        with self._writing("keep the answer in its conversation") as connection:
            self._owned(connection, user, conversation_id, lock=True)
            last = connection.execute(select(func.max(conversation_turns.c.n))
                                      .where(conversation_turns.c.conversation_id == conversation_id)).scalar_one()
            turn = ConversationTurn(conversation_id, (last or 0) + 1, question, answer, now, model)
            connection.execute(insert(conversation_turns).values(
                conversation_id=conversation_id, n=turn.n, asked_at=format_time(now), question=question,
                answer=answer_to_json(answer), model=model,
            ))  # fmt: skip
            connection.execute(update(conversations).where(conversations.c.id == conversation_id)
                               .values(updated_at=format_time(now)))
        return turn

    def list_for(self, user: User) -> list[ConversationSummary]:
        """The user's conversations, the one continued last first."""
        count = (select(conversation_turns.c.conversation_id, func.count().label("turns"))
                 .group_by(conversation_turns.c.conversation_id).subquery())
        query = (select(conversations, func.coalesce(count.c.turns, 0).label("turns"))
                 .outerjoin(count, count.c.conversation_id == conversations.c.id)
                 .where(*self._kept(user)).order_by(conversations.c.updated_at.desc(), conversations.c.id))
        with self._reading() as connection:
            return [_summary(row, row.turns) for row in connection.execute(query)]

    def open(self, user: User, conversation_id: str) -> Conversation:
        """The conversation with its turns, oldest first, each with the rating its owner gave it.
        ConversationNotFound unless it is the user's."""
        with self._reading() as connection:
            row = self._owned(connection, user, conversation_id)
            turns = connection.execute(select(conversation_turns)
                                       .where(conversation_turns.c.conversation_id == conversation_id)
                                       .order_by(conversation_turns.c.n)).all()
            ratings = {turn: rating for turn, rating in connection.execute(
                select(feedback.c.turn, feedback.c.rating).where(feedback.c.conversation_id == conversation_id))}
        kept = tuple(ConversationTurn(conversation_id, t.n, t.question, answer_from_json(t.answer),
                                      parse_time(t.asked_at), t.model, ratings.get(t.n, "")) for t in turns)
        return Conversation(_summary(row, len(kept)), kept)

    def rename(self, user: User, conversation_id: str, title: str) -> ConversationSummary:
        title = " ".join(title.split())
        if not title:
            raise ConversationError("a conversation's title cannot be empty: type a few words saying what it is about")
        if len(title) > MAX_TITLE:
            raise ConversationError(f"a title may have at most {MAX_TITLE} characters, not {len(title)}: shorten it")
        with self._writing("rename the conversation") as connection:
            self._owned(connection, user, conversation_id, lock=True)
            connection.execute(update(conversations).where(conversations.c.id == conversation_id).values(title=title))
            row = self._owned(connection, user, conversation_id)
        return _summary(row)

    def delete(self, user: User, conversation_id: str) -> None:
        """Delete the conversation and its turns. Feedback given on its answers stays with the admins (it holds its
        own copy) until the retention."""
        with self._writing("delete the conversation") as connection:
            self._owned(connection, user, conversation_id, lock=True)
            turns = connection.execute(delete(conversation_turns)
                                       .where(conversation_turns.c.conversation_id == conversation_id)).rowcount
            connection.execute(delete(conversations).where(conversations.c.id == conversation_id))
            self.audit.append(connection, *acting_entries(user, [
                AuditEntry("conversation.delete", conversation_id, {"turns": turns})
            ]))  # fmt: skip

    def record_feedback(self, user: User, conversation_id: str, turn: int, rating: str,
                        comment: str = "") -> Feedback:
        """Rate answer `turn` of the user's conversation up or down, with an optional comment; rating it again
        replaces the rating. The feedback keeps a copy of the question, the answer, its cited chunks and the model."""
        if rating not in RATINGS:
            raise ConversationError(f"{rating!r} is not a rating: use up or down")
        comment = comment.strip()
        if len(comment) > MAX_COMMENT:
            raise ConversationError(f"a comment may have at most {MAX_COMMENT} characters, not {len(comment)}: "
                                    "shorten it")
        now = self._clock()
        with self._writing("record the feedback") as connection:
            self._owned(connection, user, conversation_id, lock=True)
            row = connection.execute(select(conversation_turns).where(
                conversation_turns.c.conversation_id == conversation_id, conversation_turns.c.n == turn
            )).one_or_none()  # fmt: skip
            if row is None:
                raise ConversationError(f"conversation {conversation_id!r} has no answer {turn}: its answers are "
                                        "numbered from 1")
            answer = answer_from_json(row.answer)
            chunk_ids = [c.chunk_id for c in answer.citations]
            values: dict[str, Any] = {
                "given_at": format_time(now), "user_name": user.name, "rating": rating, "comment": comment,
                "question": row.question, "answer": answer.text, "chunk_ids": json.dumps(chunk_ids),
                "model": row.model,
            }  # fmt: skip
            upsert = self.database.insert(feedback).values(conversation_id=conversation_id, turn=turn, **values)
            connection.execute(upsert.on_conflict_do_update(index_elements=["conversation_id", "turn"], set_=values))
            kept = connection.execute(select(feedback).where(feedback.c.conversation_id == conversation_id,
                                                             feedback.c.turn == turn)).one()
            self.audit.append(connection, *acting_entries(user, [AuditEntry("feedback", conversation_id, {
                "turn": turn, "rating": rating, "cited": chunk_ids, "model": row.model,
            })]))  # fmt: skip
        return _feedback(kept)

    # -- the admins' -----------------------------------------------------------------------------------------------

    def list_feedback(self, user: User, *, since: datetime | None = None) -> list[Feedback]:
        """Every rating kept (the newest first), for admins: NotAllowed for a member."""
        if not user.is_admin:
            raise NotAllowed(f"{user.name} may not read the feedback: only admins can")
        query = select(feedback).order_by(feedback.c.given_at.desc(), feedback.c.id.desc())
        cutoff = self._cutoff()
        if cutoff is not None:
            query = query.where(feedback.c.given_at >= cutoff)
        if since is not None:
            query = query.where(feedback.c.given_at >= format_time(since))
        with self._reading() as connection:
            return [_feedback(row) for row in connection.execute(query)]

    def purge(self) -> tuple[int, int]:
        """Delete the conversations whose last question, and the feedback given, is older than the retention now;
        how many of each went. Nothing goes with a retention of 0. Open and list hide them already before."""
        if self.retention is None:
            return 0, 0
        with self._writing("purge old conversations") as connection:
            return self._purge(connection, self._clock())

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    # -- inside ------------------------------------------------------------------------------------------------------

    def _cutoff(self, now: datetime | None = None) -> str | None:
        return None if self.retention is None else format_time((now or self._clock()) - self.retention)

    def _kept(self, user: User) -> list[Any]:
        """The conditions of a conversation the user may open: theirs, and not past the retention."""
        conditions: list[Any] = [conversations.c.owner == user.name]
        cutoff = self._cutoff()
        if cutoff is not None:
            conditions.append(conversations.c.updated_at >= cutoff)
        return conditions

    def _owned(self, connection: Connection, user: User, conversation_id: str, lock: bool = False) -> Any:
        """The conversation's row if the user's; ConversationNotFound (the same for someone else's) if not. `lock`:
        held until the transaction ends, so two turns added at once get numbers one after the other."""
        query = select(conversations).where(and_(conversations.c.id == conversation_id, *self._kept(user)))
        row = connection.execute(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise not_found(conversation_id)
        return row

    def _purge(self, connection: Connection, now: datetime) -> tuple[int, int]:
        cutoff = self._cutoff(now)
        if cutoff is None:
            return 0, 0
        old = select(conversations.c.id).where(conversations.c.updated_at < cutoff)
        connection.execute(delete(conversation_turns).where(conversation_turns.c.conversation_id.in_(old)))
        gone = connection.execute(delete(conversations).where(conversations.c.updated_at < cutoff)).rowcount
        rated = connection.execute(delete(feedback).where(feedback.c.given_at < cutoff)).rowcount
        return gone, rated

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        try:
            with self.database.writing(doing) as connection:
                yield connection
        except IngestError as exc:  # the database's own message: which database, what to check
            raise ConversationsUnavailable(str(exc)) from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.database.reading("read the conversations") as connection:
                yield connection
        except IngestError as exc:
            raise ConversationsUnavailable(str(exc)) from exc


def delete_conversations_of(connection: Connection, owner: str) -> int:
    """Delete every conversation of an account being removed, in its transaction: a new account given the name later
    must not find them. Their feedback stays with the admins until the retention."""
    theirs = select(conversations.c.id).where(conversations.c.owner == owner)
    connection.execute(delete(conversation_turns).where(conversation_turns.c.conversation_id.in_(theirs)))
    return connection.execute(delete(conversations).where(conversations.c.owner == owner)).rowcount


def _summary(row: Any, turns: int = 0) -> ConversationSummary:
    return ConversationSummary(row.id, row.title, parse_time(row.created_at), parse_time(row.updated_at), turns)


def _feedback(row: Any) -> Feedback:
    return Feedback(row.id, parse_time(row.given_at), row.user_name, row.conversation_id, row.turn, row.rating,
                    row.comment, row.question, row.answer, tuple(json.loads(row.chunk_ids)), row.model)


def open_conversations(ingest_settings: IngestSettings, assistant_settings: AssistantSettings, *,
                       clock: Clock = _utc_now) -> Conversations:
    """Open the database and bring the assistant's tables up to date, without the models or the store (for
    `enclave conversations` and `enclave feedback`). `close()` closes the database. Raises DatabaseUnavailable or
    SettingsError (as `open_database` does)."""
    return Conversations(open_assistant_database(ingest_settings), assistant_settings, clock=clock,
                         owns_database=True)
