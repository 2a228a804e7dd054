"""The worker's health server (ui/worker_health.py): real HTTP on a free loopback port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from ui.worker_health import WorkerHealth


@pytest.fixture
def health():
    server = WorkerHealth("127.0.0.1", 0, stalled_seconds=3600).start()
    yield server
    server.close()


def get(server: WorkerHealth, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_healthz_is_503_until_the_loop_beats_then_200(health):
    status, kind, body = get(health, "/healthz")
    assert (status, kind, json.loads(body)) == (503, "application/json", {"status": "starting"})

    health.beat()

    status, _, body = get(health, "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_a_worker_whose_heart_stopped_is_not_healthy():
    server = WorkerHealth("127.0.0.1", 0, stalled_seconds=-1).start()  # any beat is already too old
    try:
        server.beat()
        status, _, body = get(server, "/healthz")
    finally:
        server.close()
    assert (status, json.loads(body)) == (503, {"status": "stalled"})


def test_metrics_are_prometheus_text_and_nothing_else_is_served(health):
    status, kind, body = get(health, "/metrics")
    assert status == 200 and kind.startswith("text/plain") and "# TYPE python_info gauge" in body

    assert get(health, "/v1/documents")[0] == 404
