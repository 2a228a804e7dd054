"""The LLM: the client that talks to any OpenAI-compatible server, and the servers Enclave starts itself.

client    the OpenAI chat API streamed into answer text and, apart, the model's reasoning
settings  which model the started server loads, where it listens, its threads and context window
process   a server as a child process: started in its own process group, logged, awaited, stopped with its children
server    the engines: llama.cpp with a GGUF file (the embedded default) and vLLM with gpt-oss (GPU hosts)

Asking a question needs only the client; the server side loads on first use (PEP 562), as in `ingest`.
"""

from typing import TYPE_CHECKING

from assistant.llm.client import InlineReasoning, LLMClient, LLMDelta

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from assistant.llm.process import find_free_port, LLMServer
    from assistant.llm.server import (
        ENGINES,
        LlamaCppServer,
        VLLMServer,
        create_llm_server,
        packaged_test_model,
        provide_tiktoken_encodings,
        run_llm_server,
    )
    from assistant.llm.settings import PACKAGED_MODEL_FILE, LLMServerSettings, load_llm_server_settings

_LAZY = {
    "LLMServerSettings": "assistant.llm.settings",
    "PACKAGED_MODEL_FILE": "assistant.llm.settings",
    "load_llm_server_settings": "assistant.llm.settings",
    "LLMServer": "assistant.llm.process",
    "find_free_port": "assistant.llm.process",
    "ENGINES": "assistant.llm.server",
    "LlamaCppServer": "assistant.llm.server",
    "VLLMServer": "assistant.llm.server",
    "create_llm_server": "assistant.llm.server",
    "packaged_test_model": "assistant.llm.server",
    "provide_tiktoken_encodings": "assistant.llm.server",
    "run_llm_server": "assistant.llm.server",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistant.llm' has no attribute {name!r}")


__all__ = [
    "ENGINES",
    "PACKAGED_MODEL_FILE",
    "InlineReasoning",
    "LLMClient",
    "LLMDelta",
    "LLMServer",
    "LLMServerSettings",
    "LlamaCppServer",
    "VLLMServer",
    "create_llm_server",
    "find_free_port",
    "load_llm_server_settings",
    "packaged_test_model",
    "provide_tiktoken_encodings",
    "run_llm_server",
]
