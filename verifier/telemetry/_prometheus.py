"""The metrics for Prometheus scrapers: OpenTelemetry's Prometheus exporter on its own port.

The reader turns each scrape into a collection of the meter provider's instruments (no
periodic export): what a scrape shows is the state at that moment. The endpoint has its own
registry, not ``prometheus_client``'s global one, so that a process holding several
verifiers (tests, a host application with metrics of its own) shows each its own metrics.

Loaded only when ``telemetry.prometheus_port`` is set: ``prometheus_client`` and the
exporter are the optional ``prometheus`` extra.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from opentelemetry.sdk.metrics.export import MetricReader

from verifier._errors import ConfigurationError

logger = logging.getLogger("verifier.telemetry")


@dataclass(slots=True)
class PrometheusEndpoint:
    """A running ``/metrics`` endpoint and the reader it serves."""

    reader: MetricReader
    """The ``PrometheusMetricReader`` to give the meter provider."""
    host: str
    port: int
    """The port bound (the system's choice when 0 was asked)."""
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_prometheus_endpoint(host: str, port: int) -> PrometheusEndpoint:
    """Listen on ``host:port`` (0: any free port) and serve a new reader's metrics there."""
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError:
        raise ConfigurationError(
            "telemetry.prometheus_port needs the prometheus extra "
            "(pip install 'onestop-verifier[prometheus]')"
        ) from None
    registry = CollectorRegistry(auto_describe=True)
    # target_info would repeat the resource (service name) as a metric of its own: the
    # scraper's job and instance labels already say which replica this is.
    reader = PrometheusMetricReader(disable_target_info=True, registry=registry)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigurationError(
            f"telemetry.prometheus_port: cannot listen on {host}:{port} ({exc.strerror})"
        ) from None
    bound = int(server.server_port)
    logger.info("prometheus metrics on %s:%d", host, bound)
    return PrometheusEndpoint(reader, host, bound, server, thread)
