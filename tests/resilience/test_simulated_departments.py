"""The resilience pipeline against the fault-injecting simulators, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from resilience_support import applications, http_adapters, make_verifier, policy
from support import DEPARTMENTS

from adapters.demo_city import DemoCityManifest
from adapters.simulator import FaultPlan, FixedLatency, LognormalLatency, RunningSimulators
from verifier import FactStatus, UnknownReason, VerificationResult
from verifier.engine import Verifier
from verifier.engine._resilience_policy import ResiliencePolicy

Answers = dict[tuple[str, str], tuple[FactStatus, object]]


def answers(sample_results: list[tuple[str, VerificationResult]]) -> Answers:
    return {
        (sample, fact.name): (fact.status, fact.value)
        for sample, result in sample_results
        for fact in result.facts
    }


def faults(simulators: RunningSimulators, plan: FaultPlan, *only: str) -> None:
    for department in only or DEPARTMENTS:
        simulators.simulators[department].faults = plan


def requests_to(simulators: RunningSimulators) -> dict[str, int]:
    return {d: simulators.simulators[d].stats.requests for d in DEPARTMENTS}


@contextmanager
def verifier_over(
    tmp_path: Path, simulators: RunningSimulators, resilience: ResiliencePolicy, name: str
) -> Iterator[Verifier]:
    yield make_verifier(tmp_path / name, http_adapters(simulators), resilience=resilience)


async def run_samples(
    verifier: Verifier, city: DemoCityManifest, rounds: int = 1, timeout: float = 1.0
) -> list[tuple[str, VerificationResult]]:
    results = []
    for _ in range(rounds):
        for sample, application in zip(city.samples, applications(city), strict=True):
            results.append((sample.name, await verifier.verify(application, timeout=timeout)))
    return results


@pytest.fixture
async def fault_free(
    tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> Answers:
    with verifier_over(tmp_path, simulators, policy(), "fault-free") as built:
        async with built as verifier:
            return answers(await run_samples(verifier, demo_city))


async def test_a_hanging_department_costs_only_its_facts_and_no_time(
    tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators, fault_free: Answers
) -> None:
    faults(simulators, FaultPlan(hang_rate=1.0), "housing")
    with verifier_over(tmp_path, simulators, policy(), "hang") as built:
        async with built as verifier:
            for sample, application in zip(demo_city.samples, applications(demo_city), strict=True):
                started = time.perf_counter()
                result = await verifier.verify(application, timeout=0.2)
                assert time.perf_counter() - started < 0.2 + 0.05
                for fact in result.facts:
                    if fact.provenance.department == "housing":
                        assert fact.reason in (
                            UnknownReason.DEADLINE_EXCEEDED,
                            UnknownReason.DEPARTMENT_UNAVAILABLE,  # the circuit opened
                        )
                    else:
                        assert (fact.status, fact.value) == fault_free[(sample.name, fact.name)]


def refilled(resilience: ResiliencePolicy, seconds: float) -> float:
    """The most retry tokens the budget regains by time over ``seconds``."""
    return resilience.for_department("household").retry.budget_refill_per_second * seconds


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
async def test_error_rates_never_give_a_wrong_fact_and_attempts_stay_in_policy(
    rate: float,
    tmp_path: Path,
    demo_city: DemoCityManifest,
    simulators: RunningSimulators,
    fault_free: Answers,
) -> None:
    before = requests_to(simulators)
    plan = FaultPlan(
        error_rate=rate * 0.5, reset_rate=rate * 0.2, malformed_rate=rate * 0.15,
        wrong_subject_rate=rate * 0.15,
    )  # fmt: skip
    faults(simulators, plan)
    resilience = policy()
    started = time.monotonic()
    with verifier_over(tmp_path, simulators, resilience, "errors") as built:
        async with built as verifier:
            results = await run_samples(verifier, demo_city, rounds=4)
    refill = refilled(resilience, time.monotonic() - started)
    for key, (status, value) in answers(results).items():
        if status is FactStatus.KNOWN:
            assert (status, value) == fault_free[key], key
    calls = [call for _, result in results for call in result.department_calls]
    assert all(call.attempts <= 3 for call in calls)
    made = requests_to(simulators)
    for department in DEPARTMENTS:
        attempts = sum(c.attempts for c in calls if c.department == department)
        assert made[department] - before[department] == attempts, department
        first_attempts = sum(1 for c in calls if c.department == department and c.attempts)
        # The retry budget: a fifth extra at most, plus its small starting balance and
        # what it refills over the run (more on a slow, loaded machine).
        assert attempts - first_attempts <= 0.2 * first_attempts + 3 + 1 + refill, department


async def test_an_outage_opens_the_breaker_and_adds_almost_no_calls(
    tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    faults(simulators, FaultPlan(error_rate=1.0), "social_insurance")
    before = requests_to(simulators)["social_insurance"]
    resilience = policy()
    started = time.monotonic()
    with verifier_over(tmp_path, simulators, resilience, "outage") as built:
        async with built as verifier:
            results = await run_samples(
                verifier, demo_city, rounds=200 // len(demo_city.samples) + 1
            )
            assert verifier.breaker_states()["social_insurance"] == "open"
    refill = refilled(resilience, time.monotonic() - started)
    client_calls = sum(
        1
        for _, result in results
        for call in result.department_calls
        if call.department == "social_insurance"
    )
    assert client_calls >= 200
    department_calls = requests_to(simulators)["social_insurance"] - before
    assert department_calls <= 1.2 * client_calls
    # The threshold's calls and what the budget allowed (its balance, and its refill over
    # the run: half-open trials after each open period come out of the same calls).
    assert department_calls <= 5 + 3 + 1 + refill


@pytest.mark.parametrize("fault", ["malformed_rate", "wrong_subject_rate"])
async def test_malformed_or_wrong_subject_answers_are_unknown_never_facts(
    fault: str, tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    faults(simulators, FaultPlan.model_validate({fault: 1.0}), "household")
    with verifier_over(tmp_path, simulators, policy(), "invalid") as built:
        async with built as verifier:
            results = await run_samples(verifier, demo_city)
    household = [
        fact for _, r in results for fact in r.facts if fact.provenance.department == "household"
    ]
    assert household
    assert all(fact.reason is UnknownReason.INVALID_ANSWER for fact in household)
    assert all(fact.value is None for fact in household)


async def test_a_slow_read_is_hedged_and_the_loser_cancelled(
    tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    faults(simulators, FaultPlan(latency=LognormalLatency(p50_ms=50, p99_ms=1000)), "housing")
    housing = simulators.simulators["housing"]
    before = housing.stats.requests
    resilience = policy(departments={"housing": {"hedging": {"enabled": True, "delay_ms": 100}}})
    started = time.monotonic()
    with verifier_over(tmp_path, simulators, resilience, "hedge") as built:
        async with built as verifier:
            results = await run_samples(verifier, demo_city, rounds=3, timeout=2.0)
            elapsed = time.monotonic() - started
            assert verifier._resilience is not None
            guard = verifier._resilience.guards["housing"]
            for _ in range(100):  # the server sees the loser's connection close a bit later
                if not housing.stats.in_flight:
                    break
                await asyncio.sleep(0.01)
    calls = [c for _, r in results for c in r.department_calls if c.department == "housing"]
    hedges = sum(c.attempts for c in calls) - len(calls)
    assert hedges >= 1
    assert all(c.attempts <= 2 for c in calls)
    # Requests answered or cancelled (the simulator counts a cancelled one only there). Every
    # first read reaches the department; a hedge whose race was over before its request
    # left the client never does (seen once in CI: 2 of 15), so hedges bound it from above.
    seen = housing.stats.requests + housing.stats.cancelled - before
    assert len(calls) <= seen <= len(calls) + hedges
    assert housing.stats.cancelled >= 1  # a loser was cancelled
    assert housing.stats.in_flight == 0
    # Hedges are paid for from the retry budget: a fifth extra, plus its starting balance
    # and its slow refill (1 a second).
    assert hedges <= 0.2 * len(calls) + 3 + elapsed * 1
    assert guard.budget.balance < 3
    assert all(f.known or f.reason is not None for _, r in results for f in r.facts)


async def test_a_thousand_faulty_verifications_leak_no_task_or_connection(
    tmp_path: Path, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    faults(
        simulators,
        FaultPlan(
            latency=FixedLatency(ms=1), error_rate=0.1, hang_rate=0.02, reset_rate=0.05,
            malformed_rate=0.03,
        ),
    )  # fmt: skip
    tasks_before = asyncio.all_tasks()
    pending = applications(demo_city) * (1000 // len(demo_city.samples) + 1)
    in_parallel = asyncio.Semaphore(100)

    async def one(verifier: Verifier, index: int) -> VerificationResult:
        async with in_parallel:
            return await verifier.verify(pending[index], timeout=0.3)

    with verifier_over(tmp_path, simulators, policy(), "leaks") as built:
        async with built as verifier:
            results = await asyncio.gather(*(one(verifier, i) for i in range(1000)))
            assert verifier._resilience is not None
            assert verifier._resilience.coalescer.in_flight == 0
            assert all(g.bulkhead.in_flight == 0 for g in verifier._resilience.guards.values())
    assert len(results) == 1000
    for _ in range(200):  # servers notice closed connections asynchronously
        if asyncio.all_tasks() <= tasks_before and not any(
            s.stats.in_flight for s in simulators.simulators.values()
        ):
            break
        await asyncio.sleep(0.01)
    assert asyncio.all_tasks() <= tasks_before
    assert all(s.stats.in_flight == 0 for s in simulators.simulators.values())
