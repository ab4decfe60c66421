"""From configuration to how the gRPC server recognises a caller: the authenticator for
``access.mode`` and the TLS credentials of ``server.tls``.

The rights themselves (``verifier.config._security``) are the engine's; only this part
needs grpc, so it lives on the service side and loads with it.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from opentelemetry import metrics

from verifier._errors import ConfigurationError
from verifier.config._security import caller_grants
from verifier.config._settings import AccessMode, VerifierConfig
from verifier.service._auth import (
    Authenticator,
    CertificateAuthenticator,
    LoopbackAuthenticator,
    TokenAuthenticator,
)


def authenticator_for(
    config: VerifierConfig, *, meter_provider: metrics.MeterProvider | None = None
) -> Authenticator:
    grants = caller_grants(config)
    callers = config.access.callers
    if config.access.mode is AccessMode.MTLS:
        try:
            return CertificateAuthenticator(
                grants,
                {system: caller.certificate_names for system, caller in callers.items()},
                meter_provider=meter_provider,
            )
        except ValueError as exc:
            raise ConfigurationError(f"access.callers: {exc}") from None
    if config.access.mode is AccessMode.TOKEN:
        return TokenAuthenticator(
            grants,
            {system: c.token_sha256 for system, c in callers.items() if c.token_sha256},
            meter_provider=meter_provider,
        )
    return LoopbackAuthenticator(grants, meter_provider=meter_provider)


def server_credentials_for(config: VerifierConfig) -> grpc.ServerCredentials | None:
    """TLS for the server (client certificates required when ``client_ca`` is set), or
    None for plaintext on loopback."""
    tls = config.server.tls
    if tls is None:
        return None
    certificate = _read(tls.certificate, "server.tls.certificate")
    key = _read(tls.private_key, "server.tls.private_key")
    client_ca = _read(tls.client_ca, "server.tls.client_ca") if tls.client_ca else None
    return grpc.ssl_server_credentials(
        [(key, certificate)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _read(path: Path, key: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{key}: cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN " not in data:
        raise ConfigurationError(f"{key}: {path} is not a PEM file")
    return data
