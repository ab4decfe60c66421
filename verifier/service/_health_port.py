"""A plaintext port that serves ``grpc.health.v1`` and nothing else, for probes.

Kubernetes' gRPC probes (and most load balancers' health checks) speak neither TLS nor
client certificates, while a network-facing ``verifier serve`` accepts only mutual TLS. This
second port answers health checks without them: the same health servicer as the main port
(SERVING, NOT_SERVING while the audit sink cannot write, NOT_SERVING from the start of a
shutdown), no verification service, no reflection. What it tells — the service's status and
each department's circuit — names no one, so it may listen on the pod's network.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2_grpc

from verifier._errors import ConfigurationError

HEALTH_PORT_MAX_RPCS = 16
"""Probes are few; a flood of health calls on this port must not cost the main port."""


@dataclass(frozen=True, slots=True)
class HealthPort:
    """The running health-only server and the port it bound."""

    server: grpc.aio.Server
    port: int

    async def stop(self) -> None:
        # Last, after the main port: a probe during the drain hears NOT_SERVING, not silence.
        await self.server.stop(0)


async def open_health_port(servicer: health_aio.HealthServicer, address: str) -> HealthPort:
    """Serve ``servicer`` alone, in plaintext, on ``address`` (port 0: the system's choice)."""
    server = grpc.aio.server(maximum_concurrent_rpcs=HEALTH_PORT_MAX_RPCS)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:  # grpc's way of saying the address is taken or malformed
        raise ConfigurationError(f"server.health_address: cannot listen on {address!r}") from None
    await server.start()
    return HealthPort(server, port)
