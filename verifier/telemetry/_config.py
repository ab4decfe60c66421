"""Where spans and metrics go: the telemetry section of the configuration.

It lives with the telemetry it configures (the edge's configuration imports it), so that
setting the providers up needs nothing from the edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TelemetryConfig(BaseModel):
    """Where spans and metrics go (``VERIFIER_TELEMETRY__EXPORTER=otlp`` …).

    ``none`` sets up nothing of ours: the engine then reports to the host application's
    global OpenTelemetry providers if it installed any, and costs next to nothing if not.
    """

    model_config = ConfigDict(extra="forbid")

    exporter: Literal["none", "console", "jsonl", "otlp"] = "none"
    jsonl_path: Path | None = None
    """The JSON Lines file (spans and metrics); defaults to
    ``<data_dir>/telemetry/telemetry.jsonl``."""
    otlp_endpoint: str | None = None
    """An OTLP/HTTP collector's base URL (``/v1/traces`` and ``/v1/metrics`` are appended);
    if unset, the exporter's own default and ``OTEL_EXPORTER_OTLP_*`` variables apply."""
    service_name: str = Field(default="onestop-verifier", min_length=1)
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """Share of verifications traced (a caller's sampled trace is always continued)."""
    metric_export_interval_seconds: float = Field(default=60.0, gt=0)
    prometheus_port: int | None = Field(default=None, ge=0, le=65535)
    """Serve the metrics for Prometheus scrapers at ``http://<prometheus_host>:<port>/metrics``
    (OpenTelemetry's Prometheus exporter, the ``prometheus`` extra); None (the default): no
    endpoint; 0: a port the system chooses (``verifier serve`` prints it). Independent of
    ``exporter``. With ``server.workers`` above 1, worker k listens on ``port + k - 1``."""
    prometheus_host: str = Field(default="127.0.0.1", min_length=1)
    """Where the endpoint listens: ``0.0.0.0`` for a scraper on another machine (a pod's
    port). It serves metric names, departments, items, outcomes and counts: no subject and
    no value of any application or record."""
