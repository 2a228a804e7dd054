"""Which status and body each error of the layers below gets (a pure function): the message says what to do, and an
unexpected error's details stay in the server's log."""

from __future__ import annotations

import logging

import pytest

from assistant import AccountsUnavailable, AssistantError, InvalidQuestion, LLMUnavailable, NotAllowed
from ingest import StoreUnavailable
from ui.api.errors import api_error_of


@pytest.mark.parametrize("error, status, type_", [
    (InvalidQuestion("the question is empty"), 400, "invalid_request_error"),
    (NotAllowed("members may not upload"), 403, "permission_error"),
    (LLMUnavailable("the LLM server does not answer"), 503, "server_error"),
    (AccountsUnavailable("the database does not answer"), 503, "server_error"),
    (StoreUnavailable("the store is in use"), 503, "server_error"),
    (AssistantError("something the assistant could not do"), 500, "server_error"),
])  # fmt: skip
def test_each_error_gets_its_status_and_keeps_its_message(error, status, type_):
    answered = api_error_of(error)

    assert (answered.status, answered.type, answered.message) == (status, type_, str(error))


def test_an_unexpected_error_is_a_500_whose_details_go_to_the_log_only(caplog):
    with caplog.at_level(logging.ERROR, logger="ui.api.errors"):
        answered = api_error_of(KeyError("/srv/secret/path"))

    assert answered.status == 500 and "secret" not in answered.message and "logged" in answered.message
    assert "/srv/secret/path" in caplog.text
