"""OpenTelemetry at the edges: SDK set-up by configuration, file exporters, trace propagation.

The engine itself speaks only the OpenTelemetry API (``verifier.engine._telemetry``); this
package chooses where its spans and metrics go (``configure_telemetry``) and carries trace
context in from gRPC callers and out to HTTP departments (``inject_trace_headers``).
"""

from verifier.adapter import inject_trace_headers
from verifier.telemetry._jsonl import JsonLinesMetricExporter, JsonLinesSpanExporter
from verifier.telemetry._propagation import extract_trace_context
from verifier.telemetry._setup import TelemetryHandle, configure_telemetry

__all__ = [
    "JsonLinesMetricExporter",
    "JsonLinesSpanExporter",
    "TelemetryHandle",
    "configure_telemetry",
    "extract_trace_context",
    "inject_trace_headers",
]
