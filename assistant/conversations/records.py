"""What a conversation is as the app and the command line see it (an answer is kept as assistant.models' `answer_to_json`
writes it), and feedback as admins export it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from assistant.models import Answer

TITLE_LENGTH = 80  # a title made from the first question: what fits on a line of the sidebar
MAX_TITLE = 200  # the column's width


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation in a listing: its id, its title (the first question, until renamed) and when it began and
    last went on."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created_at.isoformat(),
                "updated": self.updated_at.isoformat(), "turns": self.turns}


@dataclass(frozen=True)
class ConversationTurn:
    """A question and its checked answer, number `n` (from 1) of conversation `conversation_id`."""

    conversation_id: str
    n: int
    question: str
    answer: Answer
    asked_at: datetime
    model: str = ""
    rating: str = ""  # the owner's rating of the answer, "up" or "down"; empty when not rated

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "asked": self.asked_at.isoformat(), "question": self.question, "model": self.model,
                "rating": self.rating or None, **self.answer.to_json()}


@dataclass(frozen=True)
class Conversation:
    summary: ConversationSummary
    turns: tuple[ConversationTurn, ...]

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def history(self) -> list[tuple[str, str]]:
        """The (question, answer) turns a follow-up reads, as a live session hands them to `Assistant.ask`: the
        answers that have text (the app's chat history pairs them the same way)."""
        return [(turn.question, turn.answer.text) for turn in self.turns if turn.answer.text]

    def to_json(self) -> dict[str, Any]:
        return {**self.summary.to_json(), "turns": [turn.to_json() for turn in self.turns]}


@dataclass(frozen=True)
class Feedback:
    """A rating of one answer, with a copy of what was rated."""

    id: int
    given_at: datetime
    user: str
    conversation_id: str | None  # None once the conversation was deleted
    turn: int | None
    rating: str  # "up" or "down"
    comment: str
    question: str
    answer: str
    chunk_ids: tuple[str, ...]
    model: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "given": self.given_at.isoformat(), "user": self.user,
                "conversation": self.conversation_id, "turn": self.turn, "rating": self.rating,
                "comment": self.comment, "question": self.question, "answer": self.answer,
                "chunk_ids": list(self.chunk_ids), "model": self.model}


FEEDBACK_COLUMNS = ("id", "given", "user", "conversation", "turn", "rating", "comment", "question", "answer",
                    "chunk_ids", "model")


def feedback_csv(rows: Iterable[Feedback]) -> str:
    """Feedback as CSV for a spreadsheet: one row per rating, the cited chunk ids space-separated."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FEEDBACK_COLUMNS)
    for row in rows:
        data = row.to_json()
        data["chunk_ids"] = " ".join(row.chunk_ids)
        writer.writerow(["" if data[c] is None else data[c] for c in FEEDBACK_COLUMNS])
    return out.getvalue()


def title_from(question: str) -> str:
    """The first question on one line, cut to TITLE_LENGTH."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH - 1].rstrip() + "…"
