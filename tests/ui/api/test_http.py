"""The REST API at the HTTP level, as any client sees it (httpx on loopback, tests/api_servers.py): every error is JSON
in OpenAI's shape with the status that fits, and /docs loads nothing from elsewhere."""

from __future__ import annotations

import re

import httpx
import pytest

from api_servers import QUESTION

CHAT = {"model": "enclave", "messages": [{"role": "user", "content": QUESTION}]}


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_a_call_without_a_key_is_a_401_saying_how_to_send_one(http):
    response = http.get("/v1/models")

    error = error_of(response, 401)
    assert "Authorization: Bearer" in error["message"] and error["code"] == "missing_api_key"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", ["Bearer enc_not-a-key", "Bearer sk-openai-key", "Basic cm9vdDpyb290"])
def test_a_call_with_a_bad_key_is_a_401(http, authorization):
    error = error_of(http.post("/v1/search", json={"query": QUESTION}, headers={"Authorization": authorization}), 401)

    assert error["code"] in ("invalid_api_key", "missing_api_key")


def test_an_unknown_path_and_a_wrong_method_are_json(http, keys):
    bearer = {"Authorization": f"Bearer {keys['bob']}"}

    assert "/docs" in error_of(http.get("/v1/nothing", headers=bearer), 404)["message"]
    assert error_of(http.get("/v1/chat/completions", headers=bearer), 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize("body, said", [
    ({"model": "enclave"}, "messages"),
    ({"model": "enclave", "messages": []}, "messages"),
    ({"model": "enclave", "messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "20"}]},
     "the last message must be the user's question"),
    ({"model": "enclave", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     "text only"),
    ({"model": "enclave", "messages": [{"role": "user", "content": "   "}]}, "the question is empty"),
])  # fmt: skip
def test_a_malformed_chat_request_is_a_400_naming_what_is_wrong(http, keys, body, said):
    response = http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {keys['bob']}"})

    assert said in error_of(response, 400)["message"]


def test_a_search_with_a_bad_k_is_a_400(http, keys):
    bearer = {"Authorization": f"Bearer {keys['bob']}"}
    response = http.post("/v1/search", json={"query": QUESTION, "k": 0}, headers=bearer)

    assert "k" in error_of(response, 400)["message"]


def test_a_body_sent_in_chunks_past_the_limit_is_a_413(make_api, keys):
    small = make_api(api_max_request_bytes=4096).removesuffix("/v1")

    def chunks():  # no Content-Length: the API counts as it reads
        yield b'{"model": "enclave", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    with httpx.Client(base_url=small) as http:
        response = http.post("/v1/chat/completions", content=chunks(),
                             headers={"Authorization": f"Bearer {keys['bob']}", "Content-Type": "application/json"})

    assert "ENCLAVE_API_MAX_REQUEST_BYTES" in error_of(response, 413)["message"]


def test_the_docs_page_lists_the_endpoints_and_loads_nothing_from_elsewhere(http):
    response = http.get("/docs")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for path in ("/v1/models", "/v1/chat/completions", "/v1/search", "/openapi.json"):
        assert path in page
    assert "<script" not in page.lower() and "cdn" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_the_openapi_document_describes_the_endpoints_and_the_bearer_key(http):
    spec = http.get("/openapi.json").json()

    assert {"/v1/models", "/v1/chat/completions", "/v1/search"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/docs" not in spec["paths"]
