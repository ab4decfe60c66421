"""Set up the OpenTelemetry SDK for one Verifier, from ``telemetry`` configuration.

The providers made here are handed to the Verifier, never installed as the process-wide
(global) ones: a process can hold several verifiers (tests, a host application that has its
own OpenTelemetry setup) and OpenTelemetry lets the global providers be set only once.
``build_verifier`` calls ``configure_telemetry`` (``_configure``, which imports this module
only when something is to be exported) and the Verifier shuts the handle down when it
closes, so ``verifier serve`` and ``verifier demo`` flush their spans on exit.

Exporters (``telemetry.exporter``):

none     nothing of ours; the engine reports to the API's global providers (no-ops unless
         the host application installed the SDK)
console  spans and metrics printed to standard output (for a developer's terminal)
jsonl    spans and metrics appended to ``telemetry.jsonl_path`` (see ``_jsonl``)
otlp     spans and metrics sent to an OTLP/HTTP collector at ``telemetry.otlp_endpoint``

Beside any of them, ``telemetry.prometheus_port`` serves the metrics to Prometheus
scrapers (``_prometheus``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from verifier._errors import ConfigurationError
from verifier.telemetry._configure import TelemetryHandle
from verifier.telemetry._jsonl import JsonLinesMetricExporter, JsonLinesSpanExporter

if TYPE_CHECKING:
    from verifier.telemetry._config import TelemetryConfig
    from verifier.telemetry._prometheus import PrometheusEndpoint

DEFAULT_SERVICE_NAME = "onestop-verifier"


def sdk_telemetry(
    config: TelemetryConfig | None,
    *,
    span_processor: SpanProcessor | None = None,
    metric_reader: MetricReader | None = None,
) -> TelemetryHandle:
    """``configure_telemetry``'s work once there is something to export."""
    span_exporter, metric_exporter = _exporters(config)
    service_name = config.service_name if config is not None else DEFAULT_SERVICE_NAME
    resource = Resource.create({SERVICE_NAME: service_name})
    sample_ratio = config.sample_ratio if config is not None else 1.0
    tracer_provider = _tracer_provider(resource, sample_ratio, span_exporter, span_processor)
    readers: list[MetricReader] = []
    if metric_exporter is not None:
        interval_seconds = config.metric_export_interval_seconds if config is not None else 60.0
        readers.append(
            PeriodicExportingMetricReader(
                metric_exporter, export_interval_millis=interval_seconds * 1000
            )
        )
    if metric_reader is not None:
        readers.append(metric_reader)
    prometheus = _prometheus_endpoint(config)
    if prometheus is not None:
        readers.append(prometheus.reader)
    meter_provider = (
        MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)
        if readers
        else None
    )
    return TelemetryHandle(
        tracer_provider,
        meter_provider,
        span_exporter=span_exporter,
        metric_exporter=metric_exporter,
        prometheus=prometheus,
    )


def _prometheus_endpoint(config: TelemetryConfig | None) -> PrometheusEndpoint | None:
    if config is None or config.prometheus_port is None:
        return None
    # Imported only when asked for: the exporter and prometheus_client are an extra.
    from verifier.telemetry._prometheus import start_prometheus_endpoint

    return start_prometheus_endpoint(config.prometheus_host, config.prometheus_port)


def _tracer_provider(
    resource: Resource,
    sample_ratio: float,
    exporter: SpanExporter | None,
    processor: SpanProcessor | None,
) -> TracerProvider | None:
    if exporter is None and processor is None:
        return None
    # The SDK's own atexit hook is off: the handle's owner shuts it down, exactly once.
    provider = TracerProvider(
        sampler=_sampler(sample_ratio), resource=resource, shutdown_on_exit=False
    )
    if exporter is not None:
        # Batched, on the SDK's worker thread: exporting never holds up an answer.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def _sampler(ratio: float) -> Sampler:
    # A caller that traces a request keeps its trace whole: its sampling decision wins.
    return ParentBased(ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio))


def _exporters(
    config: TelemetryConfig | None,
) -> tuple[SpanExporter | None, MetricExporter | None]:
    if config is None or config.exporter == "none":
        return None, None
    if config.exporter == "console":
        # sys.stdout as it is now, not as it was at import (the SDK's default argument).
        return ConsoleSpanExporter(out=sys.stdout), ConsoleMetricExporter(out=sys.stdout)
    if config.exporter == "jsonl":
        if config.jsonl_path is None:
            raise ConfigurationError("telemetry.jsonl_path: required for exporter 'jsonl'")
        return JsonLinesSpanExporter(config.jsonl_path), JsonLinesMetricExporter(config.jsonl_path)
    return _otlp_exporters(config.otlp_endpoint)


def _otlp_exporters(endpoint: str | None) -> tuple[SpanExporter, MetricExporter]:
    # Imported only when chosen: the OTLP exporters pull in protobuf messages and requests.
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint is None:
        return OTLPSpanExporter(), OTLPMetricExporter()
    base = endpoint.rstrip("/")
    return (
        OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
    )
