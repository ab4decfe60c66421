"""Admission control: under overload, refuse verifications fast instead of queueing them.

At most ``max_in_flight`` verifications run at once (each Verify call, each VerifyBatch item
being worked on); up to ``max_queued`` more wait, each at most ``queue_timeout`` seconds
(never past its own deadline), for a slot handed over in arrival order. Anyone beyond that
is refused at once with ``Overloaded`` (RESOURCE_EXHAUSTED on the wire, with a retry hint).

How this differs from grpc's ``maximum_concurrent_rpcs`` (which stays, as a last resort):
grpc counts RPCs of every kind — a health check or a reflection call is refused exactly like
a verification once the limit is reached, so load balancers would see an overloaded server as
unhealthy, and a VerifyBatch stream of thousands of applications counts as one. This limit
counts verifications only, leaves health and the item listing answering, and says why.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol


class Overloaded(Exception):
    """No verification slot came free in time: the caller should retry after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many verifications in progress")
        self.retry_after = retry_after


class RejectionCounter(Protocol):
    def add(self, amount: int, attributes: dict[str, str] | None = None, /) -> None: ...


class AdmissionControl:
    """Slots for concurrently executing verifications, with a small bounded wait queue."""

    def __init__(
        self,
        max_in_flight: int,
        max_queued: int = 0,
        queue_timeout: float = 0.0,
        *,
        rejections: RejectionCounter | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_queued < 0 or queue_timeout < 0:
            raise ValueError("max_queued and queue_timeout must not be negative")
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self._in_flight = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._rejections = rejections
        self.rejected = 0
        """Verifications refused so far (also counted in ``verifier.admission.rejections``)."""
        # A refused caller retries after about one queue wait; at least 50 ms.
        self.retry_after = max(0.05, queue_timeout)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def slot(self, time_remaining: float | None = None) -> AsyncIterator[None]:
        """Hold a slot for one verification; raises ``Overloaded`` if none comes free in
        time. ``time_remaining``: the caller's deadline, which bounds the wait."""
        await self._acquire(time_remaining)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, time_remaining: float | None) -> None:
        if self._in_flight < self.max_in_flight and not self._waiting:
            self._in_flight += 1
            return
        wait = (
            self.queue_timeout
            if time_remaining is None
            else min(self.queue_timeout, time_remaining)
        )
        if len(self._waiting) >= self.max_queued or wait <= 0:
            self._reject("queue_full" if self.max_queued else "no_queue")
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(granted)
        try:
            await asyncio.wait_for(asyncio.shield(granted), wait)
        except TimeoutError:
            if not self._withdraw(granted):
                return  # the slot was handed over just as the wait ran out: keep it
            self._reject("queue_timeout")
        except asyncio.CancelledError:
            if not self._withdraw(granted):
                self._release()  # handed a slot we will never use: pass it on
            raise

    def _withdraw(self, granted: asyncio.Future[None]) -> bool:
        """Leave the queue; False if a slot was already handed to this waiter."""
        if granted.done():
            return False
        granted.cancel()
        with contextlib.suppress(ValueError):
            self._waiting.remove(granted)
        return True

    def _release(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on; in_flight is unchanged
                return
        self._in_flight -= 1

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        if self._rejections is not None:
            self._rejections.add(1, {"verifier.rejection_reason": reason})
        raise Overloaded(self.retry_after)
