"""Draining waits for the next call of a caller that has just been answered.

A caller answered during the drain sends its next call at once. Were grpc told to stop the
moment the last verification ended, that call would reach grpc's core after the stop began
and be killed there (CANCELLED, which a client must not retry blindly). The drain stays
open for ``QUIET_SECONDS`` after the last answer too, so the call is refused here instead
(``ShuttingDown``: UNAVAILABLE, retried elsewhere).
"""

from __future__ import annotations

import asyncio

import pytest

from verifier.service._drain import QUIET_SECONDS, Drain, ShuttingDown


async def test_the_drain_outlasts_the_last_answer_by_the_quiet_period() -> None:
    drain = Drain()
    loop = asyncio.get_running_loop()
    answered_at: list[float] = []

    async def verification() -> str:
        await asyncio.sleep(0.05)
        return "answer"

    async def caller() -> None:
        await drain.run(verification)
        answered_at.append(loop.time())

    calling = asyncio.ensure_future(caller())
    await asyncio.sleep(0.01)  # the call is running
    await drain.drain(loop.time() + 5)
    drained_at = loop.time()
    await calling
    # grpc is told to stop only now: the answered caller's next call had time to arrive
    # and be refused by the drain.
    assert drained_at - answered_at[0] >= QUIET_SECONDS * 0.99


async def test_a_drain_with_nothing_running_returns_after_the_quiet_period() -> None:
    drain = Drain()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await drain.drain(started + 5)
    with pytest.raises(ShuttingDown):
        await drain.run(lambda: asyncio.sleep(0))
    assert loop.time() - started < 5
