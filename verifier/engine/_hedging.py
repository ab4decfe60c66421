"""Hedged reads: when a department's read is slower than usual, a second one races it.

Department reads are idempotent (status queries), so asking twice is safe; the first answer
wins and the other attempt is cancelled. A hedge takes a token from the retry budget, so
hedging cannot double a slow department's load.
"""

from __future__ import annotations

import asyncio
from collections import deque

from verifier.adapter import DepartmentAnswer
from verifier.engine._resilience_policy import HedgingPolicy
from verifier.engine._retry import Fetch, RetryBudget

LATENCY_WINDOW = 256
"""Recent successful attempts whose durations estimate the department's p95."""
RECOMPUTE_EVERY = 16


class LatencyTracker:
    """Recent successful attempt durations of one department, and their 95th percentile."""

    __slots__ = ("_p95", "_samples", "_since")

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._p95: float | None = None
        self._since = 0

    def observe(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._since += 1

    def p95(self, min_samples: int) -> float | None:
        if len(self._samples) < min_samples:
            return None
        if self._p95 is None or self._since >= RECOMPUTE_EVERY:
            ordered = sorted(self._samples)
            self._p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            self._since = 0
        return self._p95


def hedge_delay(policy: HedgingPolicy, latency: LatencyTracker) -> float | None:
    """Seconds before a hedge starts, or None for no hedge."""
    if not policy.enabled:
        return None
    if policy.delay_ms == "p95":
        return latency.p95(policy.min_samples)
    return policy.delay_ms / 1000


async def hedged(attempt: Fetch, delay: float, budget: RetryBudget) -> DepartmentAnswer:
    """``attempt()``, raced by a second ``attempt()`` if the first has not answered after
    ``delay`` seconds and the budget allows. The first answer wins; if one attempt fails, the
    other may still answer; if both fail, the first failure is raised."""
    first = asyncio.ensure_future(attempt())
    racers = {first}
    try:
        done, _ = await asyncio.wait(racers, timeout=delay)
        if not done and budget.withdraw():
            racers.add(asyncio.ensure_future(attempt()))
        failure: BaseException | None = None
        while racers:
            done, racers = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is None:
                    return task.result()
                failure = failure or error
        assert failure is not None
        raise failure
    finally:
        # The loser is cancelled, not awaited: the winner's answer does not wait for it.
        for task in racers:
            task.cancel()
            task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[DepartmentAnswer]) -> None:
    if not task.cancelled():
        task.exception()  # a loser's failure is expected: do not report it as unretrieved
