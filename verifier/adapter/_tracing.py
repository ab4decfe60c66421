"""Outgoing trace context for department adapters that call over HTTP.

It sits with the adapter seam because adapters may import the seam but not the engine.
Only the W3C trace context leaves (``traceparent``/``tracestate``): never baggage, whatever
the process-wide propagator is set to.
"""

from __future__ import annotations

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_W3C_TRACE_CONTEXT = TraceContextTextMapPropagator()


def inject_trace_headers(headers: dict[str, str]) -> None:
    """Add the current trace context to an outgoing HTTP request's headers.

    For HTTP department backends: the engine runs each department call with its
    ``department <name>`` span current, so calling this inside the adapter's ``fetch``
    (or the backend it uses) lets the department's own tracing continue the verification's
    trace::

        headers = {"accept": "application/json"}
        inject_trace_headers(headers)
        response = await client.post(url, json=query, headers=headers)

    Writes ``traceparent`` (and ``tracestate`` when there is one), nothing else; with
    telemetry off, or outside any span, it writes nothing.
    """
    _W3C_TRACE_CONTEXT.inject(headers)
