"""Fixtures for the REST API's tests (a plugin of tests/conftest.py): a copy of the session's sample documents with
the delivery memo shared with finance alone, one Enclave on it (opened to write, as `enclave api` opens it) answering
with the test LLM, accounts with keys, and the API served by a real uvicorn on a loopback port, in a thread of this
process.

    def test_something(api, keys): OpenAI(api_key=keys["alice"], base_url=api.base_url)
"""

from __future__ import annotations

import shutil
import socket
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import httpx
import pytest

from assistant import Enclave, User, load_assistant_settings
from ingest import load_settings

MEMO = "memo-supply-delivery.pdf"  # the delivery memo: 20,000 bottles of water; shared with finance alone here
QUESTION = "How many bottles of water were delivered?"
ROOT = User("root", is_admin=True)


@dataclass
class ServedApi:
    base_url: str  # what an OpenAI client takes: http://127.0.0.1:PORT/v1
    enclave: Enclave


@contextmanager
def served(app) -> Iterator[str]:
    """Serve the app with uvicorn on a free loopback port until the block ends; its base URL. The socket listens
    before the thread starts, so a request sent at once waits in its backlog: nothing waits for the server to be up."""
    import uvicorn

    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, name="api-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listening.close()


@pytest.fixture(scope="module")
def api_enclave(ingested_data_dir, tmp_path_factory, shared_models, llm_server) -> Iterator[Enclave]:
    """The Enclave the module's API serves: the sample documents, the memo shared with finance alone, short answers
    from the test LLM, question texts kept in the audit trail (to see what a follow-up searched)."""
    data = tmp_path_factory.mktemp("api") / "data"
    shutil.copytree(ingested_data_dir, data)
    enclave = shared_models.enclave(
        load_settings(data_dir=data, _env_file=None),
        load_assistant_settings(llm_base_url=llm_server.base_url, llm_max_tokens=64, audit_question_text=True,
                                _env_file=None),
        read_only=False,
    )  # fmt: skip
    try:
        [memo] = [record for record in enclave.documents() if record.name == MEMO]
        enclave.grant(memo.document_id, "finance", ROOT)
        enclave.revoke(memo.document_id, "everyone", ROOT)
        yield enclave
    finally:
        enclave.close()


@pytest.fixture(scope="module")
def keys(api_enclave) -> dict[str, str]:
    """A key each for root (admin), alice (finance: sees the memo) and bob (everyone only: does not)."""
    accounts = api_enclave.accounts
    accounts.add_user("root", "admin", by="test")
    accounts.add_user("alice", "member", ["finance"], by="test")
    accounts.add_user("bob", "member", by="test")
    return {name: accounts.keys.create(name, by="test").secret for name in ("root", "alice", "bob")}


@pytest.fixture(scope="module")
def make_api(api_enclave) -> Iterator[Callable[..., str]]:
    """make_api(**settings, clock=...) -> base URL: an API on the module's Enclave with these settings (as
    ENCLAVE_API_* would set them), served until the module ends."""
    from ui.api import create_app
    from ui.settings import load_ui_settings

    with ExitStack() as servers:
        def make(clock: Callable[[], float] | None = None, **settings: object) -> str:
            options = {} if clock is None else {"clock": clock}
            app = create_app(api_enclave, load_ui_settings(_env_file=None, **settings), **options)
            return servers.enter_context(served(app)) + "/v1"

        yield make


@pytest.fixture(scope="module")
def api(make_api, api_enclave, keys) -> ServedApi:
    """The API with the default settings."""
    return ServedApi(make_api(), api_enclave)


@pytest.fixture(scope="module")
def http(api: ServedApi) -> Iterator[httpx.Client]:
    """A plain HTTP client on the API (no key sent unless a call adds one: `bearer(key)`), patient with answers."""
    with httpx.Client(base_url=api.base_url.removesuffix("/v1"), timeout=600) as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
