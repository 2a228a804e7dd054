"""The assistant's OpenTelemetry spans: a question (enclave.question) with its retrieval (enclave.retrieval) and LLM
calls (enclave.llm) as children, and each search. Made where the metrics are recorded (answering/, llm/), through the
OpenTelemetry API alone: they cost nothing and go nowhere until `enclave app`, `api` or `up` installs the SDK
(ENCLAVE_TRACING, ui/tracing.py).

Attributes are counts, the model's name, outcomes and the search method: never a question, an answer, a passage, a
document's name or path, or a user's name. A failure is marked by its exception's type alone: a message may quote
anything."""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from typing import Iterator

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = ["Span", "as_current", "current_span", "mark_failed", "start_span", "traced"]


def _tracer() -> trace.Tracer:
    # Asked for at each span, not kept: a tracer taken before the provider is installed would stay a no-op's.
    return trace.get_tracer("enclave.assistant")


def start_span(name: str, attributes: dict[str, AttributeValue] | None = None, parent: Span | None = None) -> Span:
    """A span that the caller ends (one that outlives the call that starts it, as a streamed answer does): a child of
    `parent`, else of the current span."""
    context = trace.set_span_in_context(parent) if parent is not None else None
    return _tracer().start_span(name, context=context, attributes=attributes)


def current_span() -> Span:
    """The span current here (an invalid one outside any: what starts from it is a root)."""
    return trace.get_current_span()


def as_current(span: Span) -> AbstractContextManager[Span]:
    """While the block runs, `span` is the current one (what starts then is its child); it is not ended with it."""
    return trace.use_span(span, record_exception=False, set_status_on_exception=False)


@contextmanager
def traced(name: str, attributes: dict[str, AttributeValue] | None = None) -> Iterator[Span]:
    """A span, current while the block runs (what it starts is its child), ended with it; an exception marks it
    failed."""
    with _tracer().start_as_current_span(name, attributes=attributes, record_exception=False,
                                         set_status_on_exception=False) as span:
        try:
            yield span
        except Exception as exc:
            mark_failed(span, exc)
            raise


def mark_failed(span: Span, exc: BaseException) -> None:
    """The span ended in an error: its type, never its message."""
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
