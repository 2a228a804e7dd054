"""The app's /healthz, /readyz and /metrics (ui/web/operations.py) on a real `enclave app`, as an orchestrator sees
them: alive from the start; ready only once a page load has opened the Enclave (asking never opens it), then 200 while
the store, the database and the LLM server answer."""

from __future__ import annotations

from pathlib import Path
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


def test_the_app_is_alive_at_once_and_ready_once_a_page_has_opened_its_enclave(app_url: str, tmp_path: Path):
    with httpx.Client(base_url=app_url, timeout=60) as http:
        alive = http.get("/healthz")
        starting = http.get("/readyz")
        metrics = http.get("/metrics")

        with launched_chromium() as browser, own_page(browser) as page:
            page.goto(app_url)
            shown(page.get_by_text("Sign in to Enclave"))  # the first page load opened the Enclave
        ready = http.get("/readyz")

    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert starting.status_code == 503
    assert starting.json() == {"status": "starting", "parts": {"store": "not open", "database": "not open",
                                                                "llm": "not open"}}
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "process_cpu_seconds_total" in metrics.text or "python_info" in metrics.text
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "parts": {"store": "ok", "database": "ok", "llm": "ok"}}
