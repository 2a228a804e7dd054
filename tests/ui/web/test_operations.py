"""The app's /healthz, /readyz and /metrics (ui/web/operations.py) on a real `enclave app`, as an orchestrator sees
them: alive from the start; ready once the Enclave the app opens as it starts is open (asking never opens it), then 200
while the store, the database and the LLM server answer."""

from __future__ import annotations

import time
from typing import Iterator

import httpx
import pytest
from browsers import launched_chromium, own_page, served_app, shown
from streamlit_apps import PASSWORD, data_dir_accounts


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, llm_server) -> Iterator[str]:
    """`enclave app` on a data folder where ana has an account, answering with the test LLM."""
    data = tmp_path_factory.mktemp("operations") / "data"
    with data_dir_accounts(data) as accounts:
        accounts.add_user("ana", "member", (), PASSWORD, by="root")
    with served_app(data, ENCLAVE_LLM_BASE_URL=llm_server.base_url) as url:
        yield url


def test_the_app_is_alive_at_once_and_turns_ready_by_itself_once_its_enclave_is_open(app_url: str):
    """Nobody loads a page: the app opens its Enclave as it starts (an orchestrator waits on /readyz before sending
    anyone). Before that /readyz says "starting" (503); how soon it turns is the models' load time, so the test waits
    for the answer, and checks each one it saw on the way."""
    with httpx.Client(base_url=app_url, timeout=60) as http:
        alive = http.get("/healthz")
        metrics = http.get("/metrics")
        seen = [http.get("/readyz")]
        deadline = time.monotonic() + 600
        while seen[-1].status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
            seen.append(http.get("/readyz"))

    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "process_cpu_seconds_total" in metrics.text or "python_info" in metrics.text
    *starting, ready = seen
    for answer in starting:
        assert answer.status_code == 503
        assert answer.json() == {"status": "starting", "parts": {"store": "not open", "database": "not open",
                                                                  "llm": "not open"}}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "parts": {"store": "ok", "database": "ok", "llm": "ok"}}


def test_a_page_opens_on_the_enclave_the_app_opened_at_start(app_url: str):
    with launched_chromium() as browser, own_page(browser) as page:
        page.goto(app_url)
        shown(page.get_by_text("Sign in to Enclave"))
    assert httpx.get(f"{app_url}/readyz", timeout=60).status_code == 200
