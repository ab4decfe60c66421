"""Configuration and wiring: the edge that assembles a Verifier from files and entry points."""

from verifier.config._loading import load_config
from verifier.config._settings import (
    AlertsConfig,
    AuditConfig,
    CacheConfig,
    ConsoleConfig,
    DepartmentConfig,
    ResilienceConfig,
    ServerConfig,
    VerifierConfig,
    WitnessConfig,
)
from verifier.config._wiring import (
    build_verifier,
    create_adapter,
    ensure_demo_city,
    pseudonymiser_for,
    replica_id_for,
    witness_for,
)
from verifier.telemetry._config import TelemetryConfig

__all__ = [
    "AlertsConfig",
    "AuditConfig",
    "CacheConfig",
    "ConsoleConfig",
    "DepartmentConfig",
    "ResilienceConfig",
    "ServerConfig",
    "TelemetryConfig",
    "VerifierConfig",
    "WitnessConfig",
    "build_verifier",
    "create_adapter",
    "ensure_demo_city",
    "load_config",
    "pseudonymiser_for",
    "replica_id_for",
    "witness_for",
]
