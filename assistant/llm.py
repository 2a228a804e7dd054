"""Client for any OpenAI-compatible chat server (llama.cpp, vLLM); streams the answer text only."""

from __future__ import annotations

from typing import Iterator

import httpx
import openai

from assistant.errors import AssistantError, LLMUnavailable


class LLMClient:
    """Talks the OpenAI streaming chat API. Knows nothing about which server is behind the URL."""

    def __init__(self, base_url: str, model: str = "", api_key: str = "not-needed", timeout: float = 600,
                 http_client: httpx.Client | None = None) -> None:
        self.base_url = base_url
        self._model = model
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0, http_client=http_client
        )

    @property
    def model(self) -> str:
        if not self._model:
            self._model = self._first_model()
        return self._model

    def check(self) -> None:
        """Raise LLMUnavailable unless the server answers its model list."""
        self._first_model()

    def stream_chat(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        """Yield answer text as it arrives. Reasoning (gpt-oss `reasoning`, llama.cpp `reasoning_content`) is dropped."""
        try:
            stream = self._client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True
            )
            for event in stream:
                if not event.choices:
                    continue
                text = event.choices[0].delta.content
                if text:
                    yield text
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIStatusError as exc:
            raise AssistantError(
                f"the LLM server at {self.base_url} refused the request ({exc.status_code}): {exc.message}. "
                "Check ENCLAVE_LLM_MODEL and ENCLAVE_LLM_API_KEY."
            ) from exc

    def _first_model(self) -> str:
        try:
            models = self._client.models.list().data
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIStatusError as exc:
            raise LLMUnavailable(
                f"the LLM server at {self.base_url} answered {exc.status_code} when asked for its models: "
                "check ENCLAVE_LLM_BASE_URL and ENCLAVE_LLM_API_KEY"
            ) from exc
        if not models:
            raise LLMUnavailable(f"the LLM server at {self.base_url} serves no model: set ENCLAVE_LLM_MODEL")
        return models[0].id

    def _unreachable(self, exc: Exception) -> LLMUnavailable:
        return LLMUnavailable(
            f"the LLM server at {self.base_url} is unreachable ({type(exc).__name__}): start it with "
            "`enclave llm serve` (or `make run`), or point ENCLAVE_LLM_BASE_URL at a running server"
        )
