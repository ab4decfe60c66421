"""Fixtures for the telemetry tests: verifiers whose spans and metrics are kept in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest
from support import TEST_PSEUDONYM_KEY, mock_departments
from telemetry_support import CapturingAuditSink, MakeTracedVerifier, Recorded, recorded_telemetry

from verifier.adapter import DepartmentAdapter
from verifier.audit import AuditSink, HighRiskMonitor, Pseudonymiser
from verifier.catalogue import load_catalogue
from verifier.engine import Interceptor, Verifier
from verifier.rules import load_service_items
from verifier.telemetry import TelemetryHandle


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    telemetry = recorded_telemetry()
    yield telemetry
    telemetry.handle.shutdown()


@pytest.fixture
def make_traced_verifier(recorded: Recorded) -> MakeTracedVerifier:
    """A Verifier over mock departments reporting to ``recorded``, auditing into memory."""
    catalogue = load_catalogue()
    items = load_service_items(catalogue)

    def make(
        adapters: Mapping[str, DepartmentAdapter] | None = None,
        *,
        audit: AuditSink | None = None,
        timeout: float = 2.0,
        alerts: HighRiskMonitor | None = None,
        clock: Callable[[], datetime] | None = None,
        telemetry: TelemetryHandle | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> Verifier:
        options: dict[str, Any] = {} if clock is None else {"clock": clock}
        return Verifier(
            catalogue=catalogue,
            items=items,
            adapters=mock_departments() if adapters is None else adapters,
            audit=audit or CapturingAuditSink(),
            pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
            default_timeout=timeout,
            telemetry=telemetry or recorded.handle,
            alerts=alerts,
            interceptors=interceptors,
            **options,
        )

    return make
