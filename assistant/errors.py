"""The assistant package's error tree; library errors are wrapped into these where they enter our code."""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error raised by `assistant`. The message says what happened and what to do next."""


class LLMUnavailable(AssistantError):
    """The configured LLM server cannot be reached or refused the request."""


class RetrievalUnavailable(AssistantError):
    """The vector store cannot be reached."""


class NotAllowed(AssistantError):
    """The asking user may not do this."""


class InvalidQuestion(AssistantError):
    """The question cannot be asked as it is (empty, or too long for the model); the message says what to do."""


class LLMServerError(AssistantError):
    """The LLM server could not be started, did not become ready, or died."""
