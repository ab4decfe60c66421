"""Configuration and wiring: the edge that assembles a Verifier from files and entry points."""

from verifier.config._settings import (
    AuditConfig,
    DepartmentConfig,
    ServerConfig,
    VerifierConfig,
    load_config,
)
from verifier.config._wiring import build_verifier, create_adapter, ensure_demo_city

__all__ = [
    "AuditConfig",
    "DepartmentConfig",
    "ServerConfig",
    "VerifierConfig",
    "build_verifier",
    "create_adapter",
    "ensure_demo_city",
    "load_config",
]
