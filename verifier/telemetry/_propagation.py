"""Trace context across process boundaries: in from a service hall's gRPC call, out to an
HTTP department.

Only the W3C trace context (``traceparent`` / ``tracestate``) crosses, in either direction,
whatever the process-wide propagator is set to: baggage arriving from a caller is data we
have no reason to accept, and none may leave towards a department. An incoming context is
used for one thing only — as the parent of our spans. It names no one and authorises
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# Outgoing: see verifier.adapter.inject_trace_headers (it lives with the adapter seam,
# which department adapters may import).
_W3C_TRACE_CONTEXT = TraceContextTextMapPropagator()

_Metadata = Sequence[tuple[str, str | bytes]]


class _MetadataGetter(Getter[_Metadata]):
    """Reads gRPC metadata: (key, value) pairs, keys lower-case, ``-bin`` values bytes."""

    def get(self, carrier: _Metadata, key: str) -> list[str] | None:
        values = [value for name, value in carrier if name == key and isinstance(value, str)]
        return values or None

    def keys(self, carrier: _Metadata) -> list[str]:
        return [name for name, _ in carrier]


_METADATA_GETTER = _MetadataGetter()


def extract_trace_context(metadata: Iterable[tuple[str, str | bytes]] | None) -> Context:
    """The caller's trace context from gRPC invocation metadata (empty if it sent none or
    a malformed one), to make the parent of the verification's span."""
    return _W3C_TRACE_CONTEXT.extract(tuple(metadata or ()), getter=_METADATA_GETTER)
