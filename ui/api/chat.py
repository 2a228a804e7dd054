"""`/v1/models` and `/v1/chat/completions`: Enclave's assistant in OpenAI's Chat Completions shape. The answer is the
service's own (retrieval with the caller's permissions, the LLM, the check against the sources; recorded in the audit
trail as the key's account), so an OpenAI client gets what the app would show.

Streamed, the answer's text comes as the model writes it; the last chunk before `[DONE]` carries the citations and
`checked_content`, the answer as checked against its sources (its [n] markers corrected, or "not found"), which a
client may show in place of the streamed text. Not streamed, `content` is the checked answer."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from assistant import Answer, AnswerStream, Enclave, KeyHolder
from ui.api.auth import caller
from ui.api.conversation import question_and_history
from ui.api.errors import ApiError, api_error_of
from ui.api.schemas import (MODEL, AnswerMessage, ChatCompletion, ChatCompletionRequest, Choice, Citation, Model,
                            ModelList)

router = APIRouter(prefix="/v1", tags=["chat"])


@router.get("/models", summary="The models: Enclave's assistant")
def list_models(_holder: KeyHolder = Depends(caller)) -> ModelList:
    return ModelList(data=[Model()])


@router.post("/chat/completions", summary="Answer the last user message from the documents the caller may see",
             response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "The completion, or with `stream` its chunks as server-sent events."}})
def complete_chat(body: ChatCompletionRequest, request: Request,
                  holder: KeyHolder = Depends(caller)) -> ChatCompletion | StreamingResponse:
    if body.model != MODEL:
        raise ApiError(404, f"the model {body.model!r} does not exist: this API serves one model, {MODEL!r} "
                            "(GET /v1/models)", code="model_not_found")
    question, history = question_and_history(body.messages)
    enclave: Enclave = request.app.state.enclave
    stream = enclave.assistant.ask(question, holder.user, history=history)
    completion_id, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
    if not body.stream:
        answer = stream.read()
        message = AnswerMessage(content=answer.text, citations=[Citation(**c.to_json()) for c in answer.citations])
        return ChatCompletion(id=completion_id, created=created, choices=[Choice(message=message)])
    pieces = iter(stream)
    first = next(pieces, None)  # the LLM has begun: an unreachable one is a 503 here, not a broken stream
    return StreamingResponse(_events(stream, first, pieces, completion_id, created), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def _events(stream: AnswerStream, first: str | None, pieces: Iterator[str], completion_id: str,
            created: int) -> Iterator[str]:
    """The answer as chunks, then `[DONE]`; a failure midway is an `error` event (OpenAI's clients raise it). A client
    that goes away stops the answer: what had arrived is kept and recorded as stopped."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        if first is not None:
            yield chunk({"content": first})
        for text in pieces:
            yield chunk({"content": text})
        answer: Answer = stream.read()
        yield chunk({"citations": [c.to_json() for c in answer.citations], "checked_content": answer.text}, "stop")
        yield "data: [DONE]\n\n"
    except Exception as exc:  # the response has begun: the error can only be said in the stream
        error = api_error_of(exc)
        body = {"error": {"message": error.message, "type": error.type, "param": None, "code": error.code}}
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    finally:
        if stream.answer is None:
            stream.stop()
