"""The OpenAI-compatible client against a real llama.cpp server on loopback."""

import pytest

from assistant.errors import LLMUnavailable
from assistant.llm import LLMClient


def test_streams_text_from_a_real_server(llm_server):
    client = LLMClient(llm_server.base_url)
    chunks = list(client.stream_chat([{"role": "user", "content": "Say hello."}], max_tokens=16, temperature=0))
    assert len(chunks) > 1  # streamed, not one blob
    assert "".join(chunks).strip()


def test_model_name_comes_from_the_server_when_not_configured(llm_server):
    assert LLMClient(llm_server.base_url).model


def test_unreachable_server_raises_llm_unavailable_saying_what_to_do():
    from ui.llm_server import find_free_port

    client = LLMClient(f"http://127.0.0.1:{find_free_port()}/v1", timeout=5)
    with pytest.raises(LLMUnavailable, match="enclave llm serve"):
        list(client.stream_chat([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0))
