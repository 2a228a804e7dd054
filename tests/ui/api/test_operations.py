"""The API's operations side, as a monitoring system and a log collector see it (the real API on loopback,
tests/api_servers.py): /healthz and /readyz with no key, 503 when the LLM server is gone; /metrics counting a real
answer and a real failed upload; every request's id sent back and in its JSON log lines, which hold no question."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import replace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api_servers import QUESTION, bearer, served
from shared_data import BAD

CHAT = {"model": "enclave", "messages": [{"role": "user", "content": QUESTION}]}


def scraped(http) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as Prometheus reads it: each sample by name and labels."""
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_healthz_and_readyz_answer_without_a_key(http):
    health = http.get("/healthz")
    ready = http.get("/readyz")

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "parts": {"store": "ok", "database": "ok", "llm": "ok"}}


def test_readyz_is_503_naming_the_llm_when_its_server_is_unreachable(api_enclave):
    from assistant import LLMClient, find_free_port
    from ui.api import create_app
    from ui.settings import load_ui_settings

    dead = f"http://127.0.0.1:{find_free_port()}/v1"  # nothing listens there
    assistant = replace_llm(api_enclave.assistant, LLMClient(dead))
    app = create_app(replace(api_enclave, assistant=assistant), load_ui_settings(_env_file=None))
    with served(app) as url, httpx.Client(base_url=url) as http:
        ready = http.get("/readyz")
        health = http.get("/healthz")

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "parts": {"store": "ok", "database": "ok", "llm": "unavailable"}}
    assert "127.0.0.1" not in ready.text  # the reason goes to the log, not to whoever asks
    assert health.status_code == 200  # alive all the same: a restart would not bring the LLM server back


def replace_llm(assistant, llm):
    import copy

    other = copy.copy(assistant)
    other.llm = llm
    return other


def test_metrics_count_an_answer_its_retrieval_its_llm_call_and_its_tokens(http, keys):
    before = scraped(http)

    response = http.post("/v1/chat/completions", json=CHAT, headers=bearer(keys["alice"]))

    assert response.status_code == 200, response.text
    after = scraped(http)
    assert moved(before, after, "enclave_questions_total") == 1
    assert sum(moved(before, after, "enclave_answers_total", outcome=o) for o in ("answered", "not_found")) == 1
    assert moved(before, after, "enclave_retrieval_seconds_count", operation="ask") == 1
    assert moved(before, after, "enclave_retrieval_seconds_sum", operation="ask") > 0
    assert moved(before, after, "enclave_llm_seconds_count", call="stream") == 1
    assert moved(before, after, "enclave_llm_first_token_seconds_count") == 1
    assert moved(before, after, "enclave_llm_tokens_total", kind="prompt") > 0
    assert moved(before, after, "enclave_llm_tokens_total", kind="completion") > 0


def test_metrics_count_a_failed_upload_by_reason(http, keys):
    before = scraped(http)
    files = [("files", (path.name, path.read_bytes())) for path in (BAD / "encrypted-aes256.pdf", BAD / "firmware.bin")]

    response = http.post("/v1/documents", files=files, headers=bearer(keys["root"]))

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["data"]] == ["failed", "failed"]
    after = scraped(http)
    assert moved(before, after, "enclave_ingest_failures_total", reason="encrypted") == 1
    assert moved(before, after, "enclave_ingest_failures_total", reason="unsupported") == 1
    assert moved(before, after, "enclave_ingest_files_total", status="failed") == 2
    assert moved(before, after, "enclave_ingest_batches_total", outcome="finished") == 1


def test_metrics_labels_name_no_user_document_or_question(http):
    text = http.get("/metrics").text

    for said in ("alice", "root", "memo-supply-delivery", "encrypted-aes256", QUESTION, "bottles"):
        assert said not in text


def test_a_request_id_is_sent_back_as_given_or_made_when_missing_or_unfit(http):
    given = http.get("/healthz", headers={"X-Request-ID": "proxy-42.a"})
    made = http.get("/healthz")
    unfit = http.get("/healthz", headers={"X-Request-ID": "two words\tand a tab"})

    assert given.headers["X-Request-ID"] == "proxy-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", unfit.headers["X-Request-ID"])


@pytest.fixture
def json_logs():
    """What the process logs while the test runs, as ENCLAVE_LOG_FORMAT=json writes it (the root logger's level
    put back after)."""
    from ui.logs import configure_logging

    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("json", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_log_lines_carry_the_request_id_and_never_the_question(http, keys, json_logs):
    response = http.post("/v1/chat/completions", json=CHAT, headers={**bearer(keys["alice"]), "X-Request-ID": "q-7"})

    assert response.status_code == 200, response.text
    text = json_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    [access] = [line for line in lines if line.get("request_id") == "q-7" and line["logger"] == "enclave.access"]
    assert access["method"] == "POST" and access["route"] == "/v1/chat/completions" and access["status"] == 200
    assert access["level"] == "INFO" and access["duration_ms"] >= 0
    answer = response.json()["choices"][0]["message"]["content"]
    for secret in (QUESTION, "bottles", keys["alice"], answer):
        assert secret not in text
