"""From configuration to who may call: the caller rights the engine enforces.

How the gRPC server recognises a caller (authenticator, TLS credentials) is the service's
side of the same section: ``verifier.service._security``. It stays out of here so that
reading a configuration and building a Verifier never import the gRPC edge.
"""

from __future__ import annotations

from collections.abc import Iterable

from verifier._errors import ConfigurationError
from verifier.access import AccessPolicy, CallerGrant
from verifier.config._settings import VerifierConfig


def caller_grants(config: VerifierConfig) -> dict[str, CallerGrant]:
    """Each configured calling system's rights (``access.callers``), by system name."""
    return {
        system: CallerGrant(items=caller.items, department=caller.department)
        for system, caller in config.access.callers.items()
    }


def access_policy(config: VerifierConfig, known_items: Iterable[str]) -> AccessPolicy:
    """The configured rights, checked against the registered items (a typo in an item
    name would otherwise deny that system silently)."""
    policy = AccessPolicy(caller_grants(config))
    problems = policy.problems(known_items)
    if problems:
        raise ConfigurationError("; ".join(f"access.callers.{problem}" for problem in problems))
    return policy
