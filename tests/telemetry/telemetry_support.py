"""Helpers for the telemetry tests (importable as ``telemetry_support``).

Every provider here is local to its test (``configure_telemetry`` never installs global
providers), so tests cannot see each other's spans and no global-provider warning fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from verifier import load_config
from verifier.audit import AlertRecord, AuditRecord, AuditSink
from verifier.engine import Verifier
from verifier.telemetry import TelemetryHandle, configure_telemetry


class CapturingAuditSink(AuditSink):
    """Keeps what the engine appends, so tests read records whatever the log's file format.

    ``refuse_alerts`` makes alert appends fail, as a full disk would.
    """

    def __init__(self, *, refuse_alerts: bool = False) -> None:
        self.entries: list[AuditRecord | AlertRecord] = []
        self.refuse_alerts = refuse_alerts

    async def append(self, record: AuditRecord | AlertRecord) -> None:
        if self.refuse_alerts and isinstance(record, AlertRecord):
            raise OSError("disk full")
        self.entries.append(record)

    @property
    def records(self) -> list[AuditRecord]:
        return [entry for entry in self.entries if isinstance(entry, AuditRecord)]

    @property
    def alerts(self) -> list[AlertRecord]:
        return [entry for entry in self.entries if isinstance(entry, AlertRecord)]


@dataclass
class Recorded:
    """A telemetry handle whose spans and metrics stay in memory for assertions."""

    handle: TelemetryHandle
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]

    def points(self, metric: str) -> list[Any]:
        """The data points of ``metric`` (cumulative since the provider started)."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for found in scope.metrics
            if found.name == metric
            for point in found.data.data_points
        ]

    def counted(self, metric: str) -> dict[frozenset[tuple[str, Any]], int]:
        """A counter's values by attribute set."""
        return {frozenset((p.attributes or {}).items()): p.value for p in self.points(metric)}


def recorded_telemetry(**config: Any) -> Recorded:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    handle = configure_telemetry(
        load_config(telemetry=config).telemetry if config else None,
        span_processor=SimpleSpanProcessor(exporter),
        metric_reader=reader,
    )
    return Recorded(handle, exporter, reader)


MakeTracedVerifier = Callable[..., Verifier]
"""The type of the ``make_traced_verifier`` fixture."""
