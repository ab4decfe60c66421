"""The telemetry surface is deliberate: changing it must change this test."""

from __future__ import annotations

import verifier.audit
import verifier.engine
import verifier.telemetry


def test_telemetry_exports_are_pinned() -> None:
    assert verifier.telemetry.__all__ == [
        "JsonLinesMetricExporter",
        "JsonLinesSpanExporter",
        "TelemetryHandle",
        "configure_telemetry",
        "extract_trace_context",
        "inject_trace_headers",
    ]
    for name in verifier.telemetry.__all__:
        assert hasattr(verifier.telemetry, name)


def test_alerts_and_providers_are_exported_where_their_layers_are() -> None:
    assert {"ALERT_RULES", "AlertThresholds", "HighRiskMonitor"} <= set(verifier.audit.__all__)
    assert verifier.audit.ALERT_RULES == (
        "distinct_subjects_per_hour",
        "off_hours_bulk_access",
        "refusals_per_hour",
    )
    assert "TelemetryProviders" in verifier.engine.__all__
    # ruff's order (RUF022): constants first, then the rest, each sorted.
    names = verifier.engine.__all__
    constants = sorted(name for name in names if name.isupper())
    assert names == constants + sorted(name for name in names if not name.isupper())


def test_the_engine_uses_the_api_only() -> None:
    """The SDK is set up at the edge; the engine's modules import only the API."""
    import inspect

    from verifier.engine import _fanout, _telemetry, _verifier

    for module in (_fanout, _telemetry, _verifier):
        assert "opentelemetry.sdk" not in inspect.getsource(module), module.__name__
