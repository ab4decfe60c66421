"""Spans and metrics as JSON Lines: one object per line, appended to a local file.

For operators without a collector, and for auditors who want a verification's trace beside
its audit record (the record's ``trace_id`` is a span line's ``trace_id``). The SDK has no
file exporter; its console exporters print indented JSON meant for a terminal.

Span line::

    {"type": "span", "trace_id": "…32 hex…", "span_id": "…16 hex…", "parent_span_id": …,
     "name": "verify school_place", "kind": "INTERNAL", "start_time_unix_nano": …,
     "end_time_unix_nano": …, "attributes": {…}, "status": {"code": "UNSET", …},
     "events": […], "service_name": "onestop-verifier"}

Metric line (one per data point per export): ``{"type": "metric", "name", "unit",
"attributes", "start_time_unix_nano", "time_unix_nano", …}`` plus ``value`` for sums and
gauges, or ``count``/``sum``/``min``/``max``/``bucket_counts``/``explicit_bounds`` for
histograms.

Each exporter appends whole batches with one ``write`` on an ``O_APPEND`` descriptor, so
the span and metric exporters can share a file without interleaving lines.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger("verifier.telemetry")


class _AppendOnlyFile:
    """A file written only by appending whole lines; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Spans name callers and subject pseudonyms: readable by the service's user only.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def append(self, records: Iterator[dict[str, Any]]) -> bool:
        # ensure_ascii: every line is plain ASCII, so no reader can mistake a character in
        # a value for a line break.
        data = "".join(json.dumps(record, default=_plain) + "\n" for record in records)
        with self._lock:
            if self._fd is None:
                return False
            try:
                view = memoryview(data.encode("ascii"))
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                logger.error("telemetry file write failed: %s", exc.strerror or type(exc).__name__)
                return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span to ``path`` as one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = _AppendOnlyFile(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        written = self._file.append(span_record(span) for span in spans)
        return SpanExportResult.SUCCESS if written else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._file.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is written through to the file before it returns


class JsonLinesMetricExporter(MetricExporter):
    """Appends each metric data point of every export to ``path``, one JSON object per line."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._file = _AppendOnlyFile(path)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        written = self._file.append(metric_records(metrics_data))
        return MetricExportResult.SUCCESS if written else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._file.close()


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as the JSON Lines exporter writes it."""
    context = span.get_span_context()
    assert context is not None  # only unstarted SDK spans lack one; exporters get ended ones
    return {
        "type": "span",
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "attributes": dict(span.attributes or {}),
        "status": {"code": span.status.status_code.name, "description": span.status.description},
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.timestamp,
                "attributes": dict(event.attributes or {}),
            }
            for event in span.events
        ],
        "service_name": span.resource.attributes.get("service.name"),
    }


def metric_records(metrics_data: MetricsData) -> Iterator[dict[str, Any]]:
    """The data points of one metrics export, as the JSON Lines exporter writes them."""
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    record: dict[str, Any] = {
                        "type": "metric",
                        "name": metric.name,
                        "unit": metric.unit,
                        "scope": scope_metrics.scope.name,
                        "attributes": dict(point.attributes or {}),
                    }
                    for field in dataclasses.fields(point):
                        if field.name not in ("attributes", "exemplars"):
                            record[field.name] = getattr(point, field.name)
                    yield record
