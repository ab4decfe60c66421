"""Bounded concurrent work over a stream: the flow control behind ``VerifyBatch``.

``bounded_as_completed`` reads the next item only while fewer than ``limit`` items are
held — being worked on, or finished and waiting for the consumer to take their result — so
a client that streams a million applications, or stops reading results, holds at most
``limit`` of them in the server. Everything beyond stays in the transport, whose HTTP/2
flow control then pushes back on the client: there is no unbounded queue anywhere.

A stream is also bounded in length: after ``MAX_BATCH_ITEMS`` items, the next one ends it
with ``BatchTooLarge`` once the results of those before it have been yielded (the client
sends the rest in a new stream). Without it one stream could hold an audit-logged
verification loop, and its per-caller alerts, open for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")

MAX_BATCH_ITEMS = 10_000
"""Items one stream may carry (read when a stream starts, so tests can lower it)."""


class BatchTooLarge(Exception):
    """A stream carried more items than it may; raised after the results of those it may."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        super().__init__(
            f"a batch stream carries at most {max_items} applications; send the rest in a new one"
        )


class _Finished:
    """The end of the results: all done, or the error that stopped the batch."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def bounded_as_completed(
    items: AsyncIterable[_T],
    work: Callable[[_T], Awaitable[_R]],
    *,
    limit: int,
    max_items: int | None = None,
) -> AsyncIterator[_R]:
    """Yield ``await work(item)`` for each item as it completes, ``limit`` at a time at most.

    ``work`` should turn per-item failures into results; an exception it raises (or one
    from reading ``items``) cancels the remaining work and is raised to the consumer.
    Reading item ``max_items + 1`` (default ``MAX_BATCH_ITEMS``) stops the reading; once
    the work begun is done and yielded, ``BatchTooLarge`` is raised to the consumer.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    most = MAX_BATCH_ITEMS if max_items is None else max_items
    if most < 1:
        raise ValueError("max_items must be at least 1")
    slots = asyncio.Semaphore(limit)
    # Never more than ``limit`` results wait here (each holds a slot), plus the end marker.
    ready: asyncio.Queue[_R | _Finished] = asyncio.Queue()

    async def run(item: _T) -> None:
        await ready.put(await work(item))

    async def feed() -> None:
        read = 0
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
                    read += 1
                    if read > most:
                        slots.release()
                        break  # not worked on; the ones begun finish first
                    tasks.create_task(run(item))
        except Exception as exc:
            await ready.put(_Finished(_first_error(exc)))
        else:
            await ready.put(_Finished(BatchTooLarge(most) if read > most else None))

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
