"""Who is calling: the calling system proven by the transport, before anything is parsed.

    CertificateAuthenticator  mutual TLS: the client certificate (checked against the CA
                              bundle by the TLS handshake — expired, not yet valid or
                              foreign certificates never reach us) names the system, by
                              its subject CN or a subjectAltName, through the configured
                              ``certificate_names``;
    TokenAuthenticator        development only: ``authorization: Bearer <token>`` whose
                              SHA-256 is configured for one system;
    LoopbackAuthenticator     development only, the embedded default: the request's own
                              ``caller`` is taken at its word, but only from this machine
                              (loopback peers) and only if it names a registered system.

A proven identity is final: neither the request's ``caller`` message nor metadata can
replace it. A failure is UNAUTHENTICATED, logged with the peer's address and counted in
``verifier.auth.failures``; it reaches no department. Naming no known system, it is not an
audit record of its own: the server counts failures per peer host and minute, by their
``AuthFailure`` reason, into one ``unauthenticated`` record (``_unauthenticated``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

import grpc
from opentelemetry import metrics

from verifier._errors import VerifierError
from verifier.access import CallerGrant
from verifier.model import CallerIdentity

logger = logging.getLogger("verifier.service.auth")

_Context: TypeAlias = "grpc.aio.ServicerContext[object, object]"

_NAME_PROPERTIES = ("x509_common_name", "peer_dns", "peer_uri")
_LOOPBACK_PEERS = ("ipv4:127.", "ipv6:[::1]", "ipv6:[::ffff:127.", "unix:")


class AuthFailure(StrEnum):
    """Why a call was not authenticated: the reasons an unauthenticated record counts."""

    NO_CLIENT_CERTIFICATE = "no_client_certificate"
    CERTIFICATE_NAMES_NO_SYSTEM = "certificate_names_no_system"
    CERTIFICATE_NAMES_SEVERAL_SYSTEMS = "certificate_names_several_systems"
    SYSTEM_HOLDS_NO_RIGHTS = "system_holds_no_rights"
    NO_BEARER_TOKEN = "no_bearer_token"  # noqa: S105 - a reason code, not a secret
    UNKNOWN_BEARER_TOKEN = "unknown_bearer_token"  # noqa: S105 - a reason code
    NOT_FROM_THIS_MACHINE = "not_from_this_machine"
    CALLER_NOT_REGISTERED = "caller_not_registered"
    """Development mode: the request's ``caller.system`` is not a registered system."""
    OTHER = "other"
    """Raised by an authenticator that gives no reason."""


class Unauthenticated(VerifierError):
    """The caller could not be identified as a registered system (→ UNAUTHENTICATED).

    The message says what was missing, never what was presented (a token, a name).
    """

    def __init__(self, message: str, reason: AuthFailure = AuthFailure.OTHER) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CallAuthentication:
    """What the transport proved about one call. ``caller`` None: development mode, where
    each request's declared caller is admitted by ``admit``."""

    caller: CallerIdentity | None
    registered: Mapping[str, CallerGrant] | None = None

    def admit(self, declared: CallerIdentity) -> CallerIdentity:
        """The caller to act for: the proven one, whatever the request declares."""
        if self.caller is not None:
            return self.caller
        if self.registered is None:
            return declared
        grant = self.registered.get(declared.system)
        if grant is None:
            raise Unauthenticated(
                "the request's caller.system is not a registered system",
                AuthFailure.CALLER_NOT_REGISTERED,
            )
        return CallerIdentity(
            system=declared.system, department=grant.department or declared.department
        )


class Authenticator(ABC):
    """Identifies the calling system of each RPC (raises ``Unauthenticated``)."""

    mode: str

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter("verifier", meter_provider=meter_provider)
        self._failures = meter.create_counter(
            "verifier.auth.failures", "{call}", "Calls refused with UNAUTHENTICATED"
        )

    def authenticate(self, context: _Context) -> CallAuthentication:
        try:
            return self._authenticate(context)
        except Unauthenticated as error:
            self.refused(context, error)
            raise

    @abstractmethod
    def _authenticate(self, context: _Context) -> CallAuthentication: ...

    def refused(self, context: _Context, error: Unauthenticated) -> None:
        """Count and log a refusal: by ``authenticate``, or decided after it (an
        unregistered declared caller in development mode)."""
        self._failures.add(1, {"verifier.auth.mode": self.mode})
        logger.warning("unauthenticated call from %s: %s", context.peer(), error)


def _identity(system: str, grant: CallerGrant) -> CallerIdentity:
    return CallerIdentity(system=system, department=grant.department)


class CertificateAuthenticator(Authenticator):
    """Mutual TLS: the peer certificate's names, mapped to exactly one registered system."""

    mode = "mtls"

    def __init__(
        self,
        grants: Mapping[str, CallerGrant],
        certificate_names: Mapping[str, Sequence[str]],
        *,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """``certificate_names``: system → the CNs / subjectAltNames that identify it."""
        super().__init__(meter_provider)
        self._systems: dict[str, str] = {}
        for system, names in certificate_names.items():
            for name in names:
                other = self._systems.setdefault(name, system)
                if other != system:
                    raise ValueError(f"certificate name {name!r} names both {other} and {system}")
        self._grants = dict(grants)

    def _authenticate(self, context: _Context) -> CallAuthentication:
        properties = context.auth_context()
        if properties.get("transport_security_type") != [b"ssl"]:
            raise Unauthenticated(
                "a client certificate is required (mutual TLS)", AuthFailure.NO_CLIENT_CERTIFICATE
            )
        # The subject CN and the DNS and URI subjectAltNames, each under its own key: grpc's
        # x509_subject_alternative_name mixes every kind (an IP or e-mail SAN must never
        # pass for a system name), and peer_identities() switches between SANs and the CN.
        names = {
            value.decode("utf-8", errors="replace")
            for key in _NAME_PROPERTIES
            for value in properties.get(key, ())
        }
        systems = {self._systems[name] for name in names if name in self._systems}
        if not systems:
            raise Unauthenticated(
                "the client certificate names no registered system",
                AuthFailure.CERTIFICATE_NAMES_NO_SYSTEM,
            )
        if len(systems) > 1:
            raise Unauthenticated(
                "the client certificate names more than one registered system",
                AuthFailure.CERTIFICATE_NAMES_SEVERAL_SYSTEMS,
            )
        [system] = systems
        grant = self._grants.get(system)
        if grant is None:  # pragma: no cover - the configuration maps names only to grants
            raise Unauthenticated(
                "the client certificate's system holds no rights",
                AuthFailure.SYSTEM_HOLDS_NO_RIGHTS,
            )
        return CallAuthentication(_identity(system, grant))


class TokenAuthenticator(Authenticator):
    """Development only: a bearer token whose SHA-256 is configured for one system."""

    mode = "token"

    def __init__(
        self,
        grants: Mapping[str, CallerGrant],
        token_sha256: Mapping[str, str],
        *,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """``token_sha256``: system → the hex SHA-256 of its token."""
        super().__init__(meter_provider)
        self._hashes = [(bytes.fromhex(digest), system) for system, digest in token_sha256.items()]
        self._grants = dict(grants)

    def _authenticate(self, context: _Context) -> CallAuthentication:
        token = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                scheme, _, credential = value.partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    token = credential.strip()
        if token is None:
            raise Unauthenticated(
                "a bearer token is required (authorization metadata)", AuthFailure.NO_BEARER_TOKEN
            )
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found = None
        for expected, system in self._hashes:  # every hash compared: no early exit to time
            if hmac.compare_digest(digest, expected):
                found = system
        if found is None or found not in self._grants:
            raise Unauthenticated(
                "the bearer token belongs to no registered system",
                AuthFailure.UNKNOWN_BEARER_TOKEN,
            )
        return CallAuthentication(_identity(found, self._grants[found]))


class LoopbackAuthenticator(Authenticator):
    """Development only: callers on this machine, named by the request, if registered.

    ``grants`` None admits any named caller (a library user's own test server)."""

    mode = "loopback"

    def __init__(
        self,
        grants: Mapping[str, CallerGrant] | None = None,
        *,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        super().__init__(meter_provider)
        self._grants = None if grants is None else dict(grants)

    def _authenticate(self, context: _Context) -> CallAuthentication:
        if not context.peer().startswith(_LOOPBACK_PEERS):
            raise Unauthenticated(
                "development mode accepts calls from this machine only",
                AuthFailure.NOT_FROM_THIS_MACHINE,
            )
        return CallAuthentication(None, self._grants)


def token_digest(token: str) -> str:
    """The hex SHA-256 to configure as a system's ``token_sha256``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
