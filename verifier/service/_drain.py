"""Draining at shutdown: answer the verifications already accepted, refuse new ones with
UNAVAILABLE (which clients retry, elsewhere), never leave one to be CANCELLED.

Why not leave it to ``grpc.aio.Server.stop(grace)``: grpc's core kills the calls it has
received but not yet handed to the application (the Python server asks for them one at a
time, so under load several wait) the moment the shutdown starts, and the client sees
CANCELLED, which it must not retry blindly; and at the end of the grace every call still
running is cancelled too. So the server drains first, while grpc still hands every call
over: each new verification is refused with ``ShuttingDown`` (UNAVAILABLE), each accepted
one runs to its answer, and only once none runs and no new one came for ``QUIET_SECONDS``
(clients heard NOT_SERVING, or were refused) is grpc told to stop. A verification still
running when the grace is up is cancelled here — its department reads are audited as
CANCELLED — and its caller gets UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

QUIET_SECONDS = 0.1
"""How long no new verification must arrive before grpc is told to stop: calls still on
their way would reach grpc's core after the stop began, and be killed there."""
UNWIND_SECONDS = 1.0
"""How long verifications cancelled at the end of the grace get to answer UNAVAILABLE."""


class ShuttingDown(Exception):
    """The server is shutting down: this verification is not served here (UNAVAILABLE)."""


class Drain:
    """The verifications running on one server, and its drain at shutdown."""

    def __init__(self) -> None:
        self.draining = False
        self._running: set[asyncio.Task[Any]] = set()
        self._expired: set[asyncio.Task[Any]] = set()
        self._last_refusal = -math.inf
        self._last_end = -math.inf
        """When a verification last ended: its caller's next call may be on its way."""

    async def run(self, verification: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``verification()`` makes to its end, unless the server is
        draining (``ShuttingDown`` at once, nothing started) or the grace runs out first
        (``ShuttingDown`` then). Cancelling the caller cancels the verification."""
        if self.draining:
            self._last_refusal = asyncio.get_running_loop().time()
            raise ShuttingDown
        task = asyncio.ensure_future(verification())
        self._running.add(task)
        task.add_done_callback(self._ended)
        try:
            return await task
        except asyncio.CancelledError:
            if task in self._expired and not _being_cancelled():
                raise ShuttingDown from None
            raise

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        self._last_end = asyncio.get_running_loop().time()

    async def drain(self, deadline: float) -> None:
        """Refuse new verifications, and return once those running have ended and no new
        one came for ``QUIET_SECONDS``, or at ``deadline`` (``loop.time()``), having
        cancelled those still running."""
        self.draining = True
        loop = asyncio.get_running_loop()
        while (left := deadline - loop.time()) > 0:
            if self._running:
                await asyncio.wait(set(self._running), timeout=left)
                continue
            # Quiet since the last refusal and the last answer: a caller that has just had
            # its answer sends its next call at once, and that call must be refused here
            # (UNAVAILABLE, retried elsewhere), not killed by grpc's stop (CANCELLED).
            quiet = loop.time() - max(self._last_refusal, self._last_end)
            if quiet >= QUIET_SECONDS:
                return
            await asyncio.sleep(min(QUIET_SECONDS - quiet, left))
        if self._running:
            self._expired = set(self._running)
            for task in self._expired:
                task.cancel()
            await asyncio.wait(self._expired, timeout=UNWIND_SECONDS)


def _being_cancelled() -> bool:
    """Whether the current task itself is being cancelled (its caller gave up)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
