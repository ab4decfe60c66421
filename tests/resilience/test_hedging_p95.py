"""Hedging with ``delay_ms: p95``: no hedge until ``min_samples`` attempt durations are
known, then the hedge starts after exactly their 95th percentile, and only for calls slower
than that. Durations are measured with a fake timer the adapter moves; hedges race in
real time."""

from __future__ import annotations

import asyncio
import time

from resilience_support import housing_query, policy
from support import ELIGIBLE_FACTS

from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.engine._hedging import hedge_delay
from verifier.engine._resilience import Resilience
from verifier.model import CallOutcome

MIN_SAMPLES = 40
STEP = 2**-8  # ~3.9 ms, exact in binary: the fake timer's sums and differences stay exact
SAMPLES = [STEP * k for k in range(1, MIN_SAMPLES + 1)]  # ~3.9, 7.8, … 156 ms
P95 = SAMPLES[int(0.95 * MIN_SAMPLES)]  # the 39th, ~152 ms (not the maximum)


class FakeTimer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Scripted(MockAdapter):
    """Housing; each call takes its scripted (real seconds, measured seconds): it sleeps the
    real time and moves the fake timer by the measured one."""

    def __init__(self, timer: FakeTimer) -> None:
        super().__init__("housing", values=ELIGIBLE_FACTS["housing"])
        self.timer = timer
        self.script: list[tuple[float, float]] = []
        self.started = 0
        self.lost = 0

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self.started += 1
        real, measured = self.script.pop(0)
        try:
            if real:
                await asyncio.sleep(real)
        except asyncio.CancelledError:
            self.lost += 1
            raise
        self.timer.now += measured
        return await super().fetch(query)


def setup() -> tuple[Resilience, Scripted]:
    timer = FakeTimer()
    hedging = {"enabled": True, "delay_ms": "p95", "min_samples": MIN_SAMPLES}
    resilience = Resilience(
        policy(hedging=hedging, retry={"budget_min_retries": 5}), ["housing"], timer=timer
    )
    return resilience, Scripted(timer)


async def call(resilience: Resilience, adapter: Scripted) -> tuple[int, int, float]:
    """(attempts reported, backend calls made, seconds taken)"""
    before = adapter.started
    started = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + 2
    report, _ = await resilience.call(adapter, housing_query(), deadline)
    assert report.outcome is CallOutcome.OK
    return report.attempts, adapter.started - before, time.perf_counter() - started


def chosen_delay(resilience: Resilience) -> float | None:
    guard = resilience.guards["housing"]
    return hedge_delay(guard.policy.hedging, guard.latency)


async def test_no_hedge_until_min_samples_then_the_observed_p95() -> None:
    resilience, adapter = setup()
    for measured in SAMPLES[:-1]:
        adapter.script.append((0.0, measured))
        assert (await call(resilience, adapter))[:2] == (1, 1)
    assert chosen_delay(resilience) is None

    # One sample short: a slow call is not hedged (its duration is the last sample).
    adapter.script.append((0.3, SAMPLES[-1]))
    attempts, calls, took = await call(resilience, adapter)
    assert (attempts, calls) == (1, 1)
    assert took >= 0.3

    assert chosen_delay(resilience) == P95


async def test_only_calls_slower_than_the_p95_are_hedged() -> None:
    resilience, adapter = setup()
    for measured in SAMPLES:
        adapter.script.append((0.0, measured))
        await call(resilience, adapter)
    assert chosen_delay(resilience) == P95

    # Faster than the p95 (20 ms against ~152): answered alone.
    adapter.script.append((0.02, 0.02))
    attempts, calls, _ = await call(resilience, adapter)
    assert (attempts, calls) == (1, 1)

    # Slower (1 s): after the p95 a hedge races it, answers at once and wins.
    adapter.script += [(1.0, 1.0), (0.0, 0.001)]
    attempts, calls, took = await call(resilience, adapter)
    assert (attempts, calls) == (2, 2)
    assert P95 <= took < 0.6
    await asyncio.sleep(0)  # the loser is cancelled, not awaited
    assert adapter.lost == 1  # the slow first attempt lost and was cancelled
