"""Shared by the resilience tests: verifiers with a resilience policy, fake clocks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from support import ELIGIBLE_FACTS, TEST_PSEUDONYM_KEY, mock_departments

from adapters.demo_city import DemoCityManifest
from adapters.http import HttpDepartmentAdapter, settings_from
from adapters.simulator import RunningSimulators
from verifier import Application, VerificationResult, parse_application
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest, MockAdapter
from verifier.audit import ChainedAuditLog, Pseudonymiser, load_or_create_signing_key
from verifier.catalogue import load_catalogue
from verifier.engine import Verifier
from verifier.engine._resilience_policy import ResiliencePolicy
from verifier.rules import load_service_items

FAST_RETRY = {"initial_backoff_ms": 1, "max_backoff_ms": 5, "jitter_ms": 1}
"""Back-off small enough for tests; the shape (exponential, jittered) is the policy's."""


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def policy(**settings: Any) -> ResiliencePolicy:
    settings.setdefault("retry", {})
    settings["retry"] = {**FAST_RETRY, **settings["retry"]}
    return ResiliencePolicy.model_validate(settings)


def make_verifier(
    audit_dir: Path,
    adapters: Mapping[str, DepartmentAdapter] | None = None,
    *,
    resilience: ResiliencePolicy | None = None,
    timeout: float = 2.0,
) -> Verifier:
    catalogue = load_catalogue()
    return Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=mock_departments() if adapters is None else adapters,
        audit=ChainedAuditLog(audit_dir, load_or_create_signing_key(audit_dir), fsync=False),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
        default_timeout=timeout,
        resilience=resilience or policy(),
    )


def http_adapters(simulators: RunningSimulators, **settings: Any) -> dict[str, DepartmentAdapter]:
    return {
        department: HttpDepartmentAdapter(
            settings_from({"department": department, "url": url, **settings})
        )
        for department, url in simulators.urls.items()
    }


def applications(city: DemoCityManifest) -> list[Application]:
    return [parse_application(sample.application) for sample in city.samples]


def known_facts(result: VerificationResult) -> dict[str, object]:
    return {fact.name: fact.value for fact in result.facts if fact.known}


def calls_to(result: VerificationResult, department: str) -> int:
    return sum(c.attempts for c in result.department_calls if c.department == department)


def mock(department: str, **options: Any) -> MockAdapter:
    """A mock department answering the eligible values, with ``MockAdapter`` options."""
    return MockAdapter(department, values=ELIGIBLE_FACTS[department], **options)


def housing_query(subject: str = "x") -> DepartmentQuery:
    """A one-fact housing query, for tests that drive the pipeline directly."""
    request = FactRequest("homes", "homes_owned_in_city", {"subject": subject})
    return DepartmentQuery("housing", date(2026, 8, 31), (request,))
