"""Answer a question: retrieve → choose passages → prompt → stream from the LLM → cited answer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

from assistant.citations import build_citations, remove_invalid_markers
from assistant.llm import LLMClient
from assistant.models import Answer, Passage, User
from assistant.prompting import build_messages
from assistant.retrieval import Retriever, is_relevant
from assistant.settings import AssistantSettings

NOTHING_FOUND = (
    "I found nothing in the documents you can access that answers this question, so I won't guess. "
    "Try other words, or ask an admin whether the document has been added."
)


@dataclass
class AnswerStream:
    """Iterate for the answer's text as it streams; afterwards `answer` holds the full, cited answer."""

    passages: list[Passage]
    _chunks: Iterator[str]
    answer: Answer | None = None
    _parts: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        for text in self._chunks:
            self._parts.append(text)
            yield text
        raw = "".join(self._parts)
        if not self.passages:
            self.answer = Answer(raw, [], grounded=False)
            return
        valid = {p.n for p in self.passages}
        text = remove_invalid_markers(raw, valid)
        self.answer = Answer(text, build_citations(text, self.passages))

    def read(self) -> Answer:
        """Consume the stream (if not yet) and return the answer."""
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


class Assistant:
    def __init__(self, settings: AssistantSettings, retriever: Retriever, llm: LLMClient) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm

    def search(self, query: str, user: User, k: int = 10, method: str | None = None) -> list[Passage]:
        """Retrieval only, no LLM: the top passages the user may see."""
        return self.retriever.search(query, user, k=k, method=method)

    def ask(self, question: str, user: User) -> AnswerStream:
        """Start answering. Retrieval happens now; the LLM is called as the stream is read."""
        candidates = self.retriever.search(question, user, k=self.settings.candidates, with_relevance=True)
        relevant = [
            p for p in candidates
            if is_relevant(p, self.settings.min_relevance, self.settings.min_semantic_relevance)
        ][: self.settings.top_k]
        if not relevant:
            return AnswerStream([], iter([NOTHING_FOUND]))
        relevant = [replace(p, n=i) for i, p in enumerate(relevant, start=1)]
        messages, used = build_messages(
            question, relevant, self.settings.llm_context_window, self.settings.llm_max_tokens
        )
        tokens = self.llm.stream_chat(messages, self.settings.llm_max_tokens, self.settings.llm_temperature)
        return AnswerStream(used, tokens)
