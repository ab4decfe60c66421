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
import contextlib
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
        self._ended = asyncio.Event()
        """Set each time a verification ends."""

    async def run(self, verification: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``verification()`` makes to its end, unless the server is
        draining (``ShuttingDown`` at once, nothing started) or the grace runs out first
        (``ShuttingDown`` then). Cancelling the caller cancels the verification.

        It runs in the caller's own task (the RPC's): a task of its own would cost every
        verification a task to create, schedule and await. At the end of the grace it is
        that task that is cancelled, and the cancellation is taken back here."""
        if self.draining:
            self._last_refusal = asyncio.get_running_loop().time()
            raise ShuttingDown
        task = asyncio.current_task()
        assert task is not None  # always called from a coroutine on the loop
        self._running.add(task)
        try:
            return await verification()
        except asyncio.CancelledError:
            if task in self._expired and task.uncancel() == 0:
                raise ShuttingDown from None
            raise  # its caller gave up (as well)
        finally:
            self._running.discard(task)
            self._ended.set()

    async def drain(self, deadline: float) -> None:
        """Refuse new verifications, and return once those running have ended and no new
        one came for ``QUIET_SECONDS``, or at ``deadline`` (``loop.time()``), having
        cancelled those still running."""
        self.draining = True
        loop = asyncio.get_running_loop()
        while (left := deadline - loop.time()) > 0:
            # The RPCs' tasks outlive their verifications (the answer is still to be
            # sent): wake when a verification ends, not when its RPC does.
            self._ended.clear()
            if self._running:
                await _wait_for(self._ended, left)
                continue
            quiet = loop.time() - self._last_refusal
            if quiet >= QUIET_SECONDS:
                return
            await asyncio.sleep(min(QUIET_SECONDS - quiet, left))
        if self._running:
            self._expired = set(self._running)
            for task in self._expired:
                task.cancel()
            unwind_until = loop.time() + UNWIND_SECONDS
            while (left := unwind_until - loop.time()) > 0:
                self._ended.clear()
                if not self._running:
                    break
                await _wait_for(self._ended, left)


async def _wait_for(event: asyncio.Event, timeout: float) -> None:
    """Until ``event`` is set, or ``timeout`` seconds have passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
