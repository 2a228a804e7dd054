"""What `enclave worker` answers an orchestrator on ENCLAVE_WORKER_HEALTH_HOST:PORT, with no key:

/healthz  200 while its loop runs: its heart beat within ENCLAVE_WORKER_STALLED_SECONDS (it checks the queue every
          heartbeat, so a worker stuck or cut off from the database turns 503); 503 while it starts.
/metrics  Prometheus' text format: the files it ingested, by result and failure reason, and the queue's depth.

A worker serves no user: this is all it listens for."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ui.health import HEALTHZ, METRICS


class WorkerHealth:
    """The health server, in a thread of its own. `beat()` is its sign of life (see `Enclave.work_queue`)."""

    def __init__(self, host: str, port: int, stalled_seconds: float) -> None:
        self._last_beat: float | None = None
        self._stalled = stalled_seconds
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                if self.path == HEALTHZ:
                    status, body = health.status()
                    self._send(status, "application/json", json.dumps(body).encode())
                elif self.path == METRICS:
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
                else:
                    self._send(404, "application/json", b'{"detail": "not found"}')

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # probes every few seconds: not worth a log line each
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="worker health", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "WorkerHealth":
        self._thread.start()
        return self

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def status(self) -> tuple[int, dict[str, str]]:
        if self._last_beat is None:
            return 503, {"status": "starting"}
        if time.monotonic() - self._last_beat > self._stalled:
            return 503, {"status": "stalled"}
        return 200, {"status": "ok"}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
