"""Tracing on, as `enclave app`, `api` and `worker` start it (ui/tracing.py), with the SDK's own InMemorySpanExporter
where the OTLP exporter would be: the spans a test's work made, read once they have all been handed over."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest


class RecordedSpans:
    def __init__(self, exporter, stop: Callable[[], None]) -> None:
        self._exporter = exporter
        self._stop = stop
        self.stopped = False

    def finished(self) -> list:
        """Every span ended so far, once the batch processor has handed them all to the exporter: tracing stops, as
        at the process's shut-down (call it after the work)."""
        self.stop()
        return list(self._exporter.get_finished_spans())

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._stop()


@pytest.fixture
def fresh_tracer_provider(monkeypatch) -> None:
    """OpenTelemetry lets a process install its tracer provider once: the test gets a fresh slot, and the one before
    (none: the API's proxy) is put back afterwards, as OpenTelemetry's own test utilities reset it, so no later test
    in this process records spans."""
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)


@pytest.fixture
def recorded_spans(monkeypatch, fresh_tracer_provider) -> Iterator[RecordedSpans]:
    """Tracing on for this test, its spans kept in memory."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from ui.settings import load_ui_settings
    from ui.tracing import start_tracing

    monkeypatch.setenv("ENCLAVE_TRACING", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # needed; never reached: see below
    exporter = InMemorySpanExporter()  # where the OTLP exporter would be
    stop = start_tracing(load_ui_settings(_env_file=None), "enclave-test", exporter=exporter)
    recorded = RecordedSpans(exporter, stop)
    yield recorded
    recorded.stop()


def attribute_values(spans) -> list[str]:
    """Every value a span carries out of the process, as text: attributes, events', links', the status's description,
    the span's name and its resource's."""
    values = []
    for span in spans:
        values.append(span.name)
        values.extend(str(v) for v in span.attributes.values())
        values.extend(str(v) for event in span.events for v in event.attributes.values())
        values.extend(str(v) for link in span.links for v in (link.attributes or {}).values())
        values.append(span.status.description or "")
        values.extend(str(v) for v in span.resource.attributes.values())
    return values
