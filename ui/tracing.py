"""OpenTelemetry tracing for `enclave app`, `up`, `api` and `worker` when ENCLAVE_TRACING is on: the SDK's tracer
provider, installed for the process, sending its spans by OTLP/HTTP to the collector the operator names
(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT and its /v1/traces) and nowhere else.

The spans are made where the work is (assistant/tracing.py, ingest/tracing.py), through the OpenTelemetry API alone,
which does nothing until a provider is installed. Off (the default), this module imports no part of the SDK and
installs nothing: no span is recorded and nothing can be sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from ui.settings import UISettings

TRACES_PATH = "/v1/traces"  # OTLP/HTTP's path for traces, added to OTEL_EXPORTER_OTLP_ENDPOINT as the SDK does


def start_tracing(settings: UISettings, service: str, exporter: SpanExporter | None = None) -> Callable[[], None]:
    """Install the SDK's tracer provider for this process, as `service` (enclave-app, enclave-api, enclave-worker),
    when settings.tracing is on; returns what sends the spans still held and stops it (call it at shut-down).

    exporter: where the spans go instead of the collector (the tests hand the SDK's InMemorySpanExporter)."""
    if not settings.tracing:
        return _nothing
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=traces_endpoint(settings))
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))  # sent from a thread of its own, in batches
    trace.set_tracer_provider(provider)
    return provider.shutdown


def traces_endpoint(settings: UISettings) -> str:
    """The URL spans are posted to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else OTEL_EXPORTER_OTLP_ENDPOINT with
    /v1/traces (the OTLP exporter's own rule for the two variables)."""
    if settings.otlp_traces_endpoint.strip():
        return settings.otlp_traces_endpoint.strip()
    return settings.otlp_endpoint.strip().removesuffix("/") + TRACES_PATH


def _nothing() -> None:
    """Tracing is off: there is nothing to send or stop."""
