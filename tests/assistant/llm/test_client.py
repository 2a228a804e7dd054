"""The OpenAI-compatible client against a real llama.cpp server on loopback, and against canned replies in the shapes
other servers send (vLLM's gpt-oss reasoning fields, reasoning left inline as <think> or harmony markup)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.errors import AssistantError, LLMUnavailable
from assistant.llm.client import InlineReasoning, LLMClient, LLMDelta
from assistant.settings import load_assistant_settings

HELLO = [{"role": "user", "content": "Say hello."}]

# -- the real llama.cpp server ----------------------------------------------------------------------------------------


def test_streams_text_from_a_real_server(llm_server):
    client = LLMClient(llm_server.base_url)
    chunks = list(client.stream_chat(HELLO, max_tokens=16, temperature=0))
    assert len(chunks) > 1  # streamed, not one blob
    assert "".join(chunks).strip()


def test_model_name_comes_from_the_server_when_not_configured(llm_server):
    assert LLMClient(llm_server.base_url).model


def test_unreachable_server_raises_llm_unavailable_saying_what_to_do():
    from assistant.llm import find_free_port

    client = LLMClient(f"http://127.0.0.1:{find_free_port()}/v1", timeout=5)
    with pytest.raises(LLMUnavailable, match="enclave llm serve"):
        list(client.stream_chat([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0))


def test_llama_cpp_ignores_reasoning_effort_and_answers_the_same(llm_server):
    plain = LLMClient(llm_server.base_url)
    plain.complete(HELLO, max_tokens=16)  # the first prompt after a start runs without a cached prefix: warm it
    expected = plain.complete(HELLO, max_tokens=16)
    answer = LLMClient(llm_server.base_url, reasoning_effort="low").complete(HELLO, max_tokens=16)
    assert answer
    assert answer == expected


def test_complete_returns_the_answer_text_from_a_real_server(llm_server):
    answer = LLMClient(llm_server.base_url, reasoning_effort="low").complete(HELLO, max_tokens=16)
    assert isinstance(answer, str)
    assert answer and answer == answer.strip()


def test_stream_events_yields_text_deltas_from_a_real_server(llm_server):
    client = LLMClient(llm_server.base_url, reasoning_effort="low")
    deltas = list(client.stream_events(HELLO, max_tokens=16, temperature=0))
    assert len(deltas) > 1
    assert {d.kind for d in deltas} == {"text"}  # SmolLM2 does not reason
    assert "".join(d.text for d in deltas).strip()


def test_complete_on_an_unreachable_server_raises_llm_unavailable_saying_what_to_do():
    from assistant.llm import find_free_port

    client = LLMClient(f"http://127.0.0.1:{find_free_port()}/v1", model="m", timeout=5)
    with pytest.raises(LLMUnavailable, match="ENCLAVE_LLM_BASE_URL"):
        client.complete(HELLO, max_tokens=4)


# -- settings ---------------------------------------------------------------------------------------------------------


def test_reasoning_effort_defaults_to_low():
    assert load_assistant_settings(_env_file=None).llm_reasoning_effort == "low"


def test_unknown_reasoning_effort_is_rejected_naming_the_setting():
    with pytest.raises(AssistantError, match="ENCLAVE_LLM_REASONING_EFFORT.*low, medium or high"):
        load_assistant_settings(llm_reasoning_effort="extreme", _env_file=None)


def test_client_rejects_an_unknown_reasoning_effort():
    with pytest.raises(ValueError, match="reasoning_effort"):
        LLMClient("http://127.0.0.1:1/v1", reasoning_effort="max")


# -- canned replies in other servers' shapes --------------------------------------------------------------------------


class Canned:
    """What the loopback server replies: SSE chunks built from `deltas` for streamed requests, `message` otherwise."""

    def __init__(self) -> None:
        self.deltas: list[dict] = []
        self.message: dict = {"role": "assistant", "content": ""}
        self.status = 200
        self.requests: list[dict] = []


def _chunk(delta: dict) -> bytes:
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "canned",
             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
    return f"data: {json.dumps(event)}\n\n".encode()


@contextmanager
def canned_server() -> Iterator[tuple[str, Canned]]:
    """An OpenAI-compatible chat endpoint on loopback that replies what the test put in `Canned`."""
    canned = Canned()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            canned.requests.append(body)
            if canned.status != 200:
                data = json.dumps({"error": {"message": "no such model", "type": "invalid_request_error"}}).encode()
                content_type = "application/json"
            elif body.get("stream"):
                data = b"".join(_chunk(d) for d in [{"role": "assistant"}, *canned.deltas]) + b"data: [DONE]\n\n"
                content_type = "text/event-stream"
            else:
                reply = {"id": "c1", "object": "chat.completion", "created": 0, "model": "canned",
                         "choices": [{"index": 0, "message": canned.message, "finish_reason": "stop"}]}  # fmt: skip
                data = json.dumps(reply).encode()
                content_type = "application/json"
            self.send_response(canned.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", canned
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _events(deltas: list[dict], reasoning_effort: str = "") -> tuple[list[LLMDelta], Canned]:
    with canned_server() as (base_url, canned):
        canned.deltas = deltas
        client = LLMClient(base_url, model="canned", reasoning_effort=reasoning_effort)
        return list(client.stream_events(HELLO, max_tokens=64, temperature=0)), canned


def _joined(events: list[LLMDelta], kind: str) -> str:
    return "".join(e.text for e in events if e.kind == kind)


def test_vllm_reasoning_content_deltas_come_as_reasoning_not_text():
    events, _ = _events([{"reasoning_content": "The user asks"}, {"reasoning_content": " about [1]."},
                         {"content": "Paris"}, {"content": " [1]."}])  # fmt: skip
    assert _joined(events, "reasoning") == "The user asks about [1]."
    assert _joined(events, "text") == "Paris [1]."
    assert events[0] == LLMDelta("reasoning", "The user asks")  # in arrival order


def test_newer_vllm_reasoning_field_comes_as_reasoning():
    events, _ = _events([{"reasoning": "Check source 1."}, {"content": "Yes [1]."}])
    assert events == [LLMDelta("reasoning", "Check source 1."), LLMDelta("text", "Yes [1].")]


def test_reasoning_sent_in_both_fields_is_not_doubled():
    events, _ = _events([{"reasoning": "Think.", "reasoning_content": "Think."}, {"content": "Done."}])
    assert _joined(events, "reasoning") == "Think."


def test_stream_chat_yields_only_the_answer_text():
    with canned_server() as (base_url, canned):
        canned.deltas = [{"reasoning_content": "hidden"}, {"content": "<think>also hidden</think>"},
                         {"content": "Shown."}]  # fmt: skip
        chunks = list(LLMClient(base_url, model="canned").stream_chat(HELLO, max_tokens=64, temperature=0))
    assert "".join(chunks) == "Shown."


def test_think_block_split_across_chunks_goes_to_reasoning():
    events, _ = _events([{"content": c} for c in ("<thi", "nk>Let me", " check.</th", "ink>\n\nThe answer", " is 42.")])
    assert _joined(events, "reasoning") == "Let me check."
    assert _joined(events, "text") == "\n\nThe answer is 42."


def test_harmony_analysis_channel_split_across_chunks_goes_to_reasoning():
    pieces = ("<|chan", "nel|>analysis<|mess", "age|>User asks X.<|e", "nd|><|start|>assistant<|channel|>final",
              "<|message|>It is", " 42 [1].", "<|return|>")  # fmt: skip
    events, _ = _events([{"content": c} for c in pieces])
    assert _joined(events, "reasoning") == "User asks X."
    assert _joined(events, "text") == "It is 42 [1]."


def test_harmony_commentary_with_constrain_is_not_the_answer():
    content = ("<|channel|>commentary to=functions.search <|constrain|>json<|message|>{\"q\": 1}<|call|>"
               "<|start|>assistant<|channel|>final<|message|>Answer.")  # fmt: skip
    events, _ = _events([{"content": content}])
    assert _joined(events, "text") == "Answer."
    assert _joined(events, "reasoning") == '{"q": 1}'


def test_angle_brackets_that_start_no_markup_stay_in_the_answer():
    events, _ = _events([{"content": "a <"}, {"content": " b, <b>bold</b> and <|x|> <"}])
    assert _joined(events, "text") == "a < b, <b>bold</b> and <|x|> <"
    assert _joined(events, "reasoning") == ""


def test_reasoning_effort_is_sent_only_when_set():
    _, with_effort = _events([{"content": "ok"}], reasoning_effort="medium")
    _, without = _events([{"content": "ok"}])
    assert with_effort.requests[0]["reasoning_effort"] == "medium"
    assert "reasoning_effort" not in without.requests[0]


def test_complete_drops_reasoning_fields_and_inline_reasoning():
    with canned_server() as (base_url, canned):
        canned.message = {"role": "assistant", "reasoning_content": "Rewrite it.",
                          "content": "<think>hmm</think>  holiday policy for part-time staff\n"}  # fmt: skip
        query = LLMClient(base_url, model="canned", reasoning_effort="low").complete(HELLO, max_tokens=32)
        assert not canned.requests[0].get("stream")
        assert canned.requests[0]["reasoning_effort"] == "low"
    assert query == "holiday policy for part-time staff"


def test_complete_returns_empty_when_the_model_only_reasoned():
    with canned_server() as (base_url, canned):
        canned.message = {"role": "assistant", "content": None, "reasoning_content": "Still thinking"}
        assert LLMClient(base_url, model="canned").complete(HELLO, max_tokens=8) == ""


@pytest.mark.parametrize("call", ["stream", "complete"])
def test_refused_request_raises_assistant_error_saying_what_to_check(call):
    with canned_server() as (base_url, canned):
        canned.status = 404
        client = LLMClient(base_url, model="missing")
        with pytest.raises(AssistantError, match="refused the request \\(404\\).*ENCLAVE_LLM_MODEL"):
            if call == "stream":
                list(client.stream_chat(HELLO, max_tokens=4, temperature=0))
            else:
                client.complete(HELLO, max_tokens=4)


def test_inline_reasoning_holds_back_a_possible_tag_until_the_stream_ends():
    inline = InlineReasoning()
    assert list(inline.feed("x <|en")) == [LLMDelta("text", "x ")]
    assert list(inline.finish()) == [LLMDelta("text", "<|en")]
