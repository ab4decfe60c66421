"""The circuit breaker, state by state with a fake clock, and end to end through the engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from resilience_support import FakeClock, make_verifier, mock, policy
from support import FIRST_HOME_ACCESS, mock_departments, resident_id

from verifier import (
    CallOutcome,
    DepartmentAnswerInvalid,
    DepartmentError,
    DepartmentUnavailable,
    UnknownReason,
)
from verifier.adapter import DepartmentQuery, FactRequest
from verifier.engine._breaker import BreakerState, CircuitBreaker
from verifier.engine._resilience import DepartmentGuard
from verifier.engine._resilience_call import CallState
from verifier.engine._resilience_policy import BreakerPolicy, DepartmentPolicy
from verifier.model import parse_application

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN

# (step, expected state after it, whether the backend is called)
#   ok / fail: a call that answers / fails;  wait N: the clock moves N seconds
SCRIPT = [
    ("ok", CLOSED, True),
    ("fail", CLOSED, True),
    ("fail", CLOSED, True),
    ("ok", CLOSED, True),  # success resets the count: failures must be consecutive
    ("fail", CLOSED, True),
    ("fail", CLOSED, True),
    ("fail", OPEN, True),  # threshold 3 reached
    ("ok", OPEN, False),  # open: fail fast, no backend call
    ("fail", OPEN, False),
    ("wait 4.9", OPEN, False),
    ("ok", OPEN, False),
    ("wait 0.1", HALF_OPEN, False),  # open_seconds (5) passed
    ("fail", OPEN, True),  # the one trial fails: open again
    ("ok", OPEN, False),
    ("wait 5", HALF_OPEN, False),
    ("ok", CLOSED, True),  # the trial succeeds: closed
    ("fail", CLOSED, True),
    ("ok", CLOSED, True),
]


def query() -> DepartmentQuery:
    request = FactRequest("homes", "homes_owned_in_city", {"subject": "x"})
    return DepartmentQuery("housing", date(2026, 8, 31), (request,))


async def test_breaker_state_after_every_call_is_exact() -> None:
    clock = FakeClock()
    breaker_policy = {"failure_threshold": 3, "open_seconds": 5, "half_open_trials": 1}
    guard = DepartmentGuard(
        "housing",
        DepartmentPolicy.model_validate({"breaker": breaker_policy, "retry": {"max_attempts": 1}}),
        clock,
    )
    adapter = mock("housing")
    for step, expected, calls_backend in SCRIPT:
        before = adapter.calls
        if step.startswith("wait"):
            clock.advance(float(step.split()[1]))
        else:
            adapter.error = DepartmentUnavailable("down") if step == "fail" else None
            report = await guard.run(adapter, query(), CallState(clock() + 10**6))
            if not calls_backend:
                assert report.unavailable
                assert report.attempts == 0
        assert guard.breaker.state is expected, step
        assert (adapter.calls - before == 1) is calls_backend, step


def test_half_open_admits_only_its_trials_and_gives_back_an_abandoned_one() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, half_open_trials=2), clock)
    breaker.failed(breaker.admit() or False)
    assert breaker.state is OPEN
    clock.advance(5)
    first, second = breaker.admit(), breaker.admit()
    assert (first, second) == (True, True)
    assert breaker.admit() is None  # no third trial
    breaker.abandoned(True)  # a trial whose caller went away
    assert breaker.admit() is True
    breaker.succeeded(True)
    assert breaker.state is CLOSED


@pytest.mark.parametrize(
    ("error", "opens"),
    [(DepartmentUnavailable("down"), True), (DepartmentAnswerInvalid("garbled"), False)],
    ids=["unavailable", "rejected-answer"],
)
async def test_only_unavailability_opens_the_circuit(error: DepartmentError, opens: bool) -> None:
    clock = FakeClock()
    resilience = DepartmentPolicy.model_validate({"breaker": {"failure_threshold": 2}})
    guard = DepartmentGuard("housing", resilience, clock)
    adapter = mock("housing", error=error)
    for _ in range(3):
        await guard.run(adapter, query(), CallState(clock() + 10**6))
    assert (guard.breaker.state is OPEN) is opens


async def test_open_circuit_answers_unavailable_at_once_through_the_engine(
    tmp_path: Path,
) -> None:
    housing = mock("housing", error=DepartmentUnavailable("down"))
    resilience = policy(breaker={"failure_threshold": 2}, retry={"max_attempts": 1})
    async with make_verifier(
        tmp_path, mock_departments(housing=housing), resilience=resilience
    ) as verifier:
        application = parse_application(first_home())
        for _ in range(2):
            result = await verifier.verify(application)
            assert [c.attempts for c in result.department_calls if c.department == "housing"] == [1]
        assert verifier.breaker_states()["housing"] == "open"
        assert verifier.breaker_states()["tax"] == "closed"
        result = await verifier.verify(application)
    assert housing.calls == 2  # nothing while open
    [call] = [c for c in result.department_calls if c.department == "housing"]
    assert call.outcome is CallOutcome.ERROR
    assert call.attempts == 0
    housing_facts = [f for f in result.facts if f.provenance.department == "housing"]
    assert housing_facts
    assert all(f.reason is UnknownReason.DEPARTMENT_UNAVAILABLE for f in housing_facts)
    assert all(f.known for f in result.facts if f.provenance.department != "housing")


def first_home() -> dict[str, object]:
    return {
        "service_item": "first_home_purchase",
        "subjects": [{"role": "buyer", "id": resident_id("43010219900101303")}],
        "reference_date": "2026-08-31",
        **FIRST_HOME_ACCESS,
    }
