"""Starting tracing (ui/tracing.py): off by default, when the SDK is not even imported and no provider is installed;
on, only with a collector named by OpenTelemetry's own variables, else every command that would trace refuses to start
(exit 2, one line naming both)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from enclave_cli import invoke

from ingest import SettingsError
from ui.settings import load_ui_settings
from ui.tracing import start_tracing, traces_endpoint

OTEL = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture
def no_collector(monkeypatch):
    for name in OTEL:
        monkeypatch.delenv(name, raising=False)


def test_tracing_on_without_a_collector_is_a_settings_error_naming_both_variables(no_collector):
    with pytest.raises(SettingsError) as error:
        load_ui_settings(tracing=True, _env_file=None)

    assert all(name in str(error.value) for name in (*OTEL, "ENCLAVE_TRACING"))


@pytest.mark.parametrize("command", ["app", "api", "up", "worker"])
def test_each_command_that_traces_refuses_to_start_without_a_collector_with_exit_2(command, tmp_path, no_collector):
    result = invoke(command, env={"ENCLAVE_TRACING": "true", "ENCLAVE_DATA_DIR": str(tmp_path / "data")})

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert all(name in line for name in OTEL)
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_traces_go_to_the_traces_endpoint_as_given_else_to_the_base_endpoints_v1_traces(monkeypatch):
    monkeypatch.setenv("ENCLAVE_TRACING", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.internal:4318/")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert traces_endpoint(load_ui_settings(_env_file=None)) == "http://collector.internal:4318/v1/traces"

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://collector.internal/otlp/traces")
    assert traces_endpoint(load_ui_settings(_env_file=None)) == "https://collector.internal/otlp/traces"


def test_tracing_off_installs_no_provider(monkeypatch):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.delenv("ENCLAVE_TRACING", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # a collector named: still off

    stop = start_tracing(load_ui_settings(_env_file=None), "enclave-api")
    stop()

    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    with trace.get_tracer("test").start_as_current_span("nothing") as span:
        assert not span.is_recording()


def test_tracing_off_imports_no_part_of_the_sdk_or_exporter(tmp_path):
    """In a process of its own: this one has imported the SDK for the other tests."""
    script = (
        "import sys\n"
        "from ui.settings import load_ui_settings\n"
        "from ui.tracing import start_tracing\n"
        "import assistant, ingest, ui.api.server, ui.commands.worker\n"
        "start_tracing(load_ui_settings(), 'enclave-api')()\n"
        "from opentelemetry import trace\n"
        "print(type(trace.get_tracer_provider()).__name__)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": ":".join(sys.path),
           "ENCLAVE_DATA_DIR": str(tmp_path / "data"), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ProxyTracerProvider", "[]"]


class Collector:
    """An OTLP/HTTP collector on loopback: keeps each request's path, content type and body, answers 200."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"], body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_tracing_on_sends_the_spans_by_otlp_http_to_the_collector_named(monkeypatch, fresh_tracer_provider):
    from opentelemetry import trace
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    collector = Collector()
    try:
        monkeypatch.setenv("ENCLAVE_TRACING", "true")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        stop = start_tracing(load_ui_settings(_env_file=None), "enclave-worker")
        with trace.get_tracer("test").start_as_current_span("enclave.ingest.batch"):
            pass
        stop()  # sends what the batch processor holds, before it returns
    finally:
        collector.close()

    [(path, content_type, body)] = collector.received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    assert service == "enclave-worker"
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["enclave.ingest.batch"]
