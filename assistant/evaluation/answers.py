"""Measure answer quality: questions with the document an answer must cite and a fact it must contain, asked
through the product's own assistant against what is stored, scored as citation precision, fact recall and
not-found accuracy.

An answer set is a JSON-lines file, one question a line:
`{"id", "question", "history": [[question, answer], ...], "document": NAME | [NAME, ...] | null, "fact": TEXT | null}`.
`document` null marks a question the documents cannot answer: the right answer says so and cites nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from assistant.errors import AssistantError
from assistant.evaluation.retrieval import EvaluationError, QueryProgress
from assistant.models import User

if TYPE_CHECKING:
    from assistant.answering.assistant import Assistant
    from assistant.models import Answer

FIELDS = {"id", "question", "history", "document", "fact"}
REQUIRED = ("id", "question", "document", "fact")


@dataclass(frozen=True)
class AnswerQuestion:
    id: str
    question: str
    documents: tuple[str, ...]  # any of these may be cited (copies of one text); empty: the documents cannot answer
    fact: str | None  # a short phrase a correct answer contains
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns of the conversation

    @property
    def answerable(self) -> bool:
        return bool(self.documents)


@dataclass(frozen=True)
class AnswerResult:
    """How one question was answered."""

    id: str
    question: str
    answer: str
    cited: tuple[str, ...]  # the document of each citation, in order (repeats kept: each citation counts)
    correct_citations: int  # citations of one of the expected documents
    not_found: bool  # the assistant said it found nothing that answers
    not_found_right: bool  # it said so exactly when the documents cannot answer
    fact_found: bool | None  # None: the question has no fact
    seconds: float
    error: str = ""  # the AssistantError that stopped this answer; the run went on
    query: str = ""  # what was searched: a follow-up is rewritten to stand alone

    def to_json(self) -> dict:
        return {
            "id": self.id, "question": self.question, "query": self.query, "answer": self.answer,
            "cited": list(self.cited),
            "not_found": self.not_found, "fact_found": self.fact_found, "seconds": round(self.seconds, 3),
            "error": self.error,
        }


@dataclass(frozen=True)
class AnswerProgress(QueryProgress):
    """One question was answered: for a progress bar, and to keep each result as it comes in a long run."""

    result: AnswerResult | None = None


@dataclass(frozen=True)
class AnswerReport:
    citation_precision: float  # citations of an expected document / all citations (0 when nothing was cited)
    fact_recall: float  # questions whose answer holds their fact / questions with a fact
    not_found_accuracy: float  # questions where "not found" was said exactly when nothing answers / all questions
    questions: int
    seconds_per_question: float
    results: tuple[AnswerResult, ...] = ()

    @property
    def errors(self) -> int:
        return sum(bool(r.error) for r in self.results)

    def to_json(self) -> dict:
        return {
            "citation_precision": self.citation_precision, "fact_recall": self.fact_recall,
            "not_found_accuracy": self.not_found_accuracy, "questions": self.questions,
            "seconds_per_question": self.seconds_per_question,
        }


# -- the answer set ---------------------------------------------------------------------------------------------


def load_answer_set(path: str | Path) -> list[AnswerQuestion]:
    """Read and check an answer set; a bad line raises EvaluationError naming the file, the line and the fault."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"cannot read the answer set {path} ({exc})") from exc
    questions: list[AnswerQuestion] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            question = parse_question(line)
        except ValueError as exc:
            raise EvaluationError(f"{path}, line {number}: {exc}") from exc
        if question.id in seen:
            raise EvaluationError(f"{path}, line {number}: id {question.id!r} is already used on line "
                                  f"{seen[question.id]}")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise EvaluationError(f"{path} holds no question: write one JSON object a line")
    return questions


def parse_question(line: str) -> AnswerQuestion:
    """One line of an answer set; ValueError says what is wrong with it."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    missing = [key for key in REQUIRED if key not in row]
    if missing:
        raise ValueError(f"missing {', '.join(missing)} (each line needs id, question, document and fact)")
    unknown = sorted(set(row) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)} (use {', '.join(sorted(FIELDS))})")
    documents = _documents(row["document"])
    fact = row["fact"]
    if fact is not None and not _text(fact):
        raise ValueError("fact must be a non-empty string or null")
    if fact is not None and not documents:
        raise ValueError("a fact needs a document: a question the documents cannot answer has fact null")
    return AnswerQuestion(
        id=_required_text(row, "id"), question=_required_text(row, "question"), documents=documents,
        fact=fact, history=_history(row.get("history", [])),
    )


def _documents(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if _text(value):
        return (value,)  # type: ignore[return-value]
    if isinstance(value, list) and value and all(_text(name) for name in value):
        return tuple(value)
    raise ValueError("document must be a file name, a non-empty list of file names, or null")


def _history(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ValueError("history must be a list of [question, answer] pairs")
    for turn in value:
        if not (isinstance(turn, list) and len(turn) == 2 and all(_text(part) for part in turn)):
            shown = json.dumps(turn, ensure_ascii=False)[:80]
            raise ValueError(f"history turn {shown} is not a [question, answer] pair of strings")
    return tuple((question, answer) for question, answer in value)


def _required_text(row: dict, key: str) -> str:
    if not _text(row[key]):
        raise ValueError(f"{key} must be a non-empty string")
    return row[key]


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


# -- asking and scoring -----------------------------------------------------------------------------------------


def evaluate_answers(
    assistant: "Assistant",
    questions: Sequence[AnswerQuestion],
    user: User,
    progress: Callable[[AnswerProgress], None] | None = None,
) -> AnswerReport:
    """Ask each question (with its history) as `user` and score the answers. An AssistantError on one question
    is recorded as that question's failed answer and the run goes on."""
    notify = progress or (lambda event: None)
    results = []
    for done, question in enumerate(questions, start=1):
        result = ask_question(assistant, question, user)
        results.append(result)
        notify(AnswerProgress(done, len(questions), result))
    return score_results(results)


def ask_question(assistant: "Assistant", question: AnswerQuestion, user: User) -> AnswerResult:
    started = time.perf_counter()
    try:
        answer = assistant.ask(question.question, user, history=list(question.history)).read()
    except AssistantError as exc:
        # A failed answer cites nothing, holds no fact and did not say "not found": wrong on every count.
        return AnswerResult(
            id=question.id, question=question.question, answer="", cited=(), correct_citations=0, not_found=False,
            not_found_right=False, fact_found=False if question.fact is not None else None,
            seconds=time.perf_counter() - started, error=str(exc),
        )
    return judge_answer(question, answer, time.perf_counter() - started)


def judge_answer(question: AnswerQuestion, answer: "Answer", seconds: float) -> AnswerResult:
    """Score one answer against what its question expects."""
    not_found = answer.not_found
    cited = tuple(citation.document for citation in answer.citations)
    return AnswerResult(
        id=question.id, question=question.question, answer=answer.text, cited=cited,
        correct_citations=sum(name in question.documents for name in cited),  # none is right when nothing answers
        not_found=not_found, not_found_right=not_found == (not question.answerable),
        fact_found=contains_fact(answer.text, question.fact) if question.fact is not None else None,
        seconds=seconds, query=answer.query,
    )


def contains_fact(text: str, fact: str) -> bool:
    """The fact appears in the text, ignoring case and how whitespace is laid out."""
    return _normalised(fact) in _normalised(text)


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def score_results(results: Sequence[AnswerResult]) -> AnswerReport:
    """The figures over all questions; a share of nothing (no citation, no fact) is 0."""
    citations = sum(len(r.cited) for r in results)
    with_fact = [r for r in results if r.fact_found is not None]
    total = len(results)
    return AnswerReport(
        citation_precision=_share(sum(r.correct_citations for r in results), citations),
        fact_recall=_share(sum(bool(r.fact_found) for r in with_fact), len(with_fact)),
        not_found_accuracy=_share(sum(r.not_found_right for r in results), total),
        questions=total,
        seconds_per_question=sum(r.seconds for r in results) / total if total else 0.0,
        results=tuple(results),
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
