"""The server edge's limits, in one typed object: the single source of their defaults.

``create_server`` and ``serve`` take a ``ServerOptions``; the configuration's ``server``
section (``verifier.config.ServerConfig``) is one, with the address and TLS added, so the
library and ``verifier serve`` cannot drift apart.

It lives with the configuration, not in ``verifier.service``, so that reading a
configuration never imports the gRPC edge; ``verifier.service`` re-exports it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServerOptions(BaseModel):
    """How much the gRPC server accepts, runs at once, and waits for when it stops."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    """Far above any valid application (16 subjects, 32 short parameters); bounds what a
    malformed or hostile request can make the server buffer."""
    max_concurrent_rpcs: int | None = Field(default=1024, ge=1)
    """grpc's own limit on RPCs in progress (every RPC alike, health checks included): the
    last resort. Keep it above ``max_in_flight_verifications`` plus the queue. None: none."""
    batch_in_flight: int = Field(default=32, ge=1)
    """Applications of one VerifyBatch stream worked on at once."""
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    """How long in-flight calls may take to finish once a shutdown begins."""
    max_in_flight_verifications: int = Field(default=256, ge=1)
    """Admission control: verifications (each Verify, each VerifyBatch item in progress)
    running at once; beyond it and a full queue, callers get RESOURCE_EXHAUSTED at once.
    Each holds a few department calls and an audit write; at the tens of milliseconds one
    takes, 256 carry several thousand a second — above the busiest platform's average in
    the seeds — while bounding what a burst can pile up."""
    max_queued_verifications: int = Field(default=64, ge=0)
    """Verifications that may wait for a slot (0: none wait)."""
    max_connection_age_seconds: float | None = Field(default=None, gt=0)
    """Ask each client to reconnect (HTTP/2 GOAWAY) once its connection is this old; None
    (the default): never. Behind a headless Service, a client balancing with round_robin
    learns of new replicas only when it re-resolves, which it does on reconnecting: this is
    what lets a scaled-up replica get its share of long-lived channels."""
    max_connection_age_grace_seconds: float = Field(default=30.0, ge=0)
    """How long calls already running on a connection told to go may still finish."""
    queue_timeout_ms: int = Field(default=100, ge=0)
    """How long a queued verification waits for a slot before RESOURCE_EXHAUSTED: a short
    queue smooths bursts; a caller that would wait longer is better told to retry (possibly
    on another replica) than left waiting on this one."""
