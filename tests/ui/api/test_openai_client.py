"""The REST API as an OpenAI client sees it: the official `openai` package, unchanged, against the API served by
uvicorn on loopback (tests/api_servers.py), answering from the sample documents with the test LLM. alice is in
finance and sees the delivery memo; bob is not and must get nothing of it, not even its name."""

from __future__ import annotations

import json

import openai
import pytest
from openai import OpenAI

from api_servers import MEMO, QUESTION

FOLLOW_UP = "and how many in May?"  # points back: read with the earlier messages, rewritten before the search


def client(api, key: str, **options) -> OpenAI:
    return OpenAI(api_key=key, base_url=api.base_url if hasattr(api, "base_url") else api, **options)


def memo_chunk_ids(api, keys) -> set[str]:
    with client(api, keys["root"]) as root:
        hits = root.post("/search", body={"query": QUESTION, "k": 50}, cast_to=dict)["data"]
    return {hit["chunk_id"] for hit in hits if hit["document"] == MEMO}


def test_the_models_are_enclaves_assistant(api, keys):
    with client(api, keys["bob"]) as bob:
        assert [model.id for model in bob.models.list()] == ["enclave"]


def test_a_streamed_answer_comes_in_chunks_with_its_citations_in_the_last(api, keys):
    with client(api, keys["alice"]) as alice:
        chunks = list(alice.chat.completions.create(
            model="enclave", messages=[{"role": "user", "content": QUESTION}], stream=True))

    *streaming, last = chunks
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streaming)
    assert text.strip()
    assert all(chunk.choices[0].finish_reason is None and "citations" not in (chunk.choices[0].delta.model_extra or {})
               for chunk in streaming)
    assert last.choices[0].finish_reason == "stop"
    citations = last.choices[0].delta.model_extra["citations"]
    assert citations and citations[0]["document"] == MEMO
    assert set(citations[0]) == {"n", "document", "page", "chunk_id", "text"}
    assert last.choices[0].delta.model_extra["checked_content"].strip()


def test_an_answer_not_streamed_has_its_citations_in_the_message(api, keys):
    with client(api, keys["alice"]) as alice:
        completion = alice.chat.completions.create(model="enclave", messages=[{"role": "user", "content": QUESTION}])

    message = completion.choices[0].message
    assert message.role == "assistant" and message.content.strip()
    assert [c["document"] for c in message.citations][:1] == [MEMO]
    assert all(f"[{c['n']}]" in message.content for c in message.citations)
    assert completion.model == "enclave" and completion.choices[0].finish_reason == "stop"


def test_a_follow_up_reads_the_earlier_messages_and_is_recorded_as_its_account(api, keys):
    with client(api, keys["alice"]) as alice:
        first = alice.chat.completions.create(model="enclave", messages=[{"role": "user", "content": QUESTION}])
        follow_up = alice.chat.completions.create(model="enclave", messages=[
            {"role": "system", "content": "You are a helpful assistant."},  # left out: Enclave's instructions hold
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": FOLLOW_UP},
        ])  # fmt: skip

    assert follow_up.choices[0].message.content.strip()
    recorded = api.enclave.audit.records(action="question", actor="alice")[-1]
    assert recorded.details["question"] == FOLLOW_UP
    assert recorded.details["query"] != FOLLOW_UP  # read with the conversation: rewritten to stand alone
    assert recorded.details["key"] == api.enclave.accounts.keys.holder(keys["alice"]).key_id  # which key asked


def test_a_member_gets_no_passage_nor_title_of_a_document_outside_their_groups(api, keys):
    hidden = memo_chunk_ids(api, keys)
    assert hidden  # root (an admin) finds the memo

    with client(api, keys["alice"]) as alice:
        alices = alice.post("/search", body={"query": QUESTION}, cast_to=dict)["data"]
        alices_translated = alice.post("/search", body={"query": QUESTION, "translate": True}, cast_to=dict)["data"]
    with client(api, keys["bob"]) as bob:
        bobs = bob.post("/search", body={"query": QUESTION, "k": 50}, cast_to=dict)
        # Translated into the library's other languages, each search still inside bob's groups.
        bobs_translated = bob.post("/search", body={"query": QUESTION, "k": 50, "translate": True}, cast_to=dict)
        answer = bob.chat.completions.with_raw_response.create(
            model="enclave", messages=[{"role": "user", "content": QUESTION}])
        streamed = bob.chat.completions.with_raw_response.create(
            model="enclave", messages=[{"role": "user", "content": QUESTION}], stream=True)
        streamed_text = streamed.http_response.read().decode()

    assert MEMO in {hit["document"] for hit in alices}  # alice, in finance, finds it
    assert MEMO in {hit["document"] for hit in alices_translated}
    for said in (json.dumps(bobs), json.dumps(bobs_translated), answer.http_response.text, streamed_text):
        assert MEMO not in said and "memo-supply" not in said
        assert not any(chunk_id in said for chunk_id in hidden)
    assert {hit["document"] for hit in bobs["data"]} <= {"sample-presentation.pptx", "udhr-english-spanish.html",
                                                          "family-day.eml"}
    assert api.enclave.audit.records(action="search", actor="bob")  # the calls are in the audit trail as bob


def test_a_revoked_key_is_refused_with_401_at_once(api, keys):
    made = api.enclave.accounts.keys.create("bob", by="test")
    with client(api, made.secret) as holder:
        holder.models.list()
        api.enclave.accounts.keys.revoke(made.key.id, by="test")

        with pytest.raises(openai.AuthenticationError) as refused:
            holder.models.list()

    assert refused.value.status_code == 401
    assert "revoked" in refused.value.body["message"] and "enclave keys create" in refused.value.body["message"]
    assert refused.value.body["code"] == "invalid_api_key"


def test_a_removed_accounts_key_is_refused_with_401(api, keys):
    api.enclave.accounts.add_user("carol", "member", ["finance"], by="test")
    secret = api.enclave.accounts.keys.create("carol", by="test").secret
    with client(api, secret) as carol:
        carol.models.list()
        api.enclave.accounts.remove_user("carol", by="test")

        with pytest.raises(openai.AuthenticationError):
            carol.post("/search", body={"query": QUESTION}, cast_to=dict)


def test_a_key_sees_its_accounts_groups_as_they_are_now(api, keys):
    api.enclave.accounts.add_user("dave", "member", by="test")
    with client(api, api.enclave.accounts.keys.create("dave", by="test").secret) as dave:
        before = dave.post("/search", body={"query": QUESTION, "k": 50}, cast_to=dict)["data"]
        api.enclave.accounts.set_groups("dave", ["finance"], by="test")
        after = dave.post("/search", body={"query": QUESTION, "k": 50}, cast_to=dict)["data"]

    assert MEMO not in {hit["document"] for hit in before}
    assert MEMO in {hit["document"] for hit in after}


def test_an_unknown_model_is_a_404_naming_the_one_served(api, keys):
    with client(api, keys["bob"]) as bob, pytest.raises(openai.NotFoundError) as refused:
        bob.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])

    assert "'enclave'" in refused.value.body["message"] and refused.value.body["code"] == "model_not_found"


def test_an_oversized_request_gets_413_with_a_message(make_api, keys):
    small = make_api(api_max_request_bytes=4096)

    with client(small, keys["alice"]) as alice, pytest.raises(openai.APIStatusError) as refused:
        alice.chat.completions.create(model="enclave", messages=[{"role": "user", "content": "x" * 5000}])

    assert refused.value.status_code == 413
    assert "4,096 bytes" in refused.value.body["message"]
    assert "ENCLAVE_API_MAX_REQUEST_BYTES" in refused.value.body["message"]


def test_a_key_past_its_rate_limit_gets_429_and_other_keys_do_not(make_api, keys):
    limited = make_api(api_requests_per_minute=2, clock=lambda: 0.0)  # time stands still: nothing refills

    with client(limited, keys["bob"], max_retries=0) as bob, client(limited, keys["alice"]) as alice:
        bob.models.list()
        bob.models.list()
        with pytest.raises(openai.RateLimitError) as refused:
            bob.models.list()
        alice.models.list()

    assert refused.value.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "30"  # one call in 2 a minute
    assert "try again in 30 s" in refused.value.body["message"]
