"""Client for any OpenAI-compatible chat server (llama.cpp, vLLM): the answer text and, apart, the model's reasoning."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast

import openai

from assistant.errors import AssistantError, LLMUnavailable
from assistant.metrics import LLM_FAILURES, LLM_FIRST_TOKEN_SECONDS, LLM_SECONDS, LLM_TOKENS
from assistant.tracing import Span, current_span, mark_failed, start_span, traced

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from opentelemetry.util.types import AttributeValue

REASONING_EFFORTS = ("", "low", "medium", "high")

# Markup some servers leave inline in `content`: <think> blocks (Qwen3, DeepSeek-R1 templates) and gpt-oss's
# harmony tokens when the server does not parse them into `reasoning_content`.
_MARKUP = (
    "<think>", "</think>",
    "<|start|>", "<|channel|>", "<|constrain|>", "<|message|>", "<|end|>", "<|return|>", "<|call|>",
)  # fmt: skip
# vLLM's gpt-oss parser sends reasoning as `reasoning_content` (older) or `reasoning` (newer); llama.cpp's
# reasoning formats use `reasoning_content`. The openai client keeps unknown delta fields as extra attributes.
_REASONING_FIELDS = ("reasoning_content", "reasoning")


@dataclass(frozen=True)
class LLMDelta:
    """A piece of the model's output: answer text, or reasoning that must never be shown as the answer."""

    kind: Literal["text", "reasoning"]
    text: str


class LLMClient:
    """Talks the OpenAI chat API. Knows nothing about which server is behind the URL."""

    def __init__(self, base_url: str, model: str = "", api_key: str = "not-needed", timeout: float = 600,
                 reasoning_effort: str = "") -> None:
        """reasoning_effort: sent with each request when set (gpt-oss on vLLM); llama.cpp ignores it."""
        if reasoning_effort not in REASONING_EFFORTS:
            raise ValueError(f"reasoning_effort must be one of {REASONING_EFFORTS}, not {reasoning_effort!r}")
        self.base_url = base_url
        self.reasoning_effort = reasoning_effort
        self._model = model
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0
        )

    @property
    def model(self) -> str:
        if not self._model:
            self._model = self._first_model()
        return self._model

    def check(self, timeout: float | None = None) -> None:
        """Raise LLMUnavailable unless the server answers its model list (within `timeout` seconds, when given: a
        readiness check must not wait as long as an answer may)."""
        self._first_model(timeout)

    def stream_events(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[LLMDelta]:
        """Yield answer text and reasoning as they arrive, each marked with its kind.

        Traced as a span (enclave.llm) from the request to the last piece read, a child of the span current now
        (the question's): the stream is read later, maybe in another thread, where that span is not current."""
        return self._stream_events(messages, max_tokens, temperature, parent=current_span())

    def _stream_events(self, messages: list[dict], max_tokens: int, temperature: float,
                       parent: Span) -> Iterator[LLMDelta]:
        inline = InlineReasoning()
        tokens = TokenCount(prompt=_estimated_tokens(messages))
        started, first_token = time.monotonic(), True
        span = start_span("enclave.llm", _call_attributes("stream", max_tokens, temperature), parent=parent)
        outcome = "failed"
        try:
            with self._client.chat.completions.create(
                model=self.model, messages=_typed(messages), max_tokens=max_tokens, temperature=temperature,
                stream=True, reasoning_effort=self._reasoning_effort(),
            ) as stream:  # fmt: skip
                for event in stream:
                    tokens.read(event)
                    if not event.choices:
                        continue
                    if tokens.pieces and first_token:
                        waited = time.monotonic() - started
                        LLM_FIRST_TOKEN_SECONDS.observe(waited)
                        span.set_attribute("enclave.llm.first_token_seconds", waited)
                        first_token = False
                    delta = event.choices[0].delta
                    reasoning = _reasoning_of(delta)
                    if reasoning:
                        yield LLMDelta("reasoning", reasoning)
                    if delta.content:
                        yield from inline.feed(delta.content)
            outcome = "complete"
        except GeneratorExit:  # the reader closed the stream (the Stop button): no failure
            outcome = "stopped"
            raise
        except (openai.APIConnectionError, openai.APIStatusError) as exc:
            mark_failed(span, exc)
            self._raise_wrapped(exc)
        except Exception as exc:
            mark_failed(span, exc)
            raise
        finally:  # also when the reader stops early (the Stop button): what was written counts
            LLM_SECONDS.labels("stream").observe(time.monotonic() - started)
            tokens.record()
            _end_call(span, self._model, outcome, tokens)
        yield from inline.finish()

    def stream_chat(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        """Yield answer text as it arrives; reasoning, in whatever form the server sends it, is dropped."""
        for delta in self.stream_events(messages, max_tokens, temperature):
            if delta.kind == "text":
                yield delta.text

    def complete(self, messages: list[dict], max_tokens: int, temperature: float = 0.0) -> str:
        """One short, non-streamed answer (e.g. a follow-up rewritten as a search query), reasoning dropped and
        surrounding space stripped. "" when the model said nothing, e.g. it spent max_tokens on reasoning."""
        started = time.monotonic()
        tokens = TokenCount(prompt=_estimated_tokens(messages))
        with traced("enclave.llm", _call_attributes("complete", max_tokens, temperature)) as span:
            try:
                response = self._client.chat.completions.create(
                    model=self.model, messages=_typed(messages), max_tokens=max_tokens, temperature=temperature,
                    reasoning_effort=self._reasoning_effort(),
                )  # fmt: skip
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                span.set_attribute("enclave.llm.outcome", "failed")
                self._raise_wrapped(exc)
            finally:
                LLM_SECONDS.labels("complete").observe(time.monotonic() - started)
            tokens.read(response)
            tokens.record()
            _record_call(span, self._model, "complete", tokens)
        if not response.choices:
            return ""
        inline = InlineReasoning()
        deltas = [*inline.feed(response.choices[0].message.content or ""), *inline.finish()]
        return "".join(d.text for d in deltas if d.kind == "text").strip()

    def _reasoning_effort(self) -> Any:
        # Sent only when set: a server that validates strictly never sees a field it was not configured for.
        return self.reasoning_effort or openai.omit

    def _raise_wrapped(self, exc: openai.APIConnectionError | openai.APIStatusError) -> NoReturn:
        if isinstance(exc, openai.APIConnectionError):
            raise self._unreachable(exc) from exc
        LLM_FAILURES.labels("refused").inc()
        raise AssistantError(
            f"the LLM server at {self.base_url} refused the request ({exc.status_code}): {exc.message}. "
            "Check ENCLAVE_LLM_MODEL and ENCLAVE_LLM_API_KEY."
        ) from exc

    def _first_model(self, timeout: float | None = None) -> str:
        client = self._client if timeout is None else self._client.with_options(timeout=timeout)
        try:
            models = client.models.list().data
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIStatusError as exc:
            LLM_FAILURES.labels("refused").inc()
            raise LLMUnavailable(
                f"the LLM server at {self.base_url} answered {exc.status_code} when asked for its models: "
                "check ENCLAVE_LLM_BASE_URL and ENCLAVE_LLM_API_KEY"
            ) from exc
        if not models:
            raise LLMUnavailable(f"the LLM server at {self.base_url} serves no model: set ENCLAVE_LLM_MODEL")
        return models[0].id

    def _unreachable(self, exc: Exception) -> LLMUnavailable:
        LLM_FAILURES.labels("unreachable").inc()
        return LLMUnavailable(
            f"the LLM server at {self.base_url} is unreachable ({type(exc).__name__}): start it with "
            "`enclave llm serve` (or `make run`), or point ENCLAVE_LLM_BASE_URL at a running server"
        )


class TokenCount:
    """The tokens of one LLM call, for the metrics: the server's usage when it sends one (vLLM with usage on, a
    non-streamed answer), else one per streamed piece and the prompt's estimate."""

    def __init__(self, prompt: int) -> None:
        self.prompt, self.completion, self.pieces = prompt, 0, 0
        self._usage = False

    def read(self, event: Any) -> None:
        """A streamed chunk or a whole response."""
        usage = getattr(event, "usage", None)
        if usage is not None and getattr(usage, "completion_tokens", None) is not None:
            self.prompt, self.completion, self._usage = usage.prompt_tokens, usage.completion_tokens, True
        if not getattr(event, "choices", None):
            return
        delta = getattr(event.choices[0], "delta", None)  # None for a whole response
        if delta is None or delta.content or _reasoning_of(delta):
            self.pieces += 1
            if not self._usage:
                self.completion = self.pieces

    def record(self) -> None:
        LLM_TOKENS.labels("prompt").inc(self.prompt)
        LLM_TOKENS.labels("completion").inc(self.completion)


def _call_attributes(call: str, max_tokens: int, temperature: float) -> dict[str, AttributeValue]:
    """An LLM call's span, as it starts (OpenTelemetry's gen_ai names where there is one)."""
    return {"gen_ai.operation.name": "chat", "enclave.llm.call": call,
            "gen_ai.request.max_tokens": max_tokens, "gen_ai.request.temperature": temperature}


def _record_call(span: Span, model: str, outcome: str, tokens: TokenCount) -> None:
    """What the call came to: the model (its name, never what it was sent or wrote), the tokens, how it ended."""
    span.set_attributes({"gen_ai.request.model": model, "enclave.llm.outcome": outcome,
                         "gen_ai.usage.input_tokens": tokens.prompt, "gen_ai.usage.output_tokens": tokens.completion})


def _end_call(span: Span, model: str, outcome: str, tokens: TokenCount) -> None:
    _record_call(span, model, outcome, tokens)
    span.end()


def _estimated_tokens(messages: list[dict]) -> int:
    """About 4 characters a token, as the prompt's budget counts them (assistant/prompting/prompt.py)."""
    return sum(len(str(m.get("content") or "")) for m in messages) // 4


def _reasoning_of(delta: object) -> str:
    """The delta's reasoning text, from the first field that carries one (a server may send both, same text)."""
    for name in _REASONING_FIELDS:
        value = getattr(delta, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


class InlineReasoning:
    """Splits streamed `content` into answer text and the reasoning a server left inline in it, as <think>…</think>
    or harmony channels (`<|channel|>analysis<|message|>…<|end|>`; only the `final` channel is the answer). Markup
    tokens may arrive split across chunks, so a tail that could start one is held back until the next chunk."""

    def __init__(self) -> None:
        self._pending = ""
        self._mode: Literal["text", "reasoning", "header"] = "text"
        self._channel: str | None = None  # the harmony channel name being read in a header, else None
        self._header_channel = ""  # the last channel named in this header

    def feed(self, content: str) -> Iterator[LLMDelta]:
        self._pending += content
        pieces: list[LLMDelta] = []
        while self._pending:
            start = self._pending.find("<")
            if start < 0:
                self._emit(self._pending, pieces)
                self._pending = ""
                break
            self._emit(self._pending[:start], pieces)
            rest = self._pending[start:]
            tag = next((t for t in _MARKUP if rest.startswith(t)), None)
            if tag is not None:
                self._apply(tag)
                self._pending = rest[len(tag) :]
            elif any(t.startswith(rest) for t in _MARKUP):
                self._pending = rest  # maybe the start of a tag: wait for the next chunk
                break
            else:
                self._emit("<", pieces)
                self._pending = rest[1:]
        return iter(_merged(pieces))

    def finish(self) -> Iterator[LLMDelta]:
        """The held-back tail, once the stream has ended: it was text after all."""
        pieces: list[LLMDelta] = []
        self._emit(self._pending, pieces)
        self._pending = ""
        return iter(pieces)

    def _emit(self, text: str, pieces: list[LLMDelta]) -> None:
        if not text:
            return
        if self._mode == "header":  # role and channel names: markup, never shown
            if self._channel is not None:
                self._channel += text
            return
        pieces.append(LLMDelta(self._mode, text))

    def _apply(self, tag: str) -> None:
        if tag == "<think>":
            self._mode = "reasoning"
        elif tag == "</think>":
            self._mode = "text"
        elif tag == "<|start|>":
            self._mode, self._channel, self._header_channel = "header", None, ""
        elif tag == "<|channel|>":
            self._mode, self._channel = "header", ""
        elif tag == "<|constrain|>":  # the rest of the header says how a tool call's arguments are encoded
            self._end_channel_name()
            self._mode = "header"
        elif tag == "<|message|>":
            self._end_channel_name()
            # Only the final channel is the answer; analysis (and commentary) is the model thinking.
            self._mode = "reasoning" if self._header_channel not in ("", "final") else "text"
            self._header_channel = ""
        else:  # <|end|>, <|return|>, <|call|>: the message is over
            self._mode, self._channel, self._header_channel = "text", None, ""

    def _end_channel_name(self) -> None:
        if self._channel is not None:
            words = self._channel.split()
            self._header_channel = words[0] if words else ""
            self._channel = None


def _merged(pieces: list[LLMDelta]) -> list[LLMDelta]:
    """Adjacent pieces of the same kind as one delta."""
    merged: list[LLMDelta] = []
    for piece in pieces:
        if merged and merged[-1].kind == piece.kind:
            merged[-1] = LLMDelta(piece.kind, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def _typed(messages: list[dict]) -> list[ChatCompletionMessageParam]:
    """Our messages ({"role", "content"} dicts) as the OpenAI client types them."""
    return cast("list[ChatCompletionMessageParam]", messages)
