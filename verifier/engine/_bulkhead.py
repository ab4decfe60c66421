"""A concurrency limit per department, so one slow department cannot take all capacity.

A call over the limit waits for a slot — for ``max_wait_ms`` if set (0: not at all), else as
long as its deadline allows (the caller's own timeout cuts the wait short).
"""

from __future__ import annotations

import asyncio

from verifier.engine._resilience_policy import BulkheadPolicy


class BulkheadFull(Exception):
    """No slot came free within ``max_wait_ms``: the call is not made."""


class Bulkhead:
    __slots__ = ("_max_wait", "_slots", "in_flight", "peak")

    def __init__(self, policy: BulkheadPolicy) -> None:
        limit = policy.max_concurrent
        self._slots = None if limit is None else asyncio.Semaphore(limit)
        self._max_wait = None if policy.max_wait_ms is None else policy.max_wait_ms / 1000
        self.in_flight = 0
        self.peak = 0
        """The most calls ever in flight at once (for operators and tests)."""

    async def acquire(self) -> None:
        """Take a slot (release it with ``release``); raises ``BulkheadFull``."""
        if self._slots is not None:  # None: no limit
            await self._take(self._slots)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    async def _take(self, slots: asyncio.Semaphore) -> None:
        if not slots.locked():
            await slots.acquire()  # free: returns without suspending
        elif self._max_wait is None:
            await slots.acquire()
        elif self._max_wait == 0:
            raise BulkheadFull
        else:
            try:
                async with asyncio.timeout(self._max_wait):
                    await slots.acquire()
            except TimeoutError:
                raise BulkheadFull from None

    def release(self) -> None:
        self.in_flight -= 1
        if self._slots is not None:
            self._slots.release()
