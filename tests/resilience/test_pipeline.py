"""Coalescing, bulkhead and retries through the engine, over mock departments."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from resilience_support import make_verifier, mock, policy
from support import (
    ELIGIBLE_FACTS,
    FIRST_HOME_ACCESS,
    MakeVerifier,
    mock_departments,
    resident_id,
)

from verifier import (
    CallOutcome,
    DepartmentAnswerInvalid,
    DepartmentUnavailable,
    UnknownReason,
    VerificationResult,
    parse_application,
)
from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.engine._resilience_policy import RetryPolicy
from verifier.engine._retry import RetryBudget


def first_home(buyer: str = "43010219900101303") -> dict[str, object]:
    return {
        "service_item": "first_home_purchase",
        "subjects": [{"role": "buyer", "id": resident_id(buyer)}],
        "reference_date": "2026-08-31",
        **FIRST_HOME_ACCESS,
    }


def buyer(index: int) -> str:
    return f"43010219900101{index + 100:03d}"


def housing_call(result: VerificationResult):  # type: ignore[no-untyped-def]
    [call] = [c for c in result.department_calls if c.department == "housing"]
    return call


def housing_reasons(result: VerificationResult) -> set[UnknownReason | None]:
    return {f.reason for f in result.facts if f.provenance.department == "housing"}


async def test_a_thousand_identical_cold_requests_make_one_call_per_department(
    tmp_path: Path,
) -> None:
    adapters = {
        department: mock(department, delay=0.05)
        for department in ("household", "social_insurance", "housing", "tax")
    }
    # A generous deadline: the question is coalescing, and on a loaded machine starting a
    # thousand verifications can take longer than the usual 2 s before the shared call ends.
    async with make_verifier(tmp_path, adapters, timeout=30.0) as verifier:
        application = parse_application(first_home())
        results = await asyncio.gather(*(verifier.verify(application) for _ in range(1000)))
    for adapter in adapters.values():
        assert adapter.calls == 1, adapter.department
    assert all(f.known for result in results for f in result.facts)
    # Attempts are counted once, by the verification that made the call.
    assert sum(housing_call(result).attempts for result in results) == 1


async def test_a_waiter_leaving_does_not_cancel_the_shared_call(tmp_path: Path) -> None:
    housing = mock("housing", delay=0.2)
    async with make_verifier(tmp_path, mock_departments(housing=housing)) as verifier:
        application = parse_application(first_home())
        impatient = asyncio.ensure_future(verifier.verify(application, timeout=0.05))
        await asyncio.sleep(0.01)
        patient = asyncio.ensure_future(verifier.verify(application, timeout=1.0))
        short, long = await asyncio.gather(impatient, patient)
    assert housing.calls == 1
    assert housing.cancelled == 0
    assert housing_reasons(short) == {UnknownReason.DEADLINE_EXCEEDED}
    assert all(f.known for f in long.facts)


async def test_the_shared_call_is_cancelled_when_no_waiter_is_left(tmp_path: Path) -> None:
    housing = mock("housing", hang=True)
    async with make_verifier(tmp_path, mock_departments(housing=housing)) as verifier:
        application = parse_application(first_home())
        await asyncio.gather(*(verifier.verify(application, timeout=0.1) for _ in range(5)))
        await asyncio.sleep(0.01)
        assert housing.calls == 1
        assert housing.cancelled == 1
        assert verifier._resilience is not None
        assert verifier._resilience.coalescer.in_flight == 0


async def test_bulkhead_limits_concurrent_calls_and_excess_waits_then_is_unknown(
    tmp_path: Path,
) -> None:
    # Calls of 0.25 s, two at a time; the departments get 0.65 s of the 0.75 s budget (the
    # rest is the audit reserve): two rounds (0.5 s) fit with room for a loaded machine, a
    # third (0.75 s) does not.
    housing = mock("housing", delay=0.25)
    resilience = policy(bulkhead={"max_concurrent": 2})
    async with make_verifier(
        tmp_path, mock_departments(housing=housing), resilience=resilience
    ) as verifier:
        applications = [parse_application(first_home(buyer(i))) for i in range(6)]
        started = time.perf_counter()
        results = await asyncio.gather(*(verifier.verify(a, timeout=0.75) for a in applications))
        elapsed = time.perf_counter() - started
        assert verifier._resilience is not None
        bulkhead = verifier._resilience.guards["housing"].bulkhead
    assert bulkhead.peak == 2
    outcomes = sorted(housing_call(result).outcome for result in results)
    # Two rounds of two fit in the deadline; the third round waited and ran out of time.
    assert outcomes.count(CallOutcome.OK) == 4
    timed_out = [r for r in results if housing_call(r).outcome is CallOutcome.TIMEOUT]
    assert len(timed_out) == 2
    assert all(housing_reasons(r) == {UnknownReason.DEADLINE_EXCEEDED} for r in timed_out)
    assert all(f.known for r in results for f in r.facts if f.provenance.department != "housing")
    assert elapsed < 0.75 + 0.1


async def test_bulkhead_can_fail_fast(tmp_path: Path) -> None:
    housing = mock("housing", delay=0.05)
    resilience = policy(bulkhead={"max_concurrent": 1, "max_wait_ms": 0})
    async with make_verifier(
        tmp_path, mock_departments(housing=housing), resilience=resilience
    ) as verifier:
        applications = [parse_application(first_home(buyer(i))) for i in range(3)]
        results = await asyncio.gather(*(verifier.verify(a) for a in applications))
    refused = [r for r in results if housing_call(r).attempts == 0]
    assert len(refused) == 2
    assert all(housing_reasons(r) == {UnknownReason.DEPARTMENT_UNAVAILABLE} for r in refused)
    assert housing.calls == 1


class Flaky(MockAdapter):
    """Fails its first ``failures`` calls with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__("housing", values=ELIGIBLE_FACTS["housing"])
        self.failures = failures
        self.failure = error

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        if self.calls < self.failures:
            self.queries.append(query)
            raise self.failure
        return await super().fetch(query)


async def test_retryable_errors_are_retried_within_max_attempts(tmp_path: Path) -> None:
    recovering = Flaky(2, DepartmentUnavailable("blip"))
    async with make_verifier(tmp_path, mock_departments(housing=recovering)) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    assert housing_call(result).attempts == 3
    assert housing_call(result).outcome is CallOutcome.OK
    assert all(f.known for f in result.facts)

    down = Flaky(10, DepartmentUnavailable("down"))
    async with make_verifier(tmp_path, mock_departments(housing=down)) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    assert down.calls == 3  # max_attempts
    assert housing_reasons(result) == {UnknownReason.DEPARTMENT_ERROR}


async def test_errors_not_marked_retryable_are_not_retried(tmp_path: Path) -> None:
    rejected = DepartmentAnswerInvalid("garbled")
    for error in (rejected, DepartmentUnavailable("tls", retryable=False)):
        adapter = Flaky(10, error)
        async with make_verifier(tmp_path, mock_departments(housing=adapter)) as verifier:
            result = await verifier.verify(parse_application(first_home()))
        assert adapter.calls == 1
        assert housing_call(result).attempts == 1


async def test_an_invalid_answer_is_judged_alike_with_resilience_on_and_off(
    tmp_path: Path, make_test_verifier: MakeVerifier
) -> None:
    # One fan-out path: "resilience off" is a disabled policy, not a second way to call.
    def garbled() -> MockAdapter:
        return mock("housing", error=DepartmentAnswerInvalid("garbled"))

    outcomes = []
    for verifier in (
        make_verifier(tmp_path / "on", mock_departments(housing=garbled())),
        make_test_verifier(mock_departments(housing=garbled()), tmp_path / "off"),
    ):
        async with verifier:
            result = await verifier.verify(parse_application(first_home()))
        outcomes.append((housing_call(result).outcome, housing_reasons(result)))
    assert outcomes == [(CallOutcome.INVALID_ANSWER, {UnknownReason.INVALID_ANSWER})] * 2


async def test_retries_never_run_past_the_deadline(tmp_path: Path) -> None:
    down = Flaky(100, DepartmentUnavailable("down"))
    resilience = policy(
        retry={"max_attempts": 10, "initial_backoff_ms": 40, "max_backoff_ms": 40, "jitter_ms": 0}
    )
    async with make_verifier(
        tmp_path, mock_departments(housing=down), resilience=resilience
    ) as verifier:
        started = time.perf_counter()
        await verifier.verify(parse_application(first_home()), timeout=0.1)
        elapsed = time.perf_counter() - started
    assert down.calls <= 3  # 0, 40, 80 ms: a fourth would start past the department deadline
    assert elapsed < 0.1 + 0.05


def test_retry_budget_allows_a_fifth_extra_plus_its_small_minimum() -> None:
    retry = RetryPolicy(budget_min_retries=2, budget_refill_per_second=0)
    budget = RetryBudget(retry, lambda: 0.0)
    granted = 0
    for _ in range(100):
        budget.deposit()
        granted += budget.withdraw()
    assert granted <= 0.2 * 100 + 2
    assert granted >= 0.2 * 100


async def test_budget_end_is_the_request_deadline_minus_the_margin(tmp_path: Path) -> None:
    housing = mock("housing", hang=True)
    resilience = policy(deadline_margin_ms=20)
    async with make_verifier(
        tmp_path, mock_departments(housing=housing), resilience=resilience
    ) as verifier:
        started = time.perf_counter()
        result = await verifier.verify(parse_application(first_home()), timeout=0.2)
        elapsed = time.perf_counter() - started
    # Judged by the pipeline (TIMEOUT with its attempt counted), not cut off by the fan-out.
    assert housing_call(result).outcome is CallOutcome.TIMEOUT
    assert housing_call(result).attempts == 1
    assert housing.cancelled == 1
    assert elapsed < 0.2 + 0.05
