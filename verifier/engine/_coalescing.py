"""Request coalescing: concurrent identical department queries share one backend call.

Identical means same department, reference date and requests (key, fact, subjects,
parameters). A shared call runs in a task of its own, until the last of its waiters'
deadlines; each waiter stops waiting at its own deadline without cancelling the call for
the others, and the call is cancelled only when no waiter is left. Nothing is kept once the
call ends: reusing answers over time is the fact cache's business, not this.

Inline calls. A task costs a few event-loop turns per call, which was most of the
pipeline's fault-free overhead when a department answers in-process without ever
suspending (the demo city's SQLite readers). Such a call cannot be joined anyway: nothing
else runs until it returns. So a department whose last call answered without suspending
(its ``InlineHint``; ``start`` sets ``CallState.suspended`` when the call had to wait) has
its next call run inline, in the caller's own coroutine, with no task, no shield and no
timeout of the waiter's own — exactly what a task of its own with a single waiter would do
(its end is the caller's, it is cancelled with the caller, its attempts are the caller's).

Why not share an inline call too, handing it to a task if its first caller leaves early?
On Python 3.11 a suspended call cannot change tasks: cancelling the caller's task cancels
the very future the call is waiting on, and every ``asyncio.timeout`` entered inside the
call (the pipeline's, an HTTP adapter's) is bound to the task that entered it. So an inline
call is never joined: a query that finds an identical inline call in flight learns that
the department now suspends, turns its hint off and starts a shared call in a task, as
before. The price of a wrong guess is at most one extra backend call for that query, never
a different outcome, deadline or cancellation for anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from verifier.adapter import DepartmentQuery
from verifier.engine._resilience_call import CallReport, CallState
from verifier.model import CallOutcome


def query_key(query: DepartmentQuery) -> Hashable:
    return (
        query.department,
        query.reference_date,
        tuple(
            [
                (
                    request.key,
                    request.fact,
                    tuple(sorted(request.subjects.items())),
                    tuple(sorted(request.parameters.items())),
                )
                for request in query.requests
            ]
        ),
    )


class InlineHint:
    """Whether a department's last call answered without suspending (one per department):
    if so its next call runs inline. Off until a call shows it; off again as soon as one
    suspends."""

    __slots__ = ("inline",)

    def __init__(self) -> None:
        self.inline = False


class _Flight:
    __slots__ = ("state", "task", "waiters")

    def __init__(self, state: CallState, task: asyncio.Task[CallReport] | None) -> None:
        self.state = state
        self.task = task
        """None: an inline call, which nobody joins."""
        self.waiters = 0


Start = Callable[[CallState], Awaitable[CallReport]]


class Coalescer:
    """The calls in flight, by query."""

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight] = {}

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def join(
        self, key: Hashable, until: float, start: Start, hint: InlineHint | None = None
    ) -> tuple[CallReport, bool]:
        """The shared call's report (started with ``start`` if none is in flight), and
        whether this waiter started it. ``until``: this waiter's end (``loop.time()``).
        ``hint``: the department's, if its calls may run inline (see the module)."""
        hint = hint or InlineHint()
        flight = self._flights.get(key)
        if flight is None:
            if hint.inline:
                # Registered only so that an identical query arriving meanwhile learns that
                # this call suspended.
                inline = self._flights[key] = _Flight(CallState(until), None)
                try:
                    return await start(inline.state), True
                finally:
                    self._forget(key, inline)
                    if inline.state.suspended:
                        hint.inline = False
        elif flight.task is None:
            # An identical inline call is in flight, so it suspended: share from now on.
            hint.inline = False
            flight = None
        leader = flight is None
        if flight is None:
            state = CallState(until)
            task = asyncio.ensure_future(self._shared(start, state, hint))
            flight = self._flights[key] = _Flight(state, task)
            started = flight
            task.add_done_callback(lambda _: self._forget(key, started))
        else:
            assert flight.task is not None  # an inline flight was set aside above
            flight.state.extend(until)
            task = flight.task
        flight.waiters += 1
        try:
            # The waiter with the latest end is answered by the call's own timeout, which
            # judges the department (a hang is a failure); earlier ones give up on their own.
            own_end = until if until < flight.state.at else None
            async with asyncio.timeout_at(own_end):
                report = await asyncio.shield(task)
        except TimeoutError:
            attempts = flight.state.attempts if leader else 0
            return CallReport(CallOutcome.TIMEOUT, attempts=attempts), leader
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not task.done():
                task.cancel()
                self._forget(key, flight)
        return report, leader

    @staticmethod
    async def _shared(start: Start, state: CallState, hint: InlineHint) -> CallReport:
        report = await start(state)
        hint.inline = not state.suspended
        return report

    def _forget(self, key: Hashable, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
