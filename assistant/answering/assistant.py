"""Answer a question: understand it → find passages → prompt → stream from the LLM → check → cited answer.

1. A follow-up is rewritten to stand alone (assistant/prompting/conversation.py); an overview question ("What is this
   document about?") is answered from that document's opening and outline (assistant/prompting/overview.py).
2. Retrieval runs as llama-index parts (assistant/retrieval/llamaindex.py): Enclave's retriever, with the user's
   permission filter inside the vector search, then the re-ranker, one place per text, and the relevance gate.
3. Text in a passage that addresses the assistant is removed before the prompt (assistant/prompting/injection.py), and
   the passages reach the model as quoted data (assistant/prompting/prompt.py).
4. The answer streams as the model writes it; afterwards each sentence is checked against the passages
   (assistant/answering/verification.py) and the model's "the sources do not say" becomes Enclave's own not-found reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

from assistant.prompting.citations import remove_invalid_markers
from assistant.prompting.conversation import Turn, condense_question, recent_turns, stands_alone
from assistant.errors import InvalidQuestion
from assistant.prompting.injection import neutralize
from assistant.retrieval.llamaindex import (
    DuplicateTextFilter,
    EnclaveRetriever,
    RelevanceGate,
    RerankStage,
    passage_from_node,
)
from assistant.metrics import ANSWERS, QUESTIONS, RETRIEVAL_SECONDS, answer_outcome
from assistant.models import Answer, Citation, Passage, User
from assistant.prompting.overview import asks_for_overview, build_outline, choose_document
from assistant.prompting.translation import library_languages, other_languages, translate_query, translate_sentences
from assistant.prompting.prompt import build_messages, estimate_tokens, history_budget, max_question_tokens
from assistant.answering.quantities import answers_quantity, asks_for_quantity
from assistant.answering.replies import NOTHING_FOUND, model_declined, not_found_text
from assistant.retrieval.search import Retriever, may_see, permission_filter
from assistant.settings import AssistantSettings
from assistant.tracing import Span, as_current, mark_failed, start_span, traced
from assistant.answering.verification import Verifier, render

if TYPE_CHECKING:
    from llama_index.core.postprocessor.types import BaseNodePostprocessor

    from assistant.audit import Recorder
    from assistant.llm import LLMClient
    from ingest import DocumentRecord

log = logging.getLogger(__name__)

OUTLINE_CHUNKS = 400  # an overview reads the section titles of at most this many opening chunks

__all__ = ["NOTHING_FOUND", "AnswerStream", "Assistant"]


@dataclass
class AnswerStream:
    """Iterate for the answer's text as it streams; afterwards `answer` holds the checked, cited answer.
    `stop()` ends it early and keeps what had arrived."""

    passages: list[Passage]
    _pieces: Iterator
    _finish: Callable[[str, str, bool], Answer]
    messages: list[dict] = field(default_factory=list)  # what the LLM was sent (empty when it was not asked)
    query: str = ""
    answer: Answer | None = None
    _parts: list[str] = field(default_factory=list)
    _reasoning: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            if getattr(piece, "kind", "text") == "reasoning":
                self._reasoning.append(piece.text)
                continue
            text = getattr(piece, "text", piece)
            self._parts.append(text)
            yield text
        if self.answer is None:
            self.answer = self._finish("".join(self._parts), "".join(self._reasoning), False)

    @property
    def partial_text(self) -> str:
        return "".join(self._parts)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def stop(self) -> Answer:
        """End the answer now (the user pressed Stop): the LLM stream is closed, the text so far is kept."""
        if self.answer is None:
            close = getattr(self._pieces, "close", None)
            if close is not None:
                close()
            self.answer = self._finish(self.partial_text, self.reasoning, True)
        return self.answer

    def read(self) -> Answer:
        """Consume the stream (if not yet) and return the answer."""
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


def fixed_answer(answer: Answer) -> AnswerStream:
    """A stream of an answer Enclave gives itself (no LLM call)."""
    return AnswerStream([], iter([answer.text]), lambda text, reasoning, stopped: answer, query=answer.query)


class Assistant:
    def __init__(self, settings: AssistantSettings, retriever: Retriever, llm: "LLMClient",
                 documents: Callable[[], list["DocumentRecord"]] = list, recorder: "Recorder | None" = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.documents = documents  # every stored document's record (the overview picks among them)
        self.recorder = recorder  # the audit trail's hooks: each answer and search, once given
        self.verifier = Verifier(retriever.embedder, retriever.sparse)

    def search(self, query: str, user: User, k: int = 10, method: str | None = None,
               translate: bool = False) -> list[Passage]:
        """Retrieval only: the top passages the user may see. translate: also search the other languages of the
        documents the user may see, with the query translated by the LLM (one call), as questions are."""
        with RETRIEVAL_SECONDS.labels("search").time(), traced("enclave.retrieval", {
            "enclave.retrieval.operation": "search", "enclave.retrieval.method": method or self.retriever.method,
            "enclave.retrieval.k": k,
        }) as span:  # fmt: skip
            translations = self.translate(query, user) if translate else {}
            span.set_attribute("enclave.retrieval.translations", len(translations))
            # With translations, fused ranks tie often: judging relevance lets the closer passage go first.
            passages = self.retriever.search(query, user, k=k, method=method, translations=translations,
                                             with_relevance=bool(translations))
            span.set_attribute("enclave.retrieval.passages", len(passages))
        if self.recorder is not None:
            self.recorder.searched(query, user, passages, method)
        return passages

    def ask(self, question: str, user: User, history: Sequence[Turn] = ()) -> AnswerStream:
        """Start answering. Understanding and retrieval happen now; the LLM writes as the stream is read.

        history: the conversation's earlier (question, answer) turns, oldest first.

        Traced as one span (enclave.question), ended with the answer, with the retrieval and the LLM calls in it."""
        question = question.strip()
        self._check(question)
        QUESTIONS.inc()
        span = start_span("enclave.question", {"enclave.question.earlier_turns": len(history)})
        try:
            with as_current(span):
                return self._ask(question, user, history, span)
        except Exception as exc:
            mark_failed(span, exc)
            span.end()
            raise

    def _ask(self, question: str, user: User, history: Sequence[Turn], span: Span) -> AnswerStream:
        language = self.retriever.sparse.language_of(question)
        turns = recent_turns(history, history_budget(question, self.settings.llm_context_window,
                                                     self.settings.llm_max_tokens))
        query = question
        if turns and not stands_alone(question):
            query = condense_question(self.llm, question, turns)
            # Never its text: a question can name a person, and the logs are not the audit trail.
            log.info("a follow-up question was rewritten to stand alone for its search")
        span.set_attribute("enclave.question.rewritten", query != question)
        outline: list[str] = []
        with RETRIEVAL_SECONDS.labels("ask").time(), traced("enclave.retrieval", {
            "enclave.retrieval.operation": "ask", "enclave.retrieval.method": self.retriever.method,
            "enclave.retrieval.reranked": self.retriever.reranker is not None,
        }) as retrieval:  # fmt: skip
            overview = self._overview(query, user) if asks_for_overview(query) else None
            if overview is not None:
                passages, outline = overview
            else:
                translations = self.translations(query, user)
                retrieval.set_attribute("enclave.retrieval.translations", len(translations))
                passages = self.retrieve(query, user, translations)
            retrieval.set_attributes({"enclave.retrieval.overview": overview is not None,
                                      "enclave.retrieval.passages": len(passages)})
        if not passages:
            nothing = Answer(not_found_text(language), [], grounded=False, not_found=True, query=query)
            return AnswerStream([], iter([nothing.text]), lambda *_: self._answered(question, user, nothing, span),
                                query=query)
        texts: dict[int, str] = {}
        for i, passage in enumerate(passages):
            cleaned, found = neutralize(passage.chunk.text)
            if found:
                texts[passage.n] = cleaned
                passages[i] = replace(passage, instructions=True)
        messages, used = build_messages(
            question, passages, self.settings.llm_context_window, self.settings.llm_max_tokens,
            turns=turns, texts=texts, outline=outline,
        )  # fmt: skip
        span.set_attribute("enclave.question.passages_in_prompt", len(used))
        pieces = self.llm.stream_events(messages, self.settings.llm_max_tokens, self.settings.llm_temperature)

        def finish(raw: str, reasoning: str, stopped: bool) -> Answer:
            return self._answered(question, user, self.check_answer(
                raw, used, question, query=query, language=language, reasoning=reasoning, stopped=stopped,
                overview=overview is not None,
            ), span)  # fmt: skip

        return AnswerStream(used, _ending_on_failure(pieces, span), finish, messages=messages, query=query)

    def translations(self, query: str, user: User) -> dict[str, str]:
        """{language: the query in it} for the other languages of the documents the user may see (at most
        ENCLAVE_TRANSLATE_LANGUAGES of them, those with the most chunks first); {} when the library holds only the
        query's language, or it is off."""
        return self.translate(query, user) if self.settings.translate_questions else {}

    def translate(self, query: str, user: User) -> dict[str, str]:
        """{language: the query in it} for the other languages of the documents the user may see, whatever
        ENCLAVE_TRANSLATE_QUESTIONS says (a search asks for it); {} when there are none or the LLM fails."""
        sizes = library_languages(r for r in self.documents() if may_see(user, r.groups))
        targets = other_languages(sizes, self.retriever.sparse.language_of(query), self.settings.translate_languages)
        translations = translate_query(self.llm, query, targets)
        if targets:
            log.info("the question was translated for the search into %d of %d other languages",
                     len(translations), len(targets))
        return translations

    def retrieve(self, query: str, user: User, translations: Mapping[str, str] | None = None) -> list[Passage]:
        """The passages for a question, numbered from 1: llama-index's retriever → post-processors. With
        translations ({language: the query in it}) the search runs in those languages too."""
        s = self.settings
        retriever = EnclaveRetriever(self.retriever, user, k=max(s.candidates, s.rerank_candidates), rerank=False,
                                     translations=translations)
        nodes = retriever.retrieve(query)
        stages: list[BaseNodePostprocessor] = (
            [RerankStage(self.retriever.reranker, s.rerank_candidates, translations)] if self.retriever.reranker else []
        )
        stages += [DuplicateTextFilter(),
                   RelevanceGate(min_relevance=s.min_relevance, min_semantic_relevance=s.min_semantic_relevance,
                                 min_coverage=s.min_coverage, top_k=s.top_k)]
        for stage in stages:
            nodes = stage.postprocess_nodes(nodes, query_str=query)
        return [passage_from_node(node, i) for i, node in enumerate(nodes, start=1)]

    # -- steps ----------------------------------------------------------------------------------------------

    def _answered(self, question: str, user: User, answer: Answer, span: Span) -> Answer:
        """The answer, once complete (read to its end, or stopped), counted, its span ended, and recorded in the audit
        trail."""
        outcome = answer_outcome(answer.not_found, answer.stopped)
        ANSWERS.labels(outcome).inc()
        if span.is_recording():  # not when the stream failed before (its span ended then), or tracing is off
            span.set_attributes({
                "enclave.answer.outcome": outcome, "enclave.answer.citations": len(answer.citations),
                "enclave.answer.unsupported_sentences": len(answer.unsupported),
                "enclave.answer.warnings": len(answer.warnings),
            })  # fmt: skip
            span.end()
        if self.recorder is not None:
            self.recorder.answered(question, user, answer)
        return answer

    def _check(self, question: str) -> None:
        if not question:
            raise InvalidQuestion("the question is empty: type a question about your documents")
        limit = max_question_tokens(self.settings.llm_context_window, self.settings.llm_max_tokens)
        tokens = estimate_tokens(question)
        if tokens > limit:
            raise InvalidQuestion(
                f"the question is too long for the model's context window: about {tokens:,} tokens "
                f"({len(question):,} characters), and a question may have at most about {limit:,} tokens, so that "
                f"the sources and the answer fit in the model's {self.settings.llm_context_window:,}-token window "
                "(ENCLAVE_LLM_CONTEXT_WINDOW). Shorten it, or ask about one part at a time."
            )

    def _overview(self, question: str, user: User) -> tuple[list[Passage], list[str]] | None:
        """The opening passages and section titles of the document an overview question is about."""
        visible = [r for r in self.documents() if may_see(user, r.groups)]
        target = choose_document(question, visible)
        if target is None:
            return None
        chunks = self.retriever.store.document_chunks(target.record.document_id, permission_filter(user),
                                                      first=OUTLINE_CHUNKS)
        if not chunks:
            return None
        outline = build_outline(chunks)
        passages = [Passage(n=i, chunk=chunk, score=1.0) for i, chunk in enumerate(outline.opening, start=1)]
        return passages, outline.sections

    def check_answer(self, raw: str, passages: list[Passage], question: str, query: str = "",
                     language: str | None = None, reasoning: str = "", stopped: bool = False,
                     overview: bool = False) -> Answer:
        """The model's text for `question` over `passages` (numbered as in the prompt), made into Enclave's answer:
        the not-found reply when the model declined, nothing it said is supported, or a quantity question got no
        quantity; otherwise each sentence checked, with citations only where a passage supports it."""
        warnings = tuple(
            f"Source [{p.n}] ({p.chunk.document_name}) contained text addressed to the assistant; it was ignored."
            for p in passages if p.instructions
        )
        not_found = Answer(not_found_text(language), [], grounded=False, not_found=True, query=query,
                           warnings=warnings, reasoning=reasoning, retrieved=_citations(passages))
        text = remove_invalid_markers(raw, {p.n for p in passages}).strip()
        judged = not overview and not stopped  # an overview, or a stopped answer, is shown as written
        if judged and (not text or model_declined(text)):
            return not_found
        # An answer from passages in another language is checked in theirs (one short LLM call per such language).
        translate = partial(translate_sentences, self.llm) if self.settings.translate_questions else None
        sentences = self.verifier.check(text, passages, question=f"{question} {query}", translate=translate,
                                        language=language)
        cited = {n for s in sentences for n in s.citations}
        checked = [s for s in sentences if s.citations or s.unsupported]
        if judged and checked and not cited:
            return not_found  # every sentence that states something is unsupported by the passages: made up
        supported = " ".join(s.text for s in sentences if s.citations)
        if judged and asks_for_quantity(question) and not answers_quantity(question, supported):
            return not_found  # "How many days …?" answered with no number: true sentences that do not answer
        return Answer(
            render(sentences),
            _citations(p for p in passages if p.n in cited),
            sentences=tuple(sentences),
            retrieved=_citations(p for p in passages if p.n not in cited),
            stopped=stopped,
            query=query,
            warnings=warnings,
            reasoning=reasoning,
        )


def _ending_on_failure(pieces: Iterator, span: Span) -> Iterator:
    """The LLM's stream, ending the question's span when it fails (the server gone mid-answer): no answer will.
    Closing it (Stop) is no failure: the stopped answer ends the span."""
    try:
        yield from pieces
    except Exception as exc:
        mark_failed(span, exc)
        span.end()
        raise


def _citations(passages: Iterable[Passage]) -> list[Citation]:
    return [Citation.from_passage(p) for p in sorted(passages, key=lambda p: p.n)]
