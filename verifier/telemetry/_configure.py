"""``configure_telemetry``, and the handle it returns, without the OpenTelemetry SDK.

The engine speaks only the API; the SDK (``_setup``) is imported here only when something
is to be exported, so a Verifier with exporter ``none`` — the embedded default — and
``import verifier`` do not load it (issue 11).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from verifier.telemetry._config import TelemetryConfig
    from verifier.telemetry._prometheus import PrometheusEndpoint

logger = logging.getLogger("verifier.telemetry")


class TelemetryHandle:
    """The SDK providers ``configure_telemetry`` made (None: the API's global ones).

    Pass it to a Verifier (``build_verifier`` does); ``shutdown`` flushes and stops the
    exporters, once — later calls do nothing.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        span_exporter: SpanExporter | None = None,
        metric_exporter: MetricExporter | None = None,
        prometheus: PrometheusEndpoint | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.span_exporter = span_exporter
        """The exporter chosen by configuration (None for ``none``)."""
        self.metric_exporter = metric_exporter
        self.prometheus = prometheus
        """The ``/metrics`` endpoint for scrapers, if ``telemetry.prometheus_port`` asked
        for one (``prometheus.url`` says where); closed by ``shutdown``."""
        self._lock = threading.Lock()
        self._shut_down = False

    def force_flush(self) -> None:
        """Export what is buffered now (spans are batched, metrics sent periodically)."""
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()
        if self.meter_provider is not None:
            self.meter_provider.force_flush()

    def shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is None:
                continue
            try:
                provider.shutdown()
            except Exception as exc:  # telemetry lost on the way out must not fail the close
                logger.error("telemetry shutdown failed: %s", type(exc).__name__)
        if self.prometheus is not None:
            self.prometheus.close()


def configure_telemetry(
    config: TelemetryConfig | None = None,
    *,
    span_processor: SpanProcessor | None = None,
    metric_reader: MetricReader | None = None,
) -> TelemetryHandle:
    """Providers and exporters for ``config`` (None: exporter ``none``).

    ``span_processor`` and ``metric_reader`` are added beside the configured exporter — for
    tests (``SimpleSpanProcessor(InMemorySpanExporter())``, ``InMemoryMetricReader()``) and
    for hosts with an exporter of their own.
    """
    exporting = config is not None and (
        config.exporter != "none" or config.prometheus_port is not None
    )
    if not exporting and span_processor is None and metric_reader is None:
        return TelemetryHandle()  # the API's global providers: nothing of ours to set up
    from verifier.telemetry._setup import sdk_telemetry  # the SDK, only now it is needed

    return sdk_telemetry(config, span_processor=span_processor, metric_reader=metric_reader)
