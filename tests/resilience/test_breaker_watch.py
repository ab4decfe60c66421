"""Breaker transitions reach watchers (``Resilience.watch_breakers``): what the server's
per-department health follows."""

from __future__ import annotations

import asyncio

import pytest
from resilience_support import FakeClock, housing_query, mock, policy

from verifier import DepartmentUnavailable
from verifier.engine._breaker import BreakerState, CircuitBreaker
from verifier.engine._resilience import Resilience
from verifier.engine._resilience_policy import BreakerPolicy


def test_the_breaker_reports_every_transition_once() -> None:
    clock = FakeClock()
    seen: list[BreakerState] = []
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=2, open_seconds=5), clock, seen.append)
    breaker.failed(breaker.admit() or False)
    assert seen == []
    breaker.failed(False)
    assert seen == [BreakerState.OPEN]
    assert breaker.state is BreakerState.OPEN
    clock.advance(5)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.state is BreakerState.HALF_OPEN  # read twice, reported once
    trial = breaker.admit()
    assert trial is True
    breaker.failed(trial)
    clock.advance(5)
    breaker.succeeded(bool(breaker.admit()))
    assert seen == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


async def test_watchers_hear_each_department_until_they_stop_watching(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    resilience = Resilience(
        policy(retry={"max_attempts": 1}, breaker={"failure_threshold": 1, "open_seconds": 5}),
        ["housing", "tax"],
        clock=clock,
    )
    heard: list[tuple[str, str]] = []

    def broken(department: str, state: str) -> None:
        raise RuntimeError("a watcher's bug")

    resilience.watch_breakers(broken)  # must not fail the calls
    unwatch = resilience.watch_breakers(lambda *change: heard.append(change))
    down = mock("housing", error=DepartmentUnavailable("down"))
    deadline = asyncio.get_running_loop().time() + 1

    report, _ = await resilience.call(down, housing_query(), deadline)
    assert report.attempts == 1
    assert heard == [("housing", "open")]
    assert "breaker watcher failed" in caplog.text

    clock.advance(5)
    assert resilience.breaker_states() == {"housing": "half_open", "tax": "closed"}
    assert heard == [("housing", "open"), ("housing", "half_open")]

    unwatch()
    unwatch()  # twice is harmless
    down.error = None
    await resilience.call(down, housing_query(), deadline)
    assert resilience.breaker_states()["housing"] == "closed"
    assert heard == [("housing", "open"), ("housing", "half_open")]


async def test_an_open_circuit_is_reread_after_open_seconds_without_traffic() -> None:
    resilience = Resilience(
        policy(retry={"max_attempts": 1}, breaker={"failure_threshold": 1, "open_seconds": 0.05}),
        ["housing"],
    )
    heard: list[tuple[str, str]] = []
    resilience.watch_breakers(lambda *change: heard.append(change))
    down = mock("housing", error=DepartmentUnavailable("down"))
    await resilience.call(down, housing_query(), asyncio.get_running_loop().time() + 1)
    assert heard == [("housing", "open")]
    await asyncio.sleep(0.1)  # no call, no read by anyone but the pipeline's own timer
    assert heard == [("housing", "open"), ("housing", "half_open")]
