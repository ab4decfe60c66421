"""OpenTelemetry at the edges: SDK set-up by configuration, file exporters, trace propagation.

The engine itself speaks only the OpenTelemetry API (``verifier.engine._telemetry``); this
package chooses where its spans and metrics go (``configure_telemetry``) and carries trace
context in from gRPC callers and out to HTTP departments (``inject_trace_headers``).

The SDK is loaded only when something is to be exported (``configure_telemetry`` with an
exporter, a span processor or a metric reader) or a file exporter is named: with exporter
``none`` the engine reports to the API's global providers and nothing more is imported.
"""

from typing import TYPE_CHECKING, Any

from verifier.adapter import inject_trace_headers
from verifier.telemetry._configure import TelemetryHandle, configure_telemetry
from verifier.telemetry._propagation import extract_trace_context

if TYPE_CHECKING:
    from verifier.telemetry._jsonl import JsonLinesMetricExporter, JsonLinesSpanExporter

_SDK_EXPORTERS = ("JsonLinesMetricExporter", "JsonLinesSpanExporter")


def __getattr__(name: str) -> Any:
    # The file exporters are SDK classes: loaded when named, so that the package (which the
    # configuration imports) does not load the SDK.
    if name in _SDK_EXPORTERS:
        from verifier.telemetry import _jsonl

        return getattr(_jsonl, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "JsonLinesMetricExporter",
    "JsonLinesSpanExporter",
    "TelemetryHandle",
    "configure_telemetry",
    "extract_trace_context",
    "inject_trace_headers",
]
