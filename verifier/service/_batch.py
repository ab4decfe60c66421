"""Bounded concurrent work over a stream: the flow control behind ``VerifyBatch``.

``bounded_as_completed`` reads the next item only while fewer than ``limit`` items are
held — being worked on, or finished and waiting for the consumer to take their result — so
a client that streams a million applications, or stops reading results, holds at most
``limit`` of them in the server. Everything beyond stays in the transport, whose HTTP/2
flow control then pushes back on the client: there is no unbounded queue anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


class _Finished:
    """The end of the results: all done, or the error that stopped the batch."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def bounded_as_completed(
    items: AsyncIterable[_T], work: Callable[[_T], Awaitable[_R]], *, limit: int
) -> AsyncIterator[_R]:
    """Yield ``await work(item)`` for each item as it completes, ``limit`` at a time at most.

    ``work`` should turn per-item failures into results; an exception it raises (or one
    from reading ``items``) cancels the remaining work and is raised to the consumer.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    slots = asyncio.Semaphore(limit)
    # Never more than ``limit`` results wait here (each holds a slot), plus the end marker.
    ready: asyncio.Queue[_R | _Finished] = asyncio.Queue()

    async def run(item: _T) -> None:
        await ready.put(await work(item))

    async def feed() -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                iterator = aiter(items)
                while True:
                    await slots.acquire()
                    try:
                        item = await anext(iterator)
                    except StopAsyncIteration:
                        slots.release()
                        break
                    tasks.create_task(run(item))
        except Exception as exc:
            await ready.put(_Finished(_first_error(exc)))
        else:
            await ready.put(_Finished())

    feeder = asyncio.create_task(feed())
    try:
        while True:
            result = await ready.get()
            if isinstance(result, _Finished):
                if result.error is not None:
                    raise result.error
                return
            yield result
            slots.release()  # only once the consumer has taken the result
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder


def _first_error(error: Exception) -> BaseException:
    # TaskGroup wraps failures in an ExceptionGroup; the consumer wants the failure itself.
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        inner = error.exceptions[0]
        if not isinstance(inner, Exception):
            break
        error = inner
    return error
